package dev.clickstream.bench;

import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.Partial;
import dev.clickstream.features.RollingWindows;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.runners.Flags;
import dev.clickstream.runners.ServeCommand;
import dev.clickstream.serving.FeatureServer;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.WindowedFeatureReads;
import io.javalin.Javalin;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.NavigableMap;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntConsumer;

/**
 * {@code ./clickstream bench correction}: what answering {@code click_counts} as of the server's now costs. Writes
 * users whose clicks lie in the hour before a fixed now straight into the store (rows, raw clicks, tiles), then times
 * on one thread: the row read alone, the row read plus the on-demand read that moves it to now, the row read plus the
 * tiled read instead, and over HTTP a lookup that needs no read (an idle user) against one that does.
 */
final class CorrectionBench {
  /** A store of its own: the bench clears the click tables of the store it is given. */
  static final String DEFAULT_STORE = "jdbc:h2:mem:bench_correction;DB_CLOSE_DELAY=-1";
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream bench correction [options]",
          "",
          "Times what serving click_counts as of now costs: the row read alone, plus the on-demand read, plus the",
          "tiled read instead, and HTTP lookups that need the read against lookups that do not.",
          "",
          "  --onlineStore=URL   default " + DEFAULT_STORE + " (an in-memory H2 of its own);",
          "                      it clears and writes click_counts, click_events and click_tiles there, so give",
          "                      PostgreSQL a schema of its own: ...?user=postgres&currentSchema=bench_correction",
          "  --users=N           users with clicks (default 2000)",
          "  --clicks=N          clicks per user within the hour (default 20)",
          "  --lookups=N         timed lookups per measurement (default 5000)");

  private static final Set<String> FLAGS = Set.of("onlineStore", "users", "clicks", "lookups");
  private static final WindowedAggregation FEATURE = FeatureDefinitions.CLICK_COUNTS;
  /** The now every answer is as of: 2026-01-01T00:00:00Z. */
  private static final long NOW = 1_767_225_600_000L;
  private static final long HOUR = 3_600_000L;

  private CorrectionBench() {}

  static int run(List<String> args, PrintStream out) throws Exception {
    if (Flags.wantsHelp(args)) {
      out.println(HELP);
      return 0;
    }
    Flags flags = Flags.parse("bench correction", args, FLAGS);
    OnlineStore store = ServeCommand.onlineStore(flags.string("onlineStore", DEFAULT_STORE));
    int users = (int) flags.longValue("users", 2_000, 1, 1_000_000);
    int clicks = (int) flags.longValue("clicks", 20, 1, 10_000);
    int lookups = (int) flags.longValue("lookups", 5_000, 1, 10_000_000);
    out.printf(Locale.ROOT, "Writing %,d users with %,d clicks each in the hour before now to %s%n", users, clicks,
        store.redactedUrl());
    load(store, users, clicks);

    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);
    Random random = new Random(1);
    FeatureTable rows = FEATURE.precomputedTable();
    List<String> report = new ArrayList<>();
    report.add(String.format(Locale.ROOT, "| lookup (%s, %,d users x %,d clicks) | p50 ms | p99 ms | lookups/s |",
        store.dialect().name().toLowerCase(Locale.ROOT), users, clicks));
    report.add("|---|---:|---:|---:|");
    report.add(row("row read only (as of its event_time)", lookups,
        i -> store.read(rows, user(random, users))));
    report.add(row("row read + on-demand read as of now", lookups, i -> {
      String user = user(random, users);
      store.read(rows, user);
      reads.onDemand(FEATURE, user, NOW);
    }));
    report.add(row("row read + tiled read as of now", lookups, i -> {
      String user = user(random, users);
      store.read(rows, user);
      reads.tiled(FEATURE, user, NOW);
    }));
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    for (long now : new long[] {NOW, NOW + 2 * HOUR}) {
      Javalin server =
          FeatureServer.create(store, Clock.fixed(Instant.ofEpochMilli(now), ZoneOffset.UTC)).start("127.0.0.1", 0);
      try {
        String base = "http://127.0.0.1:" + server.port() + "/features/click_counts/";
        IntConsumer get = i -> send(client, base + user(random, users));
        row("warm-up", lookups, get);
        report.add(row(now == NOW ? "HTTP GET, clicks in the last hour (row + on-demand read)"
            : "HTTP GET, idle over an hour (row only, zeros without a read)", lookups, get));
      } finally {
        server.stop();
      }
    }
    out.println();
    report.forEach(out::println);
    return 0;
  }

  private static String user(Random random, int users) {
    return "u" + random.nextInt(users);
  }

  private static void send(HttpClient client, String uri) {
    try {
      HttpResponse<String> response =
          client.send(HttpRequest.newBuilder(URI.create(uri)).build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException(uri + " answered " + response.statusCode() + ": " + response.body());
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Times {@code lookups} calls of {@code lookup} after as many untimed ones; one line of the report. */
  private static String row(String name, int lookups, IntConsumer lookup) {
    for (int i = 0; i < lookups; i++) {
      lookup.accept(i);
    }
    long[] nanos = new long[lookups];
    long started = System.nanoTime();
    for (int i = 0; i < lookups; i++) {
      long start = System.nanoTime();
      lookup.accept(i);
      nanos[i] = System.nanoTime() - start;
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    Arrays.sort(nanos);
    return String.format(Locale.ROOT, "| %s | %.3f | %.3f | %,.0f |", name, nanos[lookups / 2] / 1e6,
        nanos[(int) Math.min(lookups - 1, Math.ceil(lookups * 0.99) - 1)] / 1e6, lookups / seconds);
  }

  /** Each user's clicks spread evenly over the hour before now, the latest a second before it. */
  private static void load(OnlineStore store, int users, int clicks) throws SQLException {
    for (FeatureTable table : FEATURE.tables()) {
      store.ensureTable(table);
      store.clear(table);
    }
    List<Object[]> precomputed = new ArrayList<>();
    List<Object[]> raw = new ArrayList<>();
    List<Object[]> tiles = new ArrayList<>();
    for (int u = 0; u < users; u++) {
      String user = "u" + u;
      NavigableMap<Long, Partial> byTime = new TreeMap<>();
      NavigableMap<Long, Partial> byTile = new TreeMap<>();
      for (int c = 0; c < clicks; c++) {
        long time = NOW - 1_000 - (HOUR - 2_000) * c / clicks;
        raw.add(FEATURE.rawEventRow("e" + c, user, time, null));
        byTime.computeIfAbsent(time, t -> new Partial()).add(time, null);
        byTile.computeIfAbsent(FEATURE.tileStart(time), t -> new Partial()).add(time, null);
      }
      byTile.forEach((start, partial) -> tiles.add(FEATURE.tileRow(user, start, partial, NOW)));
      long latest = byTime.lastKey();
      precomputed.add(FEATURE.precomputedRow(user, latest, RollingWindows.aggregate(FEATURE.windows(), byTime, latest),
          NOW));
      if (raw.size() >= 10_000 || u == users - 1) {
        store.upsert(FEATURE.rawEventsTable(), raw);
        store.upsert(FEATURE.tilesTable(), tiles);
        store.upsert(FEATURE.precomputedTable(), precomputed);
        raw.clear();
        tiles.clear();
        precomputed.clear();
      }
    }
  }
}
