package dev.clickstream.client;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.serving.FeatureServer;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import io.javalin.Javalin;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

/**
 * A real feature server over a fresh H2 store holding a few known rows, its clock at {@link #NOW}: what the Java and
 * the Python clients' tests call. {@link #main} serves it for the Python tests: it prints {@code PORT <n>} and serves
 * until its standard input closes.
 *
 * <p>u1 has a ctr_5min row of the window before now and one click two minutes before now; u2 an old ctr_5min row,
 * stale by now.
 */
final class ServedForClients {
  /** 2024-01-01T00:00:00Z. */
  static final long T0 = 1_704_067_200_000L;
  static final long MINUTE = 60_000L;
  static final long NOW = T0 + 6 * MINUTE;
  static final long CLICK = T0 + 4 * MINUTE;

  private ServedForClients() {}

  /** Started on a free port of 127.0.0.1. */
  static Javalin start() throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl("h2"));
    TumblingAggregation ctr = FeatureDefinitions.CTR_5MIN;
    store.ensureTable(ctr.table());
    store.upsert(ctr.table(), List.of(
        ctr.tableRow("u1", T0, T0 + 5 * MINUTE, List.of(4L, 1L, 0.25), T0 + 5 * MINUTE + 2_000),
        ctr.tableRow("u2", T0 - 30 * MINUTE, T0 - 25 * MINUTE, List.of(2L, 1L, 0.5), T0 - 25 * MINUTE)));
    WindowedAggregation clicks = FeatureDefinitions.CLICK_COUNTS;
    for (var table : clicks.tables()) {
      store.ensureTable(table);
    }
    store.upsert(clicks.precomputedTable(), List.<Object[]>of(new Object[] {"u1", CLICK, 1L, 1L, 1L, 1L, CLICK + 1_000}));
    store.upsert(clicks.rawEventsTable(), List.<Object[]>of(clicks.rawEventRow("e1", "u1", CLICK, null)));
    store.ensureTable(FeatureDefinitions.USER_ACTIVITY_5MIN.table());
    return FeatureServer.create(store, Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC)).start("127.0.0.1", 0);
  }

  public static void main(String[] args) throws SQLException, IOException {
    Javalin server = start();
    System.out.println("PORT " + server.port());
    System.out.flush();
    while (System.in.read() >= 0) {
      // serve until the test closes our standard input
    }
    server.stop();
    System.exit(0);
  }
}
