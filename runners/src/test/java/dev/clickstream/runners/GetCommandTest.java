package dev.clickstream.runners;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.serving.FeatureServer;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import io.javalin.Javalin;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code ./clickstream get} against a real feature server over H2 holding one ctr_5min row. */
class GetCommandTest {
  /** 2024-01-01T00:00:00Z. */
  private static final long T0 = 1_704_067_200_000L;
  private static final long WINDOW = 300_000L;
  private static final String U1 =
      "{\"feature_view\":\"ctr_5min\",\"entity\":{\"user_id\":\"u1\"},\"status\":\"ok\",\"features\":{\"impressions\":4,"
          + "\"clicks\":1,\"ctr\":0.25},\"window_start\":" + T0 + ",\"window_end\":" + (T0 + WINDOW)
          + ",\"updated_at\":" + (T0 + WINDOW) + "}";

  private static Javalin server;
  private static String base;

  @BeforeAll
  static void serve() throws Exception {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl("h2"));
    TumblingAggregation ctr = FeatureDefinitions.CTR_5MIN;
    store.ensureTable(ctr.table());
    store.upsert(ctr.table(), List.<Object[]>of(ctr.tableRow("u1", T0, T0 + WINDOW, List.of(4L, 1L, 0.25), T0 + WINDOW)));
    for (var table : FeatureDefinitions.CLICK_COUNTS.tables()) {
      store.ensureTable(table);
    }
    store.ensureTable(FeatureDefinitions.USER_ACTIVITY_5MIN.table());
    server = FeatureServer.create(store, Clock.fixed(Instant.ofEpochMilli(T0 + WINDOW), ZoneOffset.UTC))
        .start("127.0.0.1", 0);
    base = "--server=http://127.0.0.1:" + server.port();
  }

  @AfterAll
  static void stop() {
    server.stop();
    ConnectionPools.closeAll();
  }

  @Test
  void getPrintsOneJsonLinePerEntityAndSaysWhenOneIsNotFound() {
    Run found = run("get", "ctr_5min", "u1", base);
    Run oneMissing = run("get", base, "ctr_5min", "u1", "u9");

    assertThat(found.exitCode, is(0));
    assertThat(found.out, is(U1 + "\n"));
    assertThat(oneMissing.exitCode, is(GetCommand.SOME_NOT_FOUND));
    assertThat(oneMissing.out, is(U1 + "\n{\"entity\":{\"user_id\":\"u9\"},\"status\":\"not_found\"}\n"));
  }

  @Test
  void getWithAServicePrintsItsVector() {
    Run vector = run("get", "--service=ranking_v1", "u1", base);

    assertThat(vector.exitCode, is(0));
    assertThat(vector.out, is("{\"feature_service\":\"ranking_v1\",\"entity\":{\"user_id\":\"u1\"},\"features\":{"
        + "\"ctr_5min.ctr\":0.25,\"click_counts.click_count_1_min\":null,\"click_counts.click_count_10_min\":null,"
        + "\"click_counts.click_count_30_min\":null,\"click_counts.click_count_1_hour\":null,"
        + "\"user_activity_5min.distinct_items\":null},\"views\":{\"ctr_5min\":{\"status\":\"ok\",\"window_start\":"
        + T0 + ",\"window_end\":" + (T0 + WINDOW) + ",\"updated_at\":" + (T0 + WINDOW) + "},\"click_counts\":{"
        + "\"status\":\"not_found\"},\"user_activity_5min\":{\"status\":\"not_found\"}}}\n"));
  }

  @Test
  void refusalsAndWrongCallsSayWhatToDo() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Run unknownView = run("get", "ctr_1h", "u1", base);
    Run unreachable = run("get", "ctr_5min", "u1", "--server=http://127.0.0.1:" + closedPort);
    Run noEntity = run("get", "ctr_5min", base);
    Run help = run("get", "--help");

    assertThat(unknownView.exitCode, is(1));
    assertThat(unknownView.err.startsWith("error: the server answered 404: unknown feature view 'ctr_1h': known"
        + " feature views are [ctr_5min, "), is(true));
    assertThat(unreachable.exitCode, is(1));
    assertThat(unreachable.err.startsWith("error: cannot reach the feature server at http://127.0.0.1:" + closedPort),
        is(true));
    assertThat(noEntity.exitCode, is(2));
    assertThat(noEntity.err, is("error: get: name a view and at least one entity, such as './clickstream get"
        + " ctr_5min u1' or './clickstream get --service=ranking_v1 u1' (see --help)\n"));
    assertThat(help.exitCode, is(0));
    assertThat(help.out, is(GetCommand.HELP + "\n"));
  }

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exitCode = Clickstream.run(new ArrayList<>(List.of(args)), new PrintStream(out, true, UTF_8),
        new PrintStream(err, true, UTF_8));
    return new Run(exitCode, out.toString(UTF_8), err.toString(UTF_8));
  }

  private record Run(int exitCode, String out, String err) {}
}
