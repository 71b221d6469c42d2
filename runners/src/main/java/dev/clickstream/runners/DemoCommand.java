package dev.clickstream.runners;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.store.FeatureTable;
import dev.clickstream.store.FeatureTables;
import dev.clickstream.store.OnlineStore;
import io.javalin.Javalin;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code ./clickstream demo}: the main job on embedded defaults. Generates events, runs every pipeline on embedded
 * Flink into the H2 online store and the offline files, starts the feature server and fetches a few vectors over
 * HTTP: CTR, and click counts pre-computed, on demand and tiled, which agree.
 */
final class DemoCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream demo [options]",
          "",
          "0. clears what an earlier demo left in DATA (feature rows, offline files, dead letters)",
          "1. generates ~100k events (1% malformed on purpose) into DATA/demo/events.jsonl",
          "2. runs every pipeline ('run all') on embedded Flink into the H2 online store (DATA/online):",
          "   ctr_5min, click_counts, click_events and click_tiles, plus CTR rows in the offline store",
          "   (DATA/offline); malformed records go to DATA/dead-letters/all.jsonl",
          "3. starts the feature server and prints vectors fetched over HTTP: CTR, and click counts",
          "   pre-computed, on demand and tiled, as of the same time",
          "",
          "  --dataDir=DATA       where everything is written (default ./data)",
          "  --events=N           events to generate (default 100000)",
          "  --users=N            distinct users (default 1000)",
          "  --port=N             server port (default 8080; a free port is used if it is taken)",
          "  --keepServing=BOOL   keep the server up until Ctrl-C (default: true in a terminal, else false)");

  private static final Set<String> FLAGS = Set.of("events", "users", "port", "keepServing", "dataDir");

  private DemoCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    if (Flags.wantsHelp(args)) {
      out.println(HELP);
      return 0;
    }
    Flags flags = Flags.parse("demo", args, FLAGS);
    long events = flags.longValue("events", 100_000, 1, 100_000_000);
    long users = flags.longValue("users", 1_000, 1, 10_000_000);
    int port = (int) flags.longValue("port", 8080, 0, 65_535);
    boolean keepServing = flags.booleanValue("keepServing", System.console() != null);
    String dataDir = flags.string("dataDir", "./data");
    String eventsFile = dataDir + "/demo/events.jsonl";
    String deadLetters = dataDir + "/dead-letters/all.jsonl";
    String offlineStore = dataDir + "/offline";
    String onlineStore =
        dataDir.equals("./data")
            ? ClickstreamOptions.DEFAULT_ONLINE_STORE
            : "jdbc:h2:file:" + dataDir + "/online;AUTO_SERVER=TRUE";

    clearPreviousRun(onlineStore, offlineStore, deadLetters, out);

    out.println("== 1/3 Generating events");
    GenerateCommand.run(
        List.of("--output=" + eventsFile, "--events=" + events, "--users=" + users, "--malformedRatio=0.01"),
        out,
        err);

    out.println("\n== 2/3 Running every pipeline on embedded Flink");
    ClickstreamOptions options =
        RunCommand.options(
            "all",
            List.of(
                "--runner=FlinkRunner",
                "--input=" + eventsFile,
                "--onlineStore=" + onlineStore,
                "--offlineStore=" + offlineStore,
                "--deadLetter=" + deadLetters));
    RunCommand.printCounters(RunCommand.runWithHeartbeat(RunCommand.pipelineFor("all", options), out), out);

    out.println("\n== 3/3 Serving features");
    OnlineStore store = OnlineStore.forUrl(onlineStore);
    Javalin server = startOnFreePortIfTaken(store, port, out);
    String base = "http://localhost:" + server.port();
    try {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      for (String user : List.of("u0", "u1", "u42")) {
        show(client, get(base + "/features/ctr_5min/" + user), out);
      }
      out.println("\nClick counts three ways, as of u0's latest click:");
      Object eventTime = store.read(FeatureTables.CLICK_COUNTS, "u0").map(row -> row.get("event_time")).orElse(null);
      show(client, get(base + "/features/click_counts/u0"), out);
      if (eventTime != null) {
        show(client, get(base + "/features/click_counts_on_demand/u0?as_of=" + eventTime), out);
        show(client, get(base + "/features/click_counts_tiled/u0?as_of=" + eventTime), out);
      }
      show(
          client,
          HttpRequest.newBuilder(URI.create(base + "/features/ctr_5min"))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("[\"u0\",\"u7\",\"no-such-user\"]"))
              .build(),
          out);
      out.printf("%nThe feature server is at %s/ (index), %s/health%n", base, base);
      out.printf("  curl %s/features/ctr_5min/u0%n", base);
      out.printf("  curl %s/features/click_counts/u0%n", base);
      out.printf("  curl '%s/features/click_counts_on_demand/u0?as_of=%s'%n", base, eventTime);
      out.printf("  curl '%s/features/click_counts_tiled/u0?as_of=%s'%n", base, eventTime);
      out.printf("  curl -X POST -H 'Content-Type: application/json' -d '[\"u0\",\"u1\"]' %s/features/ctr_5min%n", base);
      out.printf("Dead letters: %s   Offline rows: %s/ctr_5min/%n", deadLetters, offlineStore);
      if (keepServing) {
        out.println("Serving until Ctrl-C. (./clickstream serve serves the same store later.)");
        CountDownLatch forever = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "stop-feature-server"));
        forever.await();
      } else {
        out.println("Not a terminal, so the demo stops here; ./clickstream serve serves the same store.");
      }
    } finally {
      if (!keepServing) {
        server.stop();
      }
    }
    return 0;
  }

  /**
   * The demo shows what one run computes. A stored row is only replaced by a newer window or a fuller pane, so
   * rows left by an earlier demo over other events would otherwise hide this run's.
   */
  private static void clearPreviousRun(String onlineStore, String offlineStore, String deadLetters, PrintStream out)
      throws IOException {
    OnlineStore store = OnlineStore.forUrl(onlineStore);
    List<FeatureTable> tables = new ArrayList<>(FeatureTables.all());
    for (WindowedAggregation feature : FeatureDefinitions.all()) {
      tables.add(feature.rawEventsTable());
      tables.add(feature.tilesTable());
    }
    tables.removeIf(Objects::isNull);
    for (FeatureTable table : tables) {
      store.clear(table);
    }
    Path offlineRows = Path.of(offlineStore, FeatureTables.CTR_5MIN.name());
    if (Files.exists(offlineRows)) {
      try (Stream<Path> paths = Files.walk(offlineRows)) {
        for (Path path : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
          Files.delete(path);
        }
      }
    }
    Files.deleteIfExists(Path.of(deadLetters));
    out.printf("Starting from nothing: cleared %s in the online store, %s and %s%n%n",
        tables.stream().map(FeatureTable::name).collect(Collectors.joining(", ")), offlineRows, deadLetters);
  }

  private static Javalin startOnFreePortIfTaken(OnlineStore store, int port, PrintStream out) {
    try {
      return ServeCommand.start(store, "127.0.0.1", port);
    } catch (UsageException e) {
      out.printf("Port %d is taken; using a free port instead.%n", port);
      return ServeCommand.start(store, "127.0.0.1", 0);
    }
  }

  private static HttpRequest get(String uri) {
    return HttpRequest.newBuilder(URI.create(uri)).GET().build();
  }

  private static void show(HttpClient client, HttpRequest request, PrintStream out)
      throws IOException, InterruptedException {
    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
    out.printf("%s %s -> %d%n  %s%n", request.method(), request.uri().getPath()
        + (request.uri().getQuery() == null ? "" : "?" + request.uri().getQuery()), response.statusCode(), response.body());
  }
}
