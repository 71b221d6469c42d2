package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.matchesRegex;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.DimensionDefinitions;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's commands, called as a user would, with real files, stores and runners. */
class ClickstreamCommandsTest {
  private final Launcher launcher = new Launcher();

  /**
   * The demo's H2 store stays open in this JVM, and H2 rewrites its lock file while it is: closed before the
   * temporary directory is deleted, or the lock file can reappear in it mid-deletion.
   */
  @AfterEach
  void closeStores() {
    dev.clickstream.store.ConnectionPools.closeAll();
  }

  @Test
  void everyCommandHasHelp() {
    assertThat(launcher.run("--help"), equalTo(0));
    assertThat(launcher.stdout(), containsString("Commands:"));
    for (String command :
        List.of("generate", "replay", "kafka", "serve", "demo", "dimensions", "training-data", "backfill")) {
      assertThat(launcher.run(command, "--help"), equalTo(0));
      assertThat(launcher.stdout(), containsString("Usage: ./clickstream " + command));
    }
    assertThat(launcher.run("run", "ctr", "--help"), equalTo(0));
    assertThat(launcher.stdout(), containsString("--onlineStore"));
    assertThat(launcher.stdout(), containsString("--flinkMaster"));
    for (String pipeline : List.of("click-counts", "raw-events", "all")) {
      assertThat(launcher.run("run", pipeline, "--help"), equalTo(0));
      assertThat(launcher.stdout(), containsString("--allowedLateness"));
    }
    assertThat(launcher.run("run", "click-counts", "--help"), equalTo(0));
    assertThat(launcher.stdout(), containsString("--counter"));
  }

  @Test
  void mistakesAreExplained() {
    assertThat(launcher.run("frobnicate"), equalTo(2));
    assertThat(launcher.stderr(), containsString("Unknown command 'frobnicate'"));

    assertThat(launcher.run("generate", "--evnets=5", "--output=x"), equalTo(2));
    assertThat(launcher.stderr(), containsString("unknown flag --evnets"));
    assertThat(launcher.stderr(), containsString("--events"));

    assertThat(launcher.run("generate", "--events=5"), equalTo(2));
    assertThat(launcher.stderr(), containsString("give --output=FILE or --kafka=HOST:PORT, or both"));

    assertThat(launcher.run("generate", "--output=x.jsonl", "--clickRatio=much"), equalTo(2));
    assertThat(launcher.stderr(), containsString("--clickRatio=much is not a number"));

    assertThat(launcher.run("run", "sesions", "--input=x"), equalTo(2));
    assertThat(launcher.stderr(), containsString("unknown pipeline 'sesions'; available: ctr, click-counts, raw-events,"
        + " attribution, sessions, enriched, all"));

    assertThat(launcher.run("run", "ctr", "--input=/no/such/events-*.jsonl"), equalTo(2));
    assertThat(launcher.stderr(), containsString("no input files match --input=/no/such/events-*.jsonl"));

    assertThat(launcher.run("run", "ctr", "--inptu=x"), equalTo(2));
    assertThat(launcher.stderr(), containsString("inptu"));
  }

  /** The bench module plugs {@code bench} in (its BenchCommandProviderTest); without it the launcher says how. */
  @Test
  void benchWithoutTheBenchModuleSaysWhereItIs() {
    assertThat(launcher.run("bench", "--help"), equalTo(2));
    assertThat(launcher.stderr(), equalTo("error: 'bench' is in the bench module, whose jar is not on the classpath."
        + " ./clickstream builds it and puts bench/target/clickstream-bench.jar beside runners/target/clickstream.jar;"
        + " with plain java, run 'mvn -DskipTests package' and add that jar to -cp.\n"));
    assertThat(launcher.stdout(), equalTo(""));
  }

  @Test
  void generateWritesTheRequestedFileAndReportsIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("nested/events.jsonl");
    assertThat(launcher.run("generate", "--output=" + file, "--events=2000", "--users=10", "--malformedRatio=0.05"),
        equalTo(0));
    List<String> lines = Files.readAllLines(file);
    assertThat(lines, hasSize(2000));
    long malformed = lines.stream().filter(line -> !parses(line)).count();
    assertThat(launcher.stdout(), containsString("Wrote 2,000 records (" + malformed + " malformed) for 10 users"));

