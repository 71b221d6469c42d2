package dev.clickstream.runners;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.io.WriteDeadLettersToKafka;
import dev.clickstream.pipelines.ClickCounter;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.pipelines.EventInput;
import dev.clickstream.pipelines.FeatureSelection;
import dev.clickstream.pipelines.FlinkMetricsReporter;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.transforms.WriteOfflineEvents;
import io.javalin.Javalin;
import org.apache.beam.sdk.PipelineResult;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code ./clickstream demo}: the main job on embedded defaults. Starts a Kafka broker in the JVM, runs every
 * pipeline in streaming mode on embedded Flink while a generator produces events to the topic, into the H2 online
 * store and the offline files; then starts the feature server and fetches a few vectors over HTTP: CTR, and click
 * counts pre-computed, on demand and tiled, which agree.
 */
final class DemoCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream demo [options]",
          "",
          "0. clears what an earlier demo left in DATA (feature rows, offline files), and writes the users and",
          "   items dimension tables (./clickstream dimensions) into the online store",
          "1. starts a real Kafka broker inside this process (from Kafka's test kit; its data is temporary)",
          "2. runs every pipeline ('run all --source=kafka') in streaming mode on embedded Flink and, once the",
          "   job reads the topic, produces ~100k events to it (1% malformed on purpose, event times over the",
          "   last hour)",
          "   (and recorded in DATA/demo/events.jsonl, for ./clickstream replay);",
          "   features land in the H2 online store (DATA/online) as events arrive: ctr_5min, click_counts,",
          "   click_events, click_tiles, ctr_by_segment_5min, ctr_by_category_5min, user_activity_5min,",
          "   item_attribution_5min, user_sessions, feature_drift, plus CTR rows in the offline store",
          "   (DATA/offline); malformed records go to the dead-letter topic. The job ends once it has read every",
          "   record and closed every window, and prints its metrics: elements in and out, failures and",
          "   processing times of every feature, hit and miss counts of the dimension tables",
          "3. starts the feature server and prints vectors fetched over HTTP: CTR, click counts pre-computed, on",
          "   demand and tiled as of the same time, CTR per segment and per category, user activity, click",
          "   attribution, sessions and CTR drift",
          "4. writes a small training set from the offline store (./clickstream training-data): a spine of users and",
          "   times from the recorded events, labelled by a click in the next 5 minutes, joined point-in-time with",
          "   " + DemoTrainingSet.VIEWS + " (DATA/demo/training.csv), and prints its first rows",
          "",
          "  --dataDir=DATA       where everything is written (default ./data)",
          "  --events=N           events to produce (default 100000)",
          "  --rate=N             events per second (default 10000)",
          "  --users=N            distinct users (default 1000)",
          "  --port=N             server port (default 8080; a free port is used if it is taken)",
          "  --trainingRows=N     spine rows of the training set (default 1000; 0 skips step 4)",
          "  --keepServing=BOOL   keep the server up until Ctrl-C (default: true in a terminal, else false)");

  private static final Set<String> FLAGS =
      Set.of("events", "rate", "users", "port", "keepServing", "dataDir", "trainingRows");
  private static final long PROGRESS_SECONDS = 2;
  /** How long the demo waits for its job to start reading before producing anyway. */
  private static final Duration JOB_START_TIMEOUT = Duration.ofMinutes(3);
  private static final Duration JOB_START_POLL = Duration.ofMillis(50);
  private static final long JOB_START_REPORT_SECONDS = 10;
  /** As many items as the generator's default, so every generated item has its dimension row (or is left out). */
  private static final int ITEMS = 200;
  /** What the demo runs: every feature. */
  private static final String DEMO_FEATURES = "all";
  /** An entity of the generated data for each entity field a feature may be keyed by. */
  private static final Map<String, String> EXAMPLE_ENTITIES =
      Map.of("user_id", "u0", "item_id", "item0", "user_segment", "premium", "item_category", "sports");

  private DemoCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    Flags flags = Flags.parse("demo", args, FLAGS);
    long events = flags.longValue("events", 100_000, 1, 100_000_000);
    double rate = flags.doubleValue("rate", 10_000, 1, 10_000_000);
    long users = flags.longValue("users", 1_000, 1, 10_000_000);
    int port = (int) flags.longValue("port", 8080, 0, 65_535);
    int trainingRows = (int) flags.longValue("trainingRows", 1_000, 0, 10_000_000);
    boolean keepServing = flags.booleanValue("keepServing", System.console() != null);
    String dataDir = flags.string("dataDir", "./data");
    String offlineStore = dataDir + "/offline";
    String eventsFile = dataDir + "/demo/events.jsonl";
    String onlineStore =
        dataDir.equals("./data")
            ? ClickstreamOptions.DEFAULT_ONLINE_STORE
            : "jdbc:h2:file:" + dataDir + "/online;AUTO_SERVER=TRUE";

    clearPreviousRun(onlineStore, offlineStore, out);
    OnlineStore store = OnlineStore.forUrl(onlineStore);
    DimensionsCommand.write(store, (int) users, ITEMS, out);

    out.println("== 1/4 Starting a Kafka broker in this process");
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0)) {
      String kafka = broker.bootstrapServers();
      KafkaTopics.ensure(kafka, ReadKafkaEvents.DEFAULT_TOPIC, WriteDeadLettersToKafka.DEFAULT_TOPIC);
      out.printf("Kafka is on %s: topics %s and %s%n", kafka, ReadKafkaEvents.DEFAULT_TOPIC,
          WriteDeadLettersToKafka.DEFAULT_TOPIC);

      out.printf(Locale.ROOT, "%n== 2/4 Streaming %,d events through every pipeline on embedded Flink%n", events);
      ClickstreamOptions options =
          RunCommand.options(
              DEMO_FEATURES,
              List.of(
                  "--runner=FlinkRunner",
                  "--source=kafka",
                  "--bootstrapServers=" + kafka,
                  "--maxRecords=" + events,
                  "--streaming=true",
                  "--onlineStore=" + onlineStore,
                  "--offlineStore=" + offlineStore,
                  // One subtask per step: on a laptop's few cores, two per step doubled the job's tasks and cost
                  // the demo a fifth more CPU, ending it 6 to 11 s after its producer instead of 4 to 5 s.
                  "--parallelism=1"));
      String previousJob = FlinkMetricsReporter.latestJob();
      CompletableFuture<PipelineResult> pipeline =
          CompletableFuture.supplyAsync(
              () -> RunCommand.runWithHeartbeat(RunCommand.pipelineFor(DEMO_FEATURES, options), out),
              runnable -> new Thread(runnable, "demo-pipeline").start());
      awaitJobStart(pipeline, previousJob, broker, out);
      ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(
          task -> {
            Thread thread = new Thread(task, "demo-progress");
            thread.setDaemon(true);
            return thread;
          });
      progress.scheduleAtFixedRate(
          () -> showProgress(store, out), PROGRESS_SECONDS, PROGRESS_SECONDS, TimeUnit.SECONDS);
      DemoPace pace = new DemoPace(System::nanoTime);
      PipelineResult result;
      try {
        GenerateCommand.run(
            // Event times cover the last hour, so every window of the click counts has something to say.
            List.of("--kafka=" + kafka, "--events=" + events, "--rate=" + rate, "--users=" + users,
                "--start=" + (System.currentTimeMillis() - 3_600_000L), "--span=1h", "--malformedRatio=0.01",
                // Most clicks follow the user's latest impression, so attribution has something to find.
                "--clickFollowsImpression=0.7",
                "--output=" + eventsFile),
            out,
            err,
            () -> pace.producingStarts(store, FeatureTables.CLICK_COUNTS));
        pace.producerEnded();
        out.println("Every event is in Kafka; the pipelines finish reading, close the last windows and stop.");
        result = pipeline.get();
      } finally {
        pace.jobEnded();
        progress.shutdownNow();
      }
      pace.print(FeatureTables.CLICK_COUNTS.name(), out);
      RunCommand.printCounters(result, out);
      showDeadLetters(kafka, out);
    }

    out.println("\n== 3/4 Serving features");
    Javalin server = startOnFreePortIfTaken(store, port, out);
    String base = "http://localhost:" + server.port();
    try {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      // Every view the job wrote, from the registry: one entity each, the generated data's first.
      FeatureSelection job = FeatureSelection.of(FeatureDefinitions.REGISTRY, List.of(DEMO_FEATURES), ClickCounter.STATEFUL);
      List<String> examples = new ArrayList<>();
      Object eventTime = null;
      for (FeatureDefinition feature : job.definitions()) {
        if (feature instanceof DriftMonitor) {
          continue; // served by /drift, below
        }
        String path = "/features/" + feature.name() + "/" + EXAMPLE_ENTITIES.get(feature.entityField());
        out.printf("%n%s (%s, per %s):%n", feature.name(), feature.kind().name().toLowerCase(Locale.ROOT),
            feature.entityField());
        String answer = show(client, get(base + path), out);
        examples.add("curl " + base + path);
        if (feature instanceof WindowedAggregation) {
          // The same counts computed at request time, as of the instant the pre-computed answer is for (the server
          // answers it as of its clock): they must agree.
          WindowedAggregation rolling = (WindowedAggregation) feature;
          JsonNode asOfNode = answer == null ? null : new ObjectMapper().readTree(answer).get("as_of");
          eventTime = asOfNode == null || asOfNode.isNull() ? null : asOfNode.asLong();
          for (String view : List.of(rolling.onDemandView(), rolling.tiledView())) {
            String asOf = "/features/" + view + "/" + EXAMPLE_ENTITIES.get(rolling.entityField()) + "?as_of=" + eventTime;
            if (eventTime != null) {
              show(client, get(base + asOf), out);
            }
            examples.add("curl '" + base + asOf + "'");
          }
        }
      }
      out.println("\nDrift (PSI and KS of each monitored feature's latest window against the windows before):");
      show(client, get(base + "/drift"), out);
      show(
          client,
          HttpRequest.newBuilder(URI.create(base + "/features/ctr_5min"))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("[\"u0\",\"u7\",\"no-such-user\"]"))
              .build(),
          out);
      out.printf("%nThe feature server is at %s/ (index), %s/health%n", base, base);
      examples.forEach(example -> out.println("  " + example));
      out.printf("  curl %s/drift%n", base);
      out.printf("  curl -X POST -H 'Content-Type: application/json' -d '[\"u0\",\"u1\"]' %s/features/ctr_5min%n", base);
      out.printf("Offline rows: %s/TABLE/date=YYYY-MM-DD/, raw events: %s/events/date=YYYY-MM-DD/%n", offlineStore,
          offlineStore);
      if (trainingRows > 0) {
        out.println("\n== 4/4 A training set from the offline store, point-in-time correct");
        DemoTrainingSet.build(Path.of(eventsFile), offlineStore, trainingRows, out);
      }
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
  private static void clearPreviousRun(String onlineStore, String offlineStore, PrintStream out)
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
    List<String> offlineDirectories = new ArrayList<>(tables.stream().map(FeatureTable::name).toList());
    offlineDirectories.add(WriteOfflineEvents.DIRECTORY);
    for (String directory : offlineDirectories) {
      Path offlineRows = Path.of(offlineStore, directory);
      if (Files.exists(offlineRows)) {
        try (Stream<Path> paths = Files.walk(offlineRows)) {
          for (Path path : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
            Files.delete(path);
          }
        }
      }
    }
    out.printf("Starting from nothing: cleared %s in the online store, and their offline rows and the raw events"
        + " under %s%n%n",
        tables.stream().map(FeatureTable::name).collect(Collectors.joining(", ")), offlineStore);
  }

  /**
   * Waits until the job reads Kafka, as a deployed job would be before traffic, so the demo shows the features keep
   * pace with the producer rather than Flink starting some hundred tasks: until the job's read has set up and its
   * consumer fetches from the topic (a Kafka consumer takes a second or so of polls before its first fetch). Gives up
   * waiting, and produces anyway, when the job has ended (its error is reported where the demo reads its result) or
   * after {@link #JOB_START_TIMEOUT}.
   */
  private static void awaitJobStart(
      CompletableFuture<PipelineResult> pipeline, String previousJob, EmbeddedKafkaBroker broker, PrintStream out)
      throws InterruptedException {
    out.println("Starting the job before producing: building it and deploying its tasks on embedded Flink ...");
    long started = System.nanoTime();
    long nextReport = JOB_START_REPORT_SECONDS;
    while (!FlinkMetricsReporter.hasStarted(previousJob, EventInput.KAFKA_STEP)
        || broker.fetchRequests(ReadKafkaEvents.DEFAULT_TOPIC) == 0) {
      long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
      if (pipeline.isDone()) {
        out.println("  the job ended before it read the topic; producing anyway (its error follows)");
        return;
      }
      if (seconds >= JOB_START_TIMEOUT.toSeconds()) {
        out.printf("  the job has not started reading after %d s; producing anyway%n", seconds);
        return;
      }
      if (seconds >= nextReport) {
        out.printf("  ... starting (%d s)%n", seconds);
        nextReport += JOB_START_REPORT_SECONDS;
      }
      Thread.sleep(JOB_START_POLL.toMillis());
    }
    out.printf(Locale.ROOT, "The job reads %s after %.1f s; producing now.%n", ReadKafkaEvents.DEFAULT_TOPIC,
        (System.nanoTime() - started) / 1e9);
  }

  /** One line while events stream: how far the features have got. */
  private static void showProgress(OnlineStore store, PrintStream out) {
    try {
      int users = store.readTable(FeatureTables.CLICK_COUNTS).size();
      String u0 = store.read(FeatureTables.CLICK_COUNTS, "u0")
          .map(row -> FeatureDefinitions.CLICK_COUNTS.featureColumns().stream()
              .map(column -> column + "=" + row.get(column))
              .collect(Collectors.joining(" ")))
          .orElse("no clicks yet");
      out.printf(Locale.ROOT, "  live: click_counts rows for %,d users; u0: %s%n", users, u0);
    } catch (RuntimeException e) {
      out.println("  live: the online store is not readable yet (" + e.getMessage() + ")");
    }
  }

  /** How many records went to the dead-letter topic, and why the first one did. */
  private static void showDeadLetters(String kafka, PrintStream out) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
    properties.put(ConsumerConfig.GROUP_ID_CONFIG, "demo-dead-letters");
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      TopicPartition partition = new TopicPartition(WriteDeadLettersToKafka.DEFAULT_TOPIC, 0);
      consumer.assign(List.of(partition));
      long count = consumer.endOffsets(List.of(partition)).get(partition);
      out.printf(Locale.ROOT, "Dead letters: %,d in topic %s", count, WriteDeadLettersToKafka.DEFAULT_TOPIC);
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofSeconds(5))) {
        out.printf(", the first: reason=%s detail=\"%s\" payload=%s%n",
            header(record, "reason"), header(record, "detail"), new String(record.value(), StandardCharsets.UTF_8));
        return;
      }
      out.println();
    }
  }

  private static String header(ConsumerRecord<byte[], byte[]> record, String key) {
    Header header = record.headers().lastHeader(key);
    return header == null ? "" : new String(header.value(), StandardCharsets.UTF_8);
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

  /** Sends {@code request}, prints it and its answer; the body when it is a 200, else null. */
  private static String show(HttpClient client, HttpRequest request, PrintStream out)
      throws IOException, InterruptedException {
    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
    out.printf("%s %s -> %d%n  %s%n", request.method(), request.uri().getPath()
        + (request.uri().getQuery() == null ? "" : "?" + request.uri().getQuery()), response.statusCode(), response.body());
    return response.statusCode() == 200 ? response.body() : null;
  }
}
