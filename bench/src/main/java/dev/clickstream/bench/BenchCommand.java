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
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * {@code ./clickstream bench serving}: loads generated events through every pipeline, checks that the click counts
 * pre-computed, on demand and tiled answer alike over HTTP, then loads each pattern with an open loop at fixed
 * request rates up to saturation ({@link OpenLoopLoad}: HdrHistogram, latency from when each request was due, so
 * corrected for coordinated omission), runs {@code wrk} against the same lookups where it is installed ({@link
 * WrkRun}), times the store read alone, and reports all of it with the bytes stored per table.
 *
 * <p>{@code ./clickstream bench freshness} is {@link FreshnessBench}: event-to-servable latency while streaming;
 * {@code bench pipeline} is {@link PipelineBench}: throughput against native Flink; {@code bench state} is {@link
 * StateBench}: checkpointed state of the rolling click counts per user.
 */
final class BenchCommand {
  static final String DEFAULT_RATES = "1000,2000,4000,8000,12000,16000,20000,25000,30000";
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream bench serving [options]",
          "",
          "1. generates events (./clickstream generate) into DATA/bench/events-N.jsonl",
          "2. clears the feature tables in the store and runs every pipeline ('run all') on embedded Flink",
          "3. serves the store over HTTP and checks the warm-up lookups of each pattern (pre-computed click_counts,",
          "   on demand, tiled; as_of = the user's pre-computed event_time) against the pre-computed rows",
          "4. open loop: each pattern at each --rates request rate for --seconds, over --connections keep-alive",
          "   connections; latency from when each request was due (corrected for coordinated omission), up to",
          "   saturation (served under 90% of the offered rate, or p99 over 1 s)",
          "5. wrk -t1 at 1 and --connections connections per pattern, for --wrkSeconds each after 5 s of warm-up,",
          "   when wrk is installed (apt-get install wrk)",
          "6. times the store read alone; prints everything and writes it to --report",
          "",
          "  --events=N           events to generate (default 100000)",
          "  --users=N            distinct users (default 10000)",
          "  --span=DURATION      time the events cover (default 2h)",
          "  --onlineStore=URL    default jdbc:postgresql://127.0.0.1:5432/test?user=postgres",
          "                       (the bench clears its feature tables there)",
          "  --rates=R1,R2,...    offered lookups/s of the open loop (default " + DEFAULT_RATES + ")",
          "  --seconds=N          seconds per rate of the open loop (default 5)",
          "  --wrkSeconds=N       seconds per wrk run (default 20)",
          "  --connections=N      connections of the open loop and of wrk (default 16)",
          "  --warmup=N           checked lookups per pattern before measuring (default 5000)",
          "  --wrk=false          skip wrk even when installed",
          "  --dataDir=DATA       default ./data",
          "  --report=FILE        default DATA/bench/serving-N.md",
          "  --skipLoad=true      measure what an earlier bench loaded (same --events and store)");

  static final String DEFAULT_STORE = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
  private static final Set<String> FLAGS =
      Set.of("events", "users", "span", "onlineStore", "rates", "seconds", "wrkSeconds", "connections", "warmup", "wrk",
          "dataDir", "report", "skipLoad");
  /** Concurrent clients of the checked warm-up. */
  private static final int WARMUP_CLIENTS = 4;
  /** Store reads timed per pattern without HTTP. */
  private static final int STORE_READS = 5_000;
  /** A rate is past saturation when less than this share of it is served, or its p99 exceeds {@link #SATURATED_P99_MS}. */
  private static final double SATURATED_SHARE = 0.9;
  private static final double SATURATED_P99_MS = 1_000;
  /** wrk's unreported run per pattern before the measured ones. */
  private static final int WRK_WARMUP_SECONDS = 5;
  private static final WindowedAggregation FEATURE = FeatureDefinitions.CLICK_COUNTS;
  /** Clicks in the hour: how busy a user is. */
  private static final String HOUR_COLUMN = FEATURE.aggregations().get(0).column(FEATURE.longestWindow());
  private static final int HEAVIEST_READS = 1_000;
  private static final ObjectMapper JSON = new ObjectMapper();

  private BenchCommand() {}

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
    List<Double> rates = rates(flags.string("rates", DEFAULT_RATES));
    int seconds = (int) flags.longValue("seconds", 5, 1, 600);
    int wrkSeconds = (int) flags.longValue("wrkSeconds", 20, 1, 600);
    int connections = (int) flags.longValue("connections", 16, 1, 256);
    int warmup = (int) flags.longValue("warmup", 5_000, 1, 10_000_000);
    Optional<Path> wrk = flags.booleanValue("wrk", true) ? WrkRun.find() : Optional.empty();
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
    Javalin server = ServeCommand.start(store, "127.0.0.1", 0);
    String base = "http://127.0.0.1:" + server.port();
    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);
    List<Pattern> patterns = List.of(
        new Pattern("pre-computed", row -> "/features/click_counts/" + row.get("user_id"),
            row -> store.read(FeatureTables.CLICK_COUNTS, (String) row.get("user_id"))),
        new Pattern("tiled",
            row -> "/features/click_counts_tiled/" + row.get("user_id") + "?as_of=" + row.get("event_time"),
            row -> reads.tiled(FEATURE, (String) row.get("user_id"), (Long) row.get("event_time"))),
        new Pattern("on-demand",
            row -> "/features/click_counts_on_demand/" + row.get("user_id") + "?as_of=" + row.get("event_time"),
            row -> reads.onDemand(FEATURE, (String) row.get("user_id"), (Long) row.get("event_time"))));
    AtomicLong mismatches = new AtomicLong();
    Map<String, List<OpenLoopLoad.Result>> ladders = new LinkedHashMap<>();
    Map<String, List<WrkRun.Result>> wrkRuns = new LinkedHashMap<>();
    Map<String, long[]> storeReads = new LinkedHashMap<>();
    Map<String, Object> heaviest = heaviestUser(rows);
    Map<String, long[]> heaviestReads = new LinkedHashMap<>();
    try {
      HttpClient client =
          HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
      out.printf(Locale.ROOT, "%n== Checking %,d warm-up lookups per pattern against the pre-computed rows (%,d users)%n",
          warmup, rows.size());
      for (Pattern pattern : patterns) {
        runClients(client, rows, WARMUP_CLIENTS, warmup, row -> base + pattern.path.apply(row), mismatches,
            new long[warmup], 1);
      }
      out.printf(Locale.ROOT, "  %,d answers differed%n", mismatches.get());
      for (Pattern pattern : patterns) {
        List<String> paths = paths(rows, pattern);
        out.printf(Locale.ROOT, "%n== Open loop, %s: %d s per rate over %d connections%n", pattern.name, seconds,
            connections);
        List<OpenLoopLoad.Result> ladder = new ArrayList<>();
        for (double rate : rates) {
          OpenLoopLoad.Result result = OpenLoopLoad.run(server.port(), paths, rate, connections, seconds);
          ladder.add(result);
          out.println("  " + ladderLine(result));
          if (result.achievedPerSecond() < SATURATED_SHARE * rate
              || result.correctedMillis(99) > SATURATED_P99_MS) {
            out.println("  saturated: higher rates are not measured");
            break;
          }
        }
        ladders.put(pattern.name, ladder);
      }
      if (wrk.isPresent()) {
        for (Pattern pattern : patterns) {
          List<WrkRun.Result> runs = new ArrayList<>();
          Path workDir = report.toAbsolutePath().getParent();
          List<String> patternPaths = paths(rows, pattern);
          // Unreported: the first seconds of a pattern after another load pay for the JIT and the new connections,
          // which set a short run's p99 at one connection (3.5 ms in the first 5 s, 0.5 ms once warm).
          WrkRun.run(wrk.get(), workDir, server.port(), patternPaths, connections, WRK_WARMUP_SECONDS);
          for (int c : connections == 1 ? List.of(1) : List.of(1, connections)) {
            WrkRun.Result result = WrkRun.run(wrk.get(), workDir, server.port(), patternPaths, c, wrkSeconds);
            out.printf(Locale.ROOT, "  wrk %-13s %2d connections: %,.0f lookups/s, p50 %.3f ms, p99 %.3f ms %s%n",
                pattern.name, c, result.requestsPerSecond(), result.p50Millis(), result.p99Millis(), result.errors());
            runs.add(result);
          }
          wrkRuns.put(pattern.name, runs);
        }
      } else {
        out.println("\nwrk is not installed (apt-get install wrk): only the open loop was measured");
      }
      Random random = new Random(7);
      for (Pattern pattern : patterns) {
        storeReads.put(pattern.name, timeReads(pattern, () -> rows.get(random.nextInt(rows.size())), STORE_READS));
        // The entity whose hour holds the most clicks: the worst case of the on-demand scan.
        heaviestReads.put(pattern.name, timeReads(pattern, () -> heaviest, HEAVIEST_READS));
      }
    } finally {
      server.stop();
    }

    String text = report(ladders, wrkRuns, storeReads, sizes(store), events, rows.size(), connections, seconds,
        wrkSeconds, warmup * patterns.size(), mismatches.get(), store.redactedUrl())
        + heaviestReport(heaviest, heaviestReads);
    out.println();
    out.println(text);
    Files.createDirectories(report.toAbsolutePath().getParent());
    Files.writeString(report, text, StandardCharsets.UTF_8);
    out.printf("Report written to %s%n", report);
    if (mismatches.get() > 0) {
      err.printf("error: %,d answers differed from the pre-computed rows (see above)%n", mismatches.get());
      return 1;
    }
    return 0;
  }

  static List<Double> rates(String text) {
    List<Double> rates = new ArrayList<>();
    for (String rate : text.split(",")) {
      try {
        double value = Double.parseDouble(rate.strip());
        if (value > 0) {
          rates.add(value);
          continue;
        }
      } catch (NumberFormatException e) {
        // said below
      }
      throw new UsageException("bench serving: --rates must be request rates per second separated by commas, such"
          + " as " + DEFAULT_RATES + "; got '" + rate + "'");
    }
    return rates;
  }

  /** The pattern's request of every row, in a fixed shuffled order (the same for the open loop and wrk). */
  private static List<String> paths(List<Map<String, Object>> rows, Pattern pattern) {
    List<String> paths = new ArrayList<>();
    rows.forEach(row -> paths.add(pattern.path.apply(row)));
    java.util.Collections.shuffle(paths, new Random(42));
    return paths;
  }

  private static long[] timeReads(Pattern pattern, java.util.function.Supplier<Map<String, Object>> rows, int reads) {
    long[] nanos = new long[reads];
    for (int i = 0; i < nanos.length; i++) {
      Map<String, Object> row = rows.get();
      long start = System.nanoTime();
      pattern.storeRead.apply(row);
      nanos[i] = System.nanoTime() - start;
    }
    Arrays.sort(nanos);
    return nanos;
  }

  private static String ladderLine(OpenLoopLoad.Result r) {
    return String.format(Locale.ROOT,
        "offered %,7.0f/s served %,7.0f/s: p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f ms (uncorrected p99 %.3f)%s",
        r.offeredPerSecond(), r.achievedPerSecond(), r.correctedMillis(50), r.correctedMillis(90),
        r.correctedMillis(99), r.correctedMillis(99.9), r.corrected().getMaxValue() / 1e3, r.uncorrectedMillis(99),
        r.errors() == 0 ? "" : String.format(Locale.ROOT, " %,d errors", r.errors()));
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

  /** A lookup pattern: its HTTP request path for a pre-computed row, and the same read without HTTP. */
  private static final class Pattern {
    final String name;
    final Function<Map<String, Object>, String> path;
    final Function<Map<String, Object>, Object> storeRead;

    Pattern(String name, Function<Map<String, Object>, String> path, Function<Map<String, Object>, Object> storeRead) {
      this.name = name;
      this.path = path;
      this.storeRead = storeRead;
    }
  }

  /**
   * Sends {@code requests} lookups from {@code clients} threads, each for a random pre-computed row, checking each
   * answer's counts against the row.
   */
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
    Map<String, Long> sizes = new LinkedHashMap<>();
    for (FeatureTable table : benchTables()) {
      sizes.put(table.name(), store.storedBytes(table));
    }
    return sizes;
  }

  private static String report(
      Map<String, List<OpenLoopLoad.Result>> ladders, Map<String, List<WrkRun.Result>> wrkRuns,
      Map<String, long[]> storeReads, Map<String, Long> sizes, long events, int users, int connections, int seconds,
      int wrkSeconds, int checked, long mismatches, String store) {
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT,
        "Serving benchmark: %,d events, %,d users with clicks; %,d warm-up answers checked, %,d differed%n", events,
        users, checked, mismatches));
    text.append(String.format(Locale.ROOT, "Store: %s; %s; %d cores, Java %s; %s%n", store, os(),
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), Instant.now()));
    text.append(String.format(Locale.ROOT,
        "%nOpen loop over %d connections, %d s per rate; latency from when each request was due (ms)%n", connections,
        seconds));
    ladders.forEach((pattern, ladder) -> {
      text.append(String.format(Locale.ROOT, "%n%s%n%n| offered/s | served/s | p50 | p90 | p99 | p99.9 | max"
          + " | p99 uncorrected | errors |%n|---:|---:|---:|---:|---:|---:|---:|---:|---:|%n", pattern));
      for (OpenLoopLoad.Result r : ladder) {
        text.append(String.format(Locale.ROOT,
            "| %,.0f | %,.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %,d |%n", r.offeredPerSecond(),
            r.achievedPerSecond(), r.correctedMillis(50), r.correctedMillis(90), r.correctedMillis(99),
            r.correctedMillis(99.9), r.corrected().getMaxValue() / 1e3, r.uncorrectedMillis(99), r.errors()));
      }
    });
    if (!wrkRuns.isEmpty()) {
      text.append(String.format(Locale.ROOT, "%nwrk -t1, %d s per run (closed loop)%n%n| pattern | connections"
          + " | lookups/s | p50 ms | p99 ms | errors |%n|---|---:|---:|---:|---:|---|%n", wrkSeconds));
      wrkRuns.forEach((pattern, runs) -> {
        for (int i = 0; i < runs.size(); i++) {
          WrkRun.Result r = runs.get(i);
          text.append(String.format(Locale.ROOT, "| %s | %d | %,.0f | %.3f | %.3f | %s |%n", pattern,
              i == 0 ? 1 : connections, r.requestsPerSecond(), r.p50Millis(), r.p99Millis(), r.errors()));
        }
      });
    }
    text.append(String.format(Locale.ROOT,
        "%nThe store read alone (the handler's read, without HTTP), %,d random users per pattern%n%n"
            + "| pattern | p50 ms | p99 ms |%n|---|---:|---:|%n", STORE_READS));
    storeReads.forEach((pattern, nanos) -> text.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f |%n",
        pattern, millis(nanos, 0.50), millis(nanos, 0.99))));
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
