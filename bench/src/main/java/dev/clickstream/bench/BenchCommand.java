package dev.clickstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.runners.Flags;
import dev.clickstream.runners.GenerateCommand;
import dev.clickstream.runners.RunCommand;
import dev.clickstream.runners.ServeCommand;
import dev.clickstream.runners.UsageException;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.WindowedFeatureReads;
import io.javalin.Javalin;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * {@code ./clickstream bench serving}: loads generated events through every pipeline, then measures single-entity
 * lookups of the click counts pre-computed, on demand and tiled, over HTTP with concurrent clients and without
 * HTTP (the store read alone), and reports latency percentiles, throughput and bytes stored per table.
 *
 * <p>{@code ./clickstream bench freshness} is {@link FreshnessBench}: event-to-servable latency while streaming;
 * {@code bench pipeline} is {@link PipelineBench}: throughput against native Flink; {@code bench state} is {@link
 * StateBench}: checkpointed state of the rolling click counts per user.
 */
final class BenchCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream bench serving [options]",
          "",
          "1. generates events (./clickstream generate) into DATA/bench/events-N.jsonl",
          "2. clears the feature tables in the store and runs every pipeline ('run all') on embedded Flink",
          "3. serves the store over HTTP and, for each pattern (pre-computed click_counts, on demand, tiled),",
          "   sends single-user lookups from concurrent clients (as_of = the user's pre-computed event_time,",
          "   so every answer is also checked against the pre-computed row), then times the store read alone",
          "4. prints latency p50/p95/p99, throughput and bytes per table, and writes them to --report",
          "",
          "  --events=N           events to generate (default 100000)",
          "  --users=N            distinct users (default 10000)",
          "  --span=DURATION      time the events cover (default 2h)",
          "  --onlineStore=URL    default jdbc:postgresql://127.0.0.1:5432/test?user=postgres",
          "                       (the bench clears its feature tables there)",
          "  --clients=N          concurrent HTTP clients (default 4)",
          "  --requests=N         measured lookups per pattern (default 20000), after --warmup=N (default 5000)",
          "  --dataDir=DATA       default ./data",
          "  --report=FILE        default DATA/bench/serving-N.md",
          "  --skipLoad=true      measure what an earlier bench loaded (same --events and store)");

  static final String DEFAULT_STORE = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
  private static final Set<String> FLAGS =
      Set.of("events", "users", "span", "onlineStore", "clients", "requests", "warmup", "dataDir", "report",
          "skipLoad");
  private static final WindowedAggregation FEATURE = FeatureDefinitions.CLICK_COUNTS;
  /** Clicks in the hour: how busy a user is. */
  private static final String HOUR_COLUMN = FEATURE.aggregations().get(0).column(FEATURE.longestWindow());
  /** Measurement rounds; each measures every pattern once. */
  private static final int ROUNDS = 4;
  private static final int HEAVIEST_READS = 1_000;
  private static final ObjectMapper JSON = new ObjectMapper();

  private BenchCommand() {}

  /** The latencies of one pattern: over HTTP with concurrent clients, and of the store read alone. */
  private static final class Measurement {
    final String pattern;
    final long[] httpNanos;
    final double httpSeconds;
    final long[] oneClientNanos;
    final long[] readNanos;
    final long mismatches;

    Measurement(
        String pattern, long[] httpNanos, double httpSeconds, long[] oneClientNanos, long[] readNanos,
        long mismatches) {
      this.pattern = pattern;
      this.httpNanos = httpNanos;
      this.httpSeconds = httpSeconds;
      this.oneClientNanos = oneClientNanos;
      this.readNanos = readNanos;
      this.mismatches = mismatches;
    }

    /** The measurements of one pattern over several rounds, as one. */
    static Measurement merge(List<Measurement> rounds) {
      double seconds = 0;
      long mismatches = 0;
      for (Measurement round : rounds) {
        seconds += round.httpSeconds;
        mismatches += round.mismatches;
      }
      return new Measurement(rounds.get(0).pattern, sorted(rounds, m -> m.httpNanos), seconds,
          sorted(rounds, m -> m.oneClientNanos), sorted(rounds, m -> m.readNanos), mismatches);
    }

    private static long[] sorted(List<Measurement> rounds, Function<Measurement, long[]> nanos) {
      long[] all = rounds.stream().flatMapToLong(m -> Arrays.stream(nanos.apply(m))).toArray();
      Arrays.sort(all);
      return all;
    }
  }

  static int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    String benchmark = args.isEmpty() ? "" : args.get(0);
    List<String> rest = args.isEmpty() ? List.of() : args.subList(1, args.size());
    switch (benchmark) {
      case "serving":
        if (Flags.wantsHelp(rest)) {
          out.println(HELP);
          return 0;
        }
        return serving(rest, out, err);
      case "freshness":
        return FreshnessBench.run(rest, out, err);
      case "pipeline":
        return PipelineBench.run(rest, out);
      case "state":
        return StateBench.run(rest, out);
      case "correction":
        return CorrectionBench.run(rest, out);
      default:
        if (!args.isEmpty() && !Flags.wantsHelp(args)) {
          throw new UsageException(
              "bench: unknown benchmark '" + benchmark + "'; available: serving, freshness, pipeline, state, correction");
        }
        out.println(HELP);
        out.println();
        out.println(FreshnessBench.HELP);
        out.println();
        out.println(PipelineBench.HELP);
        out.println();
        out.println(StateBench.HELP);
        out.println();
        out.println(CorrectionBench.HELP);
        return args.isEmpty() ? 2 : 0;
    }
  }

  private static int serving(List<String> args, PrintStream out, PrintStream err) throws Exception {
    Flags flags = Flags.parse("bench serving", args, FLAGS);
    long events = flags.longValue("events", 100_000, 1, 100_000_000);
    long users = flags.longValue("users", 10_000, 1, 10_000_000);
    int clients = (int) flags.longValue("clients", 4, 1, 256);
    int requests = (int) flags.longValue("requests", 20_000, 1, 10_000_000);
    int warmup = (int) flags.longValue("warmup", 5_000, 0, 10_000_000);
    String span = flags.string("span", "2h");
    String dataDir = flags.string("dataDir", "./data");
    String url = flags.string("onlineStore", DEFAULT_STORE);
    Path report = Path.of(flags.string("report", dataDir + "/bench/serving-" + events + ".md"));
    OnlineStore store = ServeCommand.onlineStore(url);

    if (!flags.booleanValue("skipLoad", false)) {
      load(store, url, dataDir, events, users, span, out, err);
    }

    List<Map<String, Object>> rows = store.readTable(FeatureTables.CLICK_COUNTS);
    if (rows.isEmpty()) {
      throw new UsageException("bench: click_counts is empty in " + store.redactedUrl() + "; run without --skipLoad");
    }
    out.printf(Locale.ROOT, "%n== Measuring %,d lookups per pattern (%,d warm-up) from %d clients over %,d users%n",
        requests, warmup, clients, rows.size());
    Javalin server = ServeCommand.start(store, "127.0.0.1", 0);
    List<Measurement> measurements = new ArrayList<>();
    Map<String, Object> heaviest = heaviestUser(rows);
    Map<String, long[]> heaviestReads = new java.util.LinkedHashMap<>();
    try {
      String base = "http://127.0.0.1:" + server.port() + "/features/";
      WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);
      List<Pattern> patterns = List.of(
          new Pattern("pre-computed", row -> base + "click_counts/" + row.get("user_id"),
              row -> store.read(FeatureTables.CLICK_COUNTS, (String) row.get("user_id"))),
          new Pattern("on-demand",
              row -> base + "click_counts_on_demand/" + row.get("user_id") + "?as_of=" + row.get("event_time"),
              row -> reads.onDemand(FEATURE, (String) row.get("user_id"), (Long) row.get("event_time"))),
          new Pattern("tiled",
              row -> base + "click_counts_tiled/" + row.get("user_id") + "?as_of=" + row.get("event_time"),
              row -> reads.tiled(FEATURE, (String) row.get("user_id"), (Long) row.get("event_time"))));
      HttpClient client =
          HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
      // Every pattern warms up before any is measured, so the first one does not pay for the JIT and the pools.
      AtomicLong warmupMismatches = new AtomicLong();
      for (Pattern pattern : patterns) {
        runClients(client, rows, clients, warmup, pattern.uri, warmupMismatches, new long[warmup], 1);
      }
      // Rounds interleave the patterns, so JIT compilation and background work late in the run weigh on each alike.
      List<List<Measurement>> rounds = new ArrayList<>();
      for (int round = 0; round < ROUNDS; round++) {
        List<Measurement> thisRound = new ArrayList<>();
        for (Pattern pattern : patterns) {
          thisRound.add(measure(client, pattern, rows, clients, Math.max(1, requests / ROUNDS), round));
        }
        rounds.add(thisRound);
      }
      // The entity whose hour holds the most clicks: the worst case of the on-demand scan.
      for (Pattern pattern : patterns) {
        long[] nanos = new long[HEAVIEST_READS];
        for (int i = 0; i < nanos.length; i++) {
          long start = System.nanoTime();
          pattern.storeRead.apply(heaviest);
          nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        heaviestReads.put(pattern.name, nanos);
      }
      for (int p = 0; p < patterns.size(); p++) {
        List<Measurement> ofPattern = new ArrayList<>();
        for (List<Measurement> round : rounds) {
          ofPattern.add(round.get(p));
        }
        Measurement merged = Measurement.merge(ofPattern);
        measurements.add(merged);
        out.printf(Locale.ROOT,
            "  %-13s %d clients: p50 %.2f ms p99 %.2f ms %,.0f lookups/s; 1 client: p50 %.2f ms p99 %.2f ms;"
                + " store read p50 %.3f ms p99 %.3f ms%n",
            merged.pattern, clients, millis(merged.httpNanos, 0.50), millis(merged.httpNanos, 0.99),
            merged.httpNanos.length / merged.httpSeconds, millis(merged.oneClientNanos, 0.50),
            millis(merged.oneClientNanos, 0.99), millis(merged.readNanos, 0.50), millis(merged.readNanos, 0.99));
      }
    } finally {
      server.stop();
    }

    String text = report(measurements, sizes(store), events, rows.size(), clients, store.redactedUrl())
        + heaviestReport(heaviest, heaviestReads);
    out.println();
    out.println(text);
    Files.createDirectories(report.toAbsolutePath().getParent());
    Files.writeString(report, text, StandardCharsets.UTF_8);
    out.printf("Report written to %s%n", report);
    long mismatches = measurements.stream().mapToLong(m -> m.mismatches).sum();
    if (mismatches > 0) {
      err.printf("error: %,d answers differed from the pre-computed rows (see above)%n", mismatches);
      return 1;
    }
    return 0;
  }

  private static void load(
      OnlineStore store, String url, String dataDir, long events, long users, String span, PrintStream out,
      PrintStream err) throws InterruptedException {
    String eventsFile = dataDir + "/bench/events-" + events + ".jsonl";
    out.println("== 1/3 Generating events");
    GenerateCommand.run(
        List.of("--output=" + eventsFile, "--events=" + events, "--users=" + users, "--span=" + span), out, err);
    for (FeatureTable table : benchTables()) {
      store.clear(table);
    }
    out.println("\n== 2/3 Loading them through every pipeline on embedded Flink");
    ClickstreamOptions options =
        RunCommand.options(
            "all",
            List.of("--input=" + eventsFile, "--onlineStore=" + url, "--offlineStore=" + dataDir + "/bench/offline",
                "--deadLetter=" + dataDir + "/bench/dead-letters.jsonl"));
    RunCommand.printCounters(RunCommand.runWithHeartbeat(RunCommand.pipelineFor("all", options), out), out);
    out.println("\n== 3/3 Measuring");
  }

  private static List<FeatureTable> benchTables() {
    return List.of(FeatureTables.CTR_5MIN, FeatureTables.CLICK_COUNTS, FEATURE.rawEventsTable(), FEATURE.tilesTable());
  }

  /** A lookup pattern: its HTTP request for a pre-computed row, and the same read without HTTP. */
  private static final class Pattern {
    final String name;
    final Function<Map<String, Object>, String> uri;
    final Function<Map<String, Object>, Object> storeRead;

    Pattern(String name, Function<Map<String, Object>, String> uri, Function<Map<String, Object>, Object> storeRead) {
      this.name = name;
      this.uri = uri;
      this.storeRead = storeRead;
    }
  }

  /**
   * Sends {@code requests} lookups from {@code clients} threads, each for a random pre-computed row, checking each
   * answer's counts against the row; then a quarter as many from one client (latency without queueing), then times
   * the store read alone on this thread.
   */
  private static Measurement measure(
      HttpClient client, Pattern pattern, List<Map<String, Object>> rows, int clients, int requests, int round)
      throws Exception {
    AtomicLong mismatches = new AtomicLong();
    long[] latencies = new long[requests];
    long started = System.nanoTime();
    runClients(client, rows, clients, requests, pattern.uri, mismatches, latencies, 2 + 2 * round);
    double seconds = (System.nanoTime() - started) / 1e9;
    long[] oneClient = new long[Math.max(1, requests / 4)];
    runClients(client, rows, 1, oneClient.length, pattern.uri, mismatches, oneClient, 3 + 2 * round);
    long[] reads = new long[Math.max(1, requests / 4)];
    Random random = new Random(round);
    for (int i = 0; i < reads.length; i++) {
      Map<String, Object> row = rows.get(random.nextInt(rows.size()));
      long start = System.nanoTime();
      pattern.storeRead.apply(row);
      reads[i] = System.nanoTime() - start;
    }
    return new Measurement(pattern.name, latencies, seconds, oneClient, reads, mismatches.get());
  }

  private static void runClients(
      HttpClient client,
      List<Map<String, Object>> rows,
      int clients,
      int requests,
      Function<Map<String, Object>, String> uri,
      AtomicLong mismatches,
      long[] latencies,
      long seed)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    AtomicLong next = new AtomicLong();
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        Random random = new Random(seed * 1_000 + c);
        done.add(pool.submit(() -> {
          for (long i = next.getAndIncrement(); i < requests; i = next.getAndIncrement()) {
            Map<String, Object> row = rows.get(random.nextInt(rows.size()));
            HttpRequest request = HttpRequest.newBuilder(URI.create(uri.apply(row))).GET().build();
            long start = System.nanoTime();
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            latencies[(int) i] = System.nanoTime() - start;
            if (!sameCounts(response, row)) {
              if (mismatches.incrementAndGet() <= 5) {
                System.err.printf("  mismatch: %s -> %d %s, pre-computed %s%n",
                    request.uri(), response.statusCode(), response.body(), row);
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> future : done) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Whether the answer holds the pre-computed row's event time and counts. The pre-computed view answers as of the
   * server's now, where clicks may have left the row's windows: when its {@code as_of} is not the row's event time,
   * only the event time is compared.
   */
  private static boolean sameCounts(HttpResponse<String> response, Map<String, Object> row) throws IOException {
    if (response.statusCode() != 200) {
      return false;
    }
    JsonNode answer = JSON.readTree(response.body());
    long eventTime = ((Number) row.get("event_time")).longValue();
    if (answer.has("updated_at") && answer.path("as_of").asLong() != eventTime) {
      return answer.path("event_time").asLong() == eventTime;
    }
    JsonNode features = answer.has("features") ? answer.get("features") : answer;
    for (String column : FEATURE.featureColumns()) {
      JsonNode value = features.get(column);
      if (value == null || value.asLong() != ((Number) row.get(column)).longValue()) {
        return false;
      }
    }
    return true;
  }

  private static Map<String, Long> sizes(OnlineStore store) {
    Map<String, Long> sizes = new java.util.LinkedHashMap<>();
    for (FeatureTable table : benchTables()) {
      sizes.put(table.name(), store.storedBytes(table));
    }
    return sizes;
  }

  private static String report(
      List<Measurement> measurements, Map<String, Long> sizes, long events, int users, int clients,
      String store) {
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT,
        "Serving benchmark: %,d events, %,d users with clicks, %d concurrent HTTP clients%n", events, users, clients));
    text.append(String.format(Locale.ROOT, "Store: %s; %s; %d cores, Java %s; %s%n%n", store, os(),
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), Instant.now()));
    text.append(String.format(Locale.ROOT,
        "| pattern | HTTP p50 ms | HTTP p95 ms | HTTP p99 ms | lookups/s (%d clients) | 1 client p50 ms"
            + " | 1 client p99 ms | store read p50 ms | store read p99 ms | answers checked | mismatches |%n", clients));
    text.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Measurement m : measurements) {
      text.append(String.format(Locale.ROOT,
          "| %s | %.3f | %.3f | %.3f | %,.0f | %.3f | %.3f | %.3f | %.3f | %,d | %,d |%n",
          m.pattern, millis(m.httpNanos, 0.50), millis(m.httpNanos, 0.95), millis(m.httpNanos, 0.99),
          m.httpNanos.length / m.httpSeconds, millis(m.oneClientNanos, 0.50), millis(m.oneClientNanos, 0.99),
          millis(m.readNanos, 0.50), millis(m.readNanos, 0.99), m.httpNanos.length + m.oneClientNanos.length,
          m.mismatches));
    }
    text.append("\n| table | bytes on disk |\n|---|---:|\n");
    sizes.forEach((table, bytes) -> text.append(String.format(Locale.ROOT, "| %s | %,d |%n", table, bytes)));
    return text.toString();
  }

  private static Map<String, Object> heaviestUser(List<Map<String, Object>> rows) {
    Map<String, Object> heaviest = rows.get(0);
    for (Map<String, Object> row : rows) {
      if ((Long) row.get(HOUR_COLUMN) > (Long) heaviest.get(HOUR_COLUMN)) {
        heaviest = row;
      }
    }
    return heaviest;
  }

  private static String heaviestReport(Map<String, Object> heaviest, Map<String, long[]> reads) {
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT,
        "%nThe heaviest user, %s, with %,d clicks in the hour before its latest click: store read alone,"
            + " %,d reads each%n%n| pattern | p50 ms | p99 ms |%n|---|---:|---:|%n",
        heaviest.get("user_id"), heaviest.get(HOUR_COLUMN), HEAVIEST_READS));
    reads.forEach((pattern, nanos) -> text.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f |%n",
        pattern, millis(nanos, 0.50), millis(nanos, 0.99))));
    return text.toString();
  }

  private static String os() {
    return ManagementFactory.getOperatingSystemMXBean().getName() + " "
        + ManagementFactory.getOperatingSystemMXBean().getArch();
  }

  private static double millis(long[] sortedNanos, double quantile) {
    if (sortedNanos.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.min(sortedNanos.length - 1, Math.ceil(quantile * sortedNanos.length) - 1);
    return sortedNanos[Math.max(0, index)] / 1e6;
  }
}