    Path avro = dir.resolve("events.avro");
    assertThat(launcher.run("generate", "--output=" + avro, "--events=100"), equalTo(0));
    assertThat(Files.size(avro) > 0, equalTo(true));
    assertThat(launcher.run("generate", "--output=" + avro, "--malformedRatio=0.1"), equalTo(2));
    assertThat(launcher.stderr(), containsString("cannot hold malformed records"));
  }

  @Test
  void runCtrOnTheDirectRunnerFillsTheStoreAndCountsDeadLetters(@TempDir Path dir) throws Exception {
    Path events = dir.resolve("events.jsonl");
    assertThat(launcher.run("generate", "--output=" + events, "--events=1500", "--users=20", "--malformedRatio=0.02"),
        equalTo(0));
    long malformed = Files.readAllLines(events).stream().filter(line -> !parses(line)).count();
    String store = StoreFixtures.freshH2Url();
    Path deadLetters = dir.resolve("dead.jsonl");

    assertThat(
        launcher.run("run", "ctr", "--runner=DirectRunner", "--input=" + events, "--onlineStore=" + store,
            "--offlineStore=" + dir.resolve("offline"), "--deadLetter=" + deadLetters),
        equalTo(0));

    assertThat(launcher.stdout(), containsString("Running the ctr pipeline on DirectRunner"));
    assertThat(launcher.stdout(), containsString("ParseEvents/dead_letters"));
    assertThat((long) Files.readAllLines(deadLetters).size(), equalTo(malformed));
    Map<String, Map<String, Object>> rows =
        OnlineStore.forUrl(store).readAll(FeatureTables.CTR_5MIN, List.of("u0", "u1"));
    assertThat(rows.keySet(), hasSize(2));
  }

  @Test
  void dimensionsWritesTheGeneratedTablesLeavingSomeKeysOut() {
    String store = StoreFixtures.freshH2Url();

    assertThat(launcher.run("dimensions", "--users=120", "--items=80", "--onlineStore=" + store), equalTo(0));

    // u49 and u99 are left out of 120 users, item39 and item79 of 80 items.
    assertThat(launcher.stdout(), containsString("Wrote 118 users rows to " + store));
    assertThat(launcher.stdout(), containsString("Wrote 78 items rows to " + store));
    OnlineStore online = OnlineStore.forUrl(store);
    assertThat(online.readTable(DimensionDefinitions.USERS.table()).size(), equalTo(118));
    assertThat(online.read(DimensionDefinitions.USERS.table(), "u49").isPresent(), equalTo(false));
    assertThat(online.read(DimensionDefinitions.ITEMS.table(), "item0").orElseThrow().get("category"),
        equalTo("sports"));
  }

  @Test
  void aCounterThatDoesNotExistIsAUsageError(@TempDir Path dir) throws Exception {
    Path events = dir.resolve("events.jsonl");
    Files.writeString(events, "");

    assertThat(launcher.run("run", "click-counts", "--runner=DirectRunner", "--input=" + events, "--counter=hopping"),
        equalTo(2));
    assertThat(launcher.stderr(), containsString("run click-counts: --counter must be stateful or sliding, got 'hopping'"));
  }

  @Test
  void demoRunsEndToEndOnEmbeddedFlinkAndServesVectors(@TempDir Path dir) throws Exception {
    // A first demo over other events: the second must not show any of its rows.
    assertThat(
        launcher.run("demo", "--events=4000", "--users=50", "--port=0", "--keepServing=false", "--trainingRows=0",
            "--dataDir=" + dir),
        equalTo(0));
    // What --metricsPort serves as a job runs: embedded Flink's reporter kept the counters Beam printed at the end.
    // Checked on this demo, whose streaming job is the JVM's latest: the second ends with a training-data job.
    String first = launcher.stdout();
    Map<String, Long> reported = dev.clickstream.pipelines.FlinkMetricsReporter.totals().counters();
    for (String counter : List.of("ParseEvents/events_parsed", "ctr_5min/rows_out", "click_counts/rows_out")) {
      assertThat(first, containsString(
          String.format(java.util.Locale.ROOT, "  %-48s %,14d%n", counter, reported.get(counter))));
    }
    assertThat(reported.entrySet().stream().filter(counter -> counter.getKey().startsWith("DeadLetters/"))
        .mapToLong(Map.Entry::getValue).sum(), equalTo(malformedIn(dir.resolve("demo/events.jsonl"))));
    launcher.clearStdout();
    assertThat(
        launcher.run("demo", "--events=3000", "--users=50", "--port=0", "--keepServing=false", "--dataDir=" + dir),
        equalTo(0));
    String printed = launcher.stdout();
    assertThat(printed, containsString("Starting from nothing: cleared ctr_5min, click_counts, click_counts_sliding,"
        + " ctr_by_segment_5min, ctr_by_category_5min, user_activity_5min, item_attribution_5min, user_sessions,"
        + " feature_drift, click_events, click_tiles in the online store"));
    assertThat(printed, containsString("Wrote 49 users rows to jdbc:h2:file:" + dir + "/online"));
    // Every feature's metrics, and the enrichment's misses: u49 is the one user left out of the users table.
    assertThat(printed, containsString("ctr_5min/rows_out"));
    assertThat(printed, containsString("item_attribution_5min/row_micros"));
    assertThat(printed, containsString("EnrichWithDimensions/users_miss"));
    for (String view : List.of("ctr_by_segment_5min/premium", "ctr_by_category_5min/sports", "user_activity_5min/u0",
        "item_attribution_5min/item0", "user_sessions/u0")) {
      assertThat(printed, containsString("GET /features/" + view + " -> 200"));
    }
    assertThat(printed, containsString("GET /drift -> 200"));
    assertThat(printed, containsString("{\"monitors\":[{\"feature\":\"ctr_5min.ctr\""));
    assertThat(printed, containsString("== 2/4 Streaming 3,000 events through every pipeline on embedded Flink"));
    // The producer waited for the job's Kafka read to fetch, as it would be before traffic.
    assertThat(printed, containsString("The job reads clickstream_events after "));
    // Whether it kept up, timed: the figures vary with the machine, the verdict's form does not.
    assertThat(printed, matchesRegex("(?s).*\nPace: the first click_counts rows were servable \\d+\\.\\d s after"
        + " the first event: (kept up|behind) \\(target 2\\.0 s\\);\n      the job ended \\d+\\.\\d s after the"
        + " last event was produced, every window closed and written: (kept up|behind) \\(target 5\\.0 s\\)\\.\n.*"));
    // A training set over this demo's events only: the first demo's raw events were cleared with its rows.
    assertThat(printed, containsString("Wrote 1,000 rows of 23 columns to " + dir.resolve("demo/training.csv")));
    List<String> training = Files.readAllLines(dir.resolve("demo/training.csv"));
    assertThat(printed, containsString("  " + training.get(0) + "\n  " + training.get(1) + "\n"));
    assertThat(printed, containsString("GET /features/ctr_5min/u0 -> 200"));
    assertThat(printed, containsString("POST /features/ctr_5min -> 200"));
    assertThat(printed, containsString("\"status\":\"not_found\""));
    String onlineStore = "jdbc:h2:file:" + dir + "/online;AUTO_SERVER=TRUE";
    Map<String, Object> u0 = OnlineStore.forUrl(onlineStore).read(FeatureTables.CTR_5MIN, "u0").orElseThrow();
    assertThat(printed, containsString("\"impressions\":" + u0.get("impressions")));
    assertThat(
        u0.get("window_start") + " " + u0.get("impressions") + " " + u0.get("clicks"),
        equalTo(latestWindowOf("u0", Files.readAllLines(dir.resolve("demo/events.jsonl")))));
    long malformed = malformedIn(dir.resolve("demo/events.jsonl"));
    assertThat(printed, containsString("Dead letters: " + malformed + " in topic clickstream_events_dlq"));
    // Click counts three ways, as of the instant the pre-computed answer is for (the server's now): the same four
    // numbers each time.
    java.util.regex.Matcher precomputed =
        java.util.regex.Pattern.compile("GET /features/click_counts/u0 -> 200\n  (\\{.*\\})\n").matcher(printed);
    assertThat(precomputed.find(), equalTo(true));
    com.fasterxml.jackson.databind.JsonNode answer =
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(precomputed.group(1));
    String features = "\"features\":" + answer.get("features");
    long asOf = answer.get("as_of").asLong();
    for (String view : List.of("click_counts_on_demand/u0?as_of=" + asOf, "click_counts_tiled/u0?as_of=" + asOf)) {
      assertThat(printed, containsString("GET /features/" + view + " -> 200"));
    }
    assertThat(printed.split(java.util.regex.Pattern.quote(features), -1).length - 1, equalTo(3));
  }

  /** "window_start impressions clicks" of the user's latest 5-minute window, computed from the raw lines. */
  private static String latestWindowOf(String user, List<String> lines) throws Exception {
    ObjectMapper json = new ObjectMapper();
    java.util.TreeMap<Long, long[]> windows = new java.util.TreeMap<>();
    for (String line : lines) {
      if (!parses(line)) {
        continue;
      }
      JsonNode event = json.readTree(line);
      String type = event.get("event_type").asText();
      if (!event.get("user_id").asText().equals(user) || !(type.equals("impression") || type.equals("click"))) {
        continue;
      }
      long timestamp = event.get("timestamp").asLong();
      long[] counts = windows.computeIfAbsent(timestamp - timestamp % 300_000, start -> new long[2]);
      counts[type.equals("impression") ? 0 : 1]++;
    }
    Map.Entry<Long, long[]> latest = windows.lastEntry();
    return latest.getKey() + " " + latest.getValue()[0] + " " + latest.getValue()[1];
  }

  private static boolean parses(String line) {
    try {
      JsonNode node = new ObjectMapper().readTree(line);
      return node != null && node.isObject() && node.hasNonNull("user_id") && !node.get("user_id").asText().isEmpty()
          && node.get("timestamp") != null && node.get("timestamp").isIntegralNumber();
    } catch (Exception e) {
      return false;
    }
  }

  /** The records of a demo's recorded events that are not valid events: its dead letters. */
  private static long malformedIn(Path events) throws java.io.IOException {
    long malformed = 0;
    for (String line : Files.readAllLines(events)) {
      try {
        dev.clickstream.transforms.ClickEventDecoder.fromJson(line);
      } catch (dev.clickstream.transforms.InvalidEventException e) {
        malformed++;
      }
    }
    return malformed;
  }
}
