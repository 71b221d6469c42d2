package dev.clickstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.io.DurationOption;
import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.io.WriteDeadLettersToKafka;
import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.pipelines.FeaturePipeline;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.pipelines.FeatureSelection;
import dev.clickstream.pipelines.EmbeddedFlink;
import dev.clickstream.runners.DimensionsCommand;
import dev.clickstream.runners.EventGenerator;
import dev.clickstream.runners.FlinkRest;
import dev.clickstream.runners.Flags;
import dev.clickstream.runners.KafkaEventProducer;
import dev.clickstream.runners.KafkaTopics;
import dev.clickstream.runners.RunCommand;
import dev.clickstream.runners.ServeCommand;
import dev.clickstream.runners.UsageException;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.transforms.ClickEventDecoder;
import io.javalin.Javalin;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;

/**
 * {@code ./clickstream bench freshness}: how long an event takes to become servable, for every view of the pipeline
 * it runs ({@code all} by default: every feature on) on streaming embedded Flink.
 *
 * <p>Everything runs in this JVM: a Kafka broker, the online store's pool, the feature server and the pipeline (in
 * a background thread: unbounded and cancelled at the end for {@code all}, since a bounded read closes no window
 * before its end; bounded for {@code click-counts}, ending by itself). The main thread produces events at the target
 * rate, stamped with the wall clock ({@link EventClock}). Two kinds of view, two measures:
 *
 * <ul>
 *   <li>Views a click updates at once (the click counts: pre-computed, on demand, tiled): every {@code --probeEvery}
 *       the producer sends a probe click for one of a few dedicated users; a poller GETs each view for the probe
 *       users with a click outstanding, and a probe's latency is the first answer whose {@code event_time} reached
 *       the probe's, less the moment it was handed to the producer.
 *   <li>Views that wait for the watermark (windows, sessions, drift): a row cannot be written before the watermark
 *       passes its window's end (a session's end plus the gap), and the watermark trails the newest event by {@code
 *       --maxOutOfOrderness}. A row's latency is the poll that first saw it in the store less the moment the producer
 *       reached that due time: the pipeline's own delay, which the window's length does not hide. The store is
 *       polled with one count per table and window ({@code --watchEvery}).
 * </ul>
 */
final class FreshnessBench {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream bench freshness [options] [-- BEAM_OPTIONS]",
          "",
          "Event-to-servable latency of every view of a pipeline on streaming embedded Flink, at a steady rate:",
          "1. starts a Kafka broker in this process, clears the pipeline's tables in the online store (and writes",
          "   the users and items dimensions when it enriches), starts the feature server",
          "2. runs the pipeline with --source=kafka --streaming=true in a background thread: with all, an",
          "   unbounded read as in production (a bounded read, --maxRecords, has no watermark before its end on",
          "   Flink, so no window would close while it runs), cancelled at the end; with click-counts, --maxRecords",
          "   = every record the bench produces, so the job ends by itself",
          "3. sends probe clicks until the pipeline answers (Flink startup), then events at --rate with event",
          "   time = now, and every --probeEvery one probe click for one of --probeUsers dedicated users; with",
          "   sessions, when the run is long enough, --probeUsers more users click once each, early enough for",
          "   their sessions to come due within the measured period",
          "4. measures each view:",
          "   - click_counts, click_counts_on_demand, click_counts_tiled: a poller GETs the view for each probe",
          "     user with a click outstanding; latency = first answer showing the probe - the probe's send",
          "   - every windowed view, user_sessions and feature_drift: a row can be written once the watermark",
          "     passes its window's end (a session's: its last event + the gap), which trails the newest event by",
          "     --maxOutOfOrderness (default 30s of event time); latency = the poll that first saw the row in the",
          "     store - the moment the producer reached that due time (rows due within the measured period)",
          "5. prints p50/p90/p99/max per view and whether p99 <= --target, then the click counts' details (the",
          "   time to the writer and in it); writes it all to --report",
          "",
          "  --pipeline=NAME        all (default: every feature) or click-counts (the rolling counts alone)",
          "  --rate=N               events per second besides the probes (default 10000)",
          "  --seconds=N            measured seconds (default 330 with all: at least one 5-minute window comes due;",
          "                         sessions need 1835 or more: a gap, the out-of-orderness and 5 s; 60 with",
          "                         click-counts), after",
          "                         --warmup=N seconds (default 10) and before --coolDown=N seconds at the same",
          "                         rate (default 20 with all, 0 with click-counts): the time a row due at the",
          "                         end of the measured period has to show up",
          "  --users=N              distinct users of the other events, Zipf-skewed (default 10000)",
          "  --probeUsers=N         dedicated probe users (default 20: each clicks every 2 s)",
          "  --probeEvery=DURATION  one probe click this often, over the probe users in turn (default 100ms)",
          "  --pollEvery=DURATION   pause between the HTTP poller's rounds (default 1ms)",
          "  --watchEvery=DURATION  pause between the store poller's rounds (default 50ms: the resolution of the",
          "                         windowed views' figures)",
          "  --target=DURATION      the p99 target of every view (default 1s with all, 500ms with click-counts)",
          "  --bufferTimeout=DURATION  Flink's network buffer timeout, execution.buffer-timeout.interval, for",
          "                         this run (default: Flink's, 100ms); written to a Flink configuration",
          "                         directory with what --flinkConfDir (after --) holds",
          "  --unbounded=BOOL       read Kafka without --maxRecords, as a production job does, and cancel the",
          "                         job through Flink's REST API at the end (default true with all; false with",
          "                         click-counts: the job reads exactly what the bench produces and ends)",
          "  --onlineStore=URL      default jdbc:h2:file:DATA/bench/freshness/online;AUTO_SERVER=TRUE, or",
          "                         jdbc:postgresql://HOST:PORT/DB?user=U (the bench clears the pipeline's tables)",
          "  --dataDir=DATA         default ./data (the offline store goes to DATA/bench/freshness/offline)",
          "  --report=FILE          default DATA/bench/freshness-PIPELINE-RATE.md",
          "",
          "After a lone --, Beam and Flink runner options for the pipeline (see ./clickstream run all --help),",
          "such as the knobs of latency (docs/benchmarks.md has their effect):",
          "  ./clickstream bench freshness --bufferTimeout=10ms -- --maxBundleTimeMills=20",
          "The bench sets --runner, --source, --bootstrapServers, --topic, --deadLetterTopic, --maxRecords,",
          "--streaming, --onlineStore and --counter itself.");

  private static final Set<String> FLAGS =
      Set.of("pipeline", "rate", "seconds", "warmup", "users", "probeUsers", "probeEvery", "pollEvery",
          "watchEvery", "target", "onlineStore", "dataDir", "report", "bufferTimeout", "unbounded", "coolDown");
  /** Options the bench sets on the pipeline; passing them after -- would measure something else. */
  private static final Set<String> CONTROLLED_OPTIONS =
      Set.of("runner", "flinkMaster", "source", "bootstrapServers", "topic", "deadLetterTopic", "maxRecords",
          "streaming", "onlineStore", "counter", "features");
  static final String ALL = "all";
  static final String CLICK_COUNTS = "click-counts";
  /** The rolling feature the probe clicks go to, in each of its views. */
  private static final WindowedAggregation PROBED = FeatureDefinitions.CLICK_COUNTS;
  private static final String PROBE_USER_PREFIX = "probe-";
  private static final String SESSION_PROBE_PREFIX = "session-probe-";
  private static final String FILLER_USER = "filler";
  /** Items of the generated events and of the items dimension, as in the streaming benches. */
  private static final int ITEMS = 200;
  /** How long Flink may take to start and answer the first probe. */
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);
  /** How long the last probes may take to show up once everything is produced. */
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration FINISH_TIMEOUT = Duration.ofMinutes(5);
  /** A session probe clicks this long before its session must come due, so that it comes due within the run. */
  private static final Duration SESSION_PROBE_MARGIN = Duration.ofSeconds(5);
  private static final long SLICE_SECONDS = 10;
  private static final String FLINK_CONF_FILE = "flink-conf.yaml";
  private static final ObjectMapper JSON = new ObjectMapper();

  private FreshnessBench() {}

  /** What one run does, from the flags. */
  private static final class Settings {
    String pipeline;
    double rate;
    long seconds;
    long warmupSeconds;
    long coolDownSeconds;
    int users;
    int probeUsers;
    long probeEveryNanos;
    long pollEveryNanos;
    long watchEveryNanos;
    long targetMillis;
    /** Flink's execution.buffer-timeout.interval in ms, or -1 for Flink's default. */
    long bufferTimeoutMillis = -1;
    boolean unbounded;
    String onlineStore;
    Path dataDir;
    Path report;
    /** What follows --, without --flinkConfDir. */
    List<String> beamArgs;
    /** The --flinkConfDir that followed --, or null. */
    String flinkConfDir;

    /** Background events of the full-rate phase. */
    long backgroundEvents() {
      return Math.max(1, Math.round(rate * producingSeconds()));
    }

    /** The most probes the full-rate phase sends (a few more than its length asks, for a producer that lags). */
    long maxMainProbes() {
      return producingSeconds() * 1_000_000_000L / probeEveryNanos + 10;
    }

    /** How long the full-rate phase produces: warm-up, measured period and cool-down. */
    long producingSeconds() {
      return warmupSeconds + seconds + coolDownSeconds;
    }

    /** The most probes sent while waiting for the pipeline to answer. */
    long maxStartupProbes() {
      return STARTUP_TIMEOUT.toNanos() / probeEveryNanos + 1;
    }

    /** Every record the bench produces; what is not used for probes is made up with filler at the end. */
    long totalRecords() {
      return maxStartupProbes() + backgroundEvents() + maxMainProbes() + probeUsers;
    }
  }

  /** A view the probe clicks are read from over HTTP: the click counts, pre-computed, on demand or tiled. */
  record ProbeView(String name, String pattern, boolean asOf) {}

  /**
   * A view whose rows wait for the watermark: its table, the TIME column its windows are told apart by (the
   * feature's as-of column) and how long after that time the watermark must pass before the row can be written.
   */
  record WatchedView(String name, String kind, FeatureTable table, String timeColumn, long dueAfterMillis) {}

  /** The views of the pipeline, from its selection of the registry. */
  static final class Views {
    final List<ProbeView> probed = new ArrayList<>();
    final List<WatchedView> watched = new ArrayList<>();

    static Views of(FeatureSelection selection) {
      Views views = new Views();
      for (FeatureDefinition definition : selection.definitions()) {
        List<FeatureTable> tables = selection.tablesOf(definition);
        if (definition.equals(PROBED)) {
          if (tables.contains(PROBED.precomputedTable())) {
            views.probed.add(new ProbeView(PROBED.name(), "rolling, pre-computed", false));
          }
          if (tables.contains(PROBED.rawEventsTable())) {
            views.probed.add(new ProbeView(PROBED.onDemandView(), "rolling, on demand", true));
          }
          if (tables.contains(PROBED.tilesTable())) {
            views.probed.add(new ProbeView(PROBED.tiledView(), "rolling, tiled", true));
          }
        } else if (!(definition instanceof WindowedAggregation)) {
          long dueAfter = definition instanceof SessionAggregation session ? session.gapMillis() : 0;
          views.watched.add(new WatchedView(definition.table().name(),
              definition.kind().name().toLowerCase(Locale.ROOT), definition.table(), definition.asOfColumn(),
              dueAfter));
        }
      }
      return views;
    }

    /** The longest a row waits past its time: how early a session probe must click to come due in the run. */
    long longestDueAfterMillis() {
      return watched.stream().mapToLong(WatchedView::dueAfterMillis).max().orElse(0);
    }

    boolean hasSessions() {
      return watched.stream().anyMatch(view -> view.dueAfterMillis() > 0);
    }
  }

  /** One probe click in one view: when it was sent, and when the server first showed it there. */
  private static final class Probe {
    final ProbeView view;
    final String user;
    final long eventTime;
    final long sentNanos;
    final boolean counted;
    volatile long visibleNanos;
    /** The row's updated_at when the poller saw this probe's own row, else -1. */
    volatile long updatedAt = -1;

    Probe(ProbeView view, String user, long eventTime, long sentNanos, boolean counted) {
      this.view = view;
      this.user = user;
      this.eventTime = eventTime;
      this.sentNanos = sentNanos;
      this.counted = counted;
    }

    long latencyNanos() {
      return visibleNanos - sentNanos;
    }
  }

  static int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    int separator = args.indexOf("--");
    List<String> own = separator < 0 ? args : args.subList(0, separator);
    if (Flags.wantsHelp(own)) {
      out.println(HELP);
      return 0;
    }
    Settings settings = settings(own, separator < 0 ? List.of() : args.subList(separator + 1, args.size()));
    OnlineStore store = ServeCommand.onlineStore(settings.onlineStore);

    out.println("== 1/4 Starting a Kafka broker in this process, the online store and the feature server");
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0)) {
      String kafka = broker.bootstrapServers();
      KafkaTopics.ensure(kafka, ReadKafkaEvents.DEFAULT_TOPIC, WriteDeadLettersToKafka.DEFAULT_TOPIC);
      // The embedded cluster's REST API, on a port the bench chooses: the embedded runner only runs a streaming job
      // attached, so an unbounded job is cancelled from the outside. Null for a bounded run, which ends by itself.
      Integer restPort = settings.unbounded ? freePort() : null;
      FeaturePipelineOptions options =
          RunCommand.options(settings.pipeline, pipelineArgs(settings, kafka, flinkConfDir(settings, restPort)));
      FeatureSelection selection = FeaturePipeline.selection(FeatureDefinitions.REGISTRY, options);
      Views views = Views.of(selection);
      for (FeatureTable table : selection.tables()) {
        store.clear(table);
      }
      if (selection.definitions().stream().anyMatch(FeatureSelection::readsEnrichedFields)) {
        // Enrichment reads the users and items tables from the online store, as in the demo.
        DimensionsCommand.write(store, settings.users, ITEMS, out);
      }
      Javalin server = ServeCommand.start(store, "127.0.0.1", 0);
      try {
        Run run = new Run(settings, views, options, kafka, server, store, restPort, out);
        return run.measure(err);
      } finally {
        server.stop();
      }
    }
  }

  /** The pipeline's options: the bench's own, then what followed --. */
  private static List<String> pipelineArgs(Settings settings, String kafka, String confDir) {
    List<String> pipelineArgs = new ArrayList<>(List.of(
        "--runner=FlinkRunner",
        "--source=kafka",
        "--bootstrapServers=" + kafka,
        "--topic=" + ReadKafkaEvents.DEFAULT_TOPIC,
        "--deadLetterTopic=" + WriteDeadLettersToKafka.DEFAULT_TOPIC,
        "--streaming=true",
        "--onlineStore=" + settings.onlineStore));
    if (!hasOption(settings.beamArgs, "offlineStore")) {
      pipelineArgs.add("--offlineStore=" + settings.dataDir.resolve(Path.of("bench", "freshness", "offline")));
    }
    if (!settings.unbounded) {
      pipelineArgs.add("--maxRecords=" + settings.totalRecords());
      if (hasOption(settings.beamArgs, "checkpointingInterval")
          && !hasOption(settings.beamArgs, "shutdownSourcesAfterIdleMs")) {
        // With checkpointing, Beam keeps finished sources alive forever by default: the job would never end.
        pipelineArgs.add("--shutdownSourcesAfterIdleMs=0");
      }
    }
    if (confDir != null) {
      pipelineArgs.add("--flinkConfDir=" + confDir);
    }
    pipelineArgs.addAll(settings.beamArgs);
    return pipelineArgs;
  }

  /** One measured run: the pipeline in the background, the producer on this thread, two pollers. */
  private static final class Run {
    private final Settings settings;
    private final Views views;
    private final FeaturePipelineOptions options;
    private final String kafka;
    private final Javalin server;
    private final OnlineStore store;
    private final Integer restPort;
    private final PrintStream out;

    Run(Settings settings, Views views, FeaturePipelineOptions options, String kafka, Javalin server,
        OnlineStore store, Integer restPort, PrintStream out) {
      this.settings = settings;
      this.views = views;
      this.options = options;
      this.kafka = kafka;
      this.server = server;
      this.store = store;
      this.restPort = restPort;
      this.out = out;
    }

    int measure(PrintStream err) throws Exception {
      Pipeline graph = RunCommand.pipelineFor(settings.pipeline, options);
      long maxOutOfOrdernessMillis = options.getMaxOutOfOrderness().toDuration().getMillis();
      out.printf(Locale.ROOT, "Kafka on %s; store %s; server on port %d; pipeline options: %s%n",
          kafka, store.redactedUrl(), server.port(), describe(settings));
      out.printf(Locale.ROOT, "Views probed per click: %s; views watched for their due rows: %s%n",
          views.probed.stream().map(ProbeView::name).toList(),
          views.watched.stream().map(WatchedView::name).toList());

      out.printf(Locale.ROOT, "%n== 2/4 Starting the %s pipeline on streaming embedded Flink (%s)%n", settings.pipeline,
          settings.unbounded
              ? "unbounded, cancelled at the end"
              : String.format(Locale.ROOT, "%,d records to read", settings.totalRecords()));
      EventClock clock = new EventClock();
      CompletableFuture<PipelineResult> pipeline =
          CompletableFuture.supplyAsync(
              // Attached: run() returns when the job ends, by itself or cancelled.
              () -> settings.unbounded ? graph.run() : RunCommand.runWithHeartbeat(graph, out),
              runnable -> new Thread(runnable, "freshness-pipeline").start());

      List<String> probeUsers = new ArrayList<>();
      for (int i = 0; i < settings.probeUsers; i++) {
        probeUsers.add(PROBE_USER_PREFIX + i);
      }
      Poller poller = new Poller("http://127.0.0.1:" + server.port() + "/features/", views.probed, probeUsers,
          settings.pollEveryNanos);
      Watcher watcher = new Watcher(store, views.watched, clock.startMillis(), settings.watchEveryNanos);
      Thread pollerThread = new Thread(poller, "freshness-poller");
      Thread watcherThread = new Thread(watcher, "freshness-watcher");
      pollerThread.setDaemon(true);
      watcherThread.setDaemon(true);
      pollerThread.start();
      watcherThread.start();

      Production production;
      PipelineResult result = null;
      try {
        try {
          // Progress lines of the producer would interleave with ours; its failures still surface from close().
          try (KafkaEventProducer producer =
              new KafkaEventProducer(kafka, ReadKafkaEvents.DEFAULT_TOPIC, 0, 0,
                  new PrintStream(OutputStream.nullOutputStream()))) {
            production =
                new Producer(settings, views, clock, maxOutOfOrdernessMillis, producer, poller, pipeline, out)
                    .produce();
          }
          out.printf(Locale.ROOT, "Every record is in Kafka; waiting for the last probes (at most %d s)%n",
              DRAIN_TIMEOUT.toSeconds());
          poller.awaitDrained(DRAIN_TIMEOUT, pipeline);
        } finally {
          poller.stop();
          pollerThread.join(TimeUnit.SECONDS.toMillis(5));
        }

        if (settings.unbounded) {
          out.printf("%n== 4/4 Cancelling the pipeline (Flink REST API on port %d)%n", restPort);
          new FlinkRest(EmbeddedFlink.LOOPBACK + ":" + restPort).cancelRunningJobs();
          try {
            await(pipeline, FINISH_TIMEOUT);
          } catch (RuntimeException e) {
            out.println("The job was cancelled; an unbounded run has no final counters.");
          }
        } else {
          out.printf("%n== 4/4 Waiting for the pipeline to read its last records and finish%n");
          result = await(pipeline, FINISH_TIMEOUT);
        }
      } finally {
        watcher.stop();
        watcherThread.join(TimeUnit.SECONDS.toMillis(5));
      }
      // Rows the end of the input flushed; only those due within the measured period count.
      watcher.pollOnce();
      if (result != null) {
        RunCommand.printCounters(result, out);
      }

      Results results = new Results(settings, views, clock, maxOutOfOrdernessMillis, production, poller, watcher);
      String text = results.report(store.redactedUrl());
      out.println();
      out.println(text);
      Files.createDirectories(settings.report.toAbsolutePath().getParent());
      Files.writeString(settings.report, text, StandardCharsets.UTF_8);
      out.printf("Report written to %s%n", settings.report);
      if (results.lost > 0) {
        err.printf(Locale.ROOT, "error: %,d probes never showed up at the server within %d s of the last record%n",
            results.lost, DRAIN_TIMEOUT.toSeconds());
        return 1;
      }
      return 0;
    }
  }

  /**
   * A Flink configuration directory for this run when it needs one: what {@code --flinkConfDir} holds, plus the
   * buffer timeout and, for an unbounded run, the REST port the bench cancels the job through. Null otherwise.
   */
  private static String flinkConfDir(Settings settings, Integer restPort) throws IOException {
    if (settings.bufferTimeoutMillis < 0 && restPort == null) {
      return settings.flinkConfDir;
    }
    StringBuilder conf = new StringBuilder();
    String file = FLINK_CONF_FILE;
    if (settings.flinkConfDir != null) {
      Path dir = Path.of(settings.flinkConfDir);
      // Flink 1.19 reads config.yaml first and falls back to the legacy flink-conf.yaml.
      file = Files.exists(dir.resolve("config.yaml")) ? "config.yaml" : FLINK_CONF_FILE;
      if (!Files.exists(dir.resolve(file))) {
        throw new UsageException("bench freshness: --flinkConfDir=" + dir + " holds neither config.yaml nor "
            + FLINK_CONF_FILE);
      }
      conf.append(Files.readString(dir.resolve(file), StandardCharsets.UTF_8)).append('\n');
    }
    if (settings.bufferTimeoutMillis >= 0) {
      conf.append("execution.buffer-timeout.interval: ").append(settings.bufferTimeoutMillis).append(" ms\n");
    }
    if (restPort != null) {
      conf.append("rest.bind-address: 127.0.0.1\nrest.address: 127.0.0.1\n");
      conf.append("rest.bind-port: ").append(restPort).append('\n');
    }
    Path dir = settings.dataDir.resolve(Path.of("bench", "freshness", "flink-conf")).toAbsolutePath();
    Files.createDirectories(dir);
    Files.deleteIfExists(dir.resolve("config.yaml"));
    Files.deleteIfExists(dir.resolve(FLINK_CONF_FILE));
    Files.writeString(dir.resolve(file), conf.toString(), StandardCharsets.UTF_8);
    return dir.toString();
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static Settings settings(List<String> own, List<String> beamArgs) {
    Flags flags = Flags.parse("bench freshness", own, FLAGS);
    Settings settings = new Settings();
    settings.pipeline = flags.string("pipeline", ALL);
    if (!settings.pipeline.equals(ALL) && !settings.pipeline.equals(CLICK_COUNTS)) {
      throw new UsageException("bench freshness: --pipeline=" + settings.pipeline + " is not one it runs: the probes"
          + " are clicks read back from the click counts, so use all (every feature) or click-counts");
    }
    boolean all = settings.pipeline.equals(ALL);
    settings.rate = flags.doubleValue("rate", 10_000, 1, 1_000_000);
    settings.seconds = flags.longValue("seconds", all ? 330 : 60, 1, 7_200);
    settings.warmupSeconds = flags.longValue("warmup", 10, 0, 3_600);
    settings.coolDownSeconds = flags.longValue("coolDown", all ? 20 : 0, 0, 3_600);
    settings.users = (int) flags.longValue("users", 10_000, 1, 10_000_000);
    settings.probeUsers = (int) flags.longValue("probeUsers", 20, 1, 1_000);
    settings.probeEveryNanos = duration(flags, "probeEvery", "100ms", 1);
    settings.pollEveryNanos = duration(flags, "pollEvery", "1ms", 0);
    settings.watchEveryNanos = duration(flags, "watchEvery", "50ms", 1);
    settings.targetMillis = TimeUnit.NANOSECONDS.toMillis(duration(flags, "target", all ? "1s" : "500ms", 1));
    if (flags.has("bufferTimeout")) {
      settings.bufferTimeoutMillis = TimeUnit.NANOSECONDS.toMillis(duration(flags, "bufferTimeout", "100ms", 0));
    }
    settings.unbounded = flags.booleanValue("unbounded", all);
    String dataDir = flags.string("dataDir", "./data");
    settings.dataDir = Path.of(dataDir);
    settings.onlineStore =
        flags.string(
            "onlineStore",
            "jdbc:h2:file:" + Path.of(dataDir, "bench", "freshness", "online").toAbsolutePath() + ";AUTO_SERVER=TRUE");
    settings.report = Path.of(flags.string("report",
        dataDir + "/bench/freshness-" + settings.pipeline + "-" + Math.round(settings.rate) + ".md"));
    List<String> passed = new ArrayList<>();
    for (String arg : beamArgs) {
      String name = arg.startsWith("--") ? arg.substring(2).split("=", 2)[0] : "";
      if (name.equals("flinkConfDir")) {
        settings.flinkConfDir = arg.substring(arg.indexOf('=') + 1);
        continue;
      }
      passed.add(arg);
      if (name.isEmpty()) {
        throw new UsageException(
            "bench freshness: after --, Beam options look like --name=value; got '" + arg + "'");
      }
      if (CONTROLLED_OPTIONS.contains(name)) {
        throw new UsageException(
            "bench freshness: --" + name + " is set by the bench (it runs the pipeline from its own Kafka broker on"
                + " streaming embedded Flink, stamping events by its own clock); the bench's own flags are before --,"
                + " see --help");
      }
    }
    settings.beamArgs = List.copyOf(passed);
    return settings;
  }

  /** A duration flag in nanoseconds, at least {@code minMillis}. */
  private static long duration(Flags flags, String name, String defaultValue, long minMillis) {
    String text = flags.string(name, defaultValue);
    long millis;
    try {
      millis = DurationOption.parseFlag(name, text).getMillis();
    } catch (IllegalArgumentException e) {
      throw new UsageException("bench freshness: " + e.getMessage());
    }
    if (millis < minMillis) {
      throw new UsageException(
          "bench freshness: --" + name + "=" + text + " must be at least " + minMillis + " ms");
    }
    return TimeUnit.MILLISECONDS.toNanos(millis);
  }

  private static boolean hasOption(List<String> beamArgs, String name) {
    return beamArgs.stream().anyMatch(arg -> arg.equals("--" + name) || arg.startsWith("--" + name + "="));
  }

  /** The pipeline options the run adds to the launcher's, as given. */
  private static String describe(Settings settings) {
    List<String> parts = new ArrayList<>(settings.beamArgs);
    if (settings.flinkConfDir != null) {
      parts.add("--flinkConfDir=" + settings.flinkConfDir);
    }
    if (settings.bufferTimeoutMillis >= 0) {
      parts.add("(bench) --bufferTimeout=" + settings.bufferTimeoutMillis + "ms");
    }
    if (settings.unbounded) {
      parts.add("(bench) --unbounded=true");
    }
    return parts.isEmpty() ? "the launcher's defaults" : String.join(" ", parts);
  }

  private static <T> T await(CompletableFuture<T> future, Duration timeout) throws Exception {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
    } catch (TimeoutException e) {
      throw new IllegalStateException("the pipeline did not finish within " + timeout.toSeconds() + " s", e);
    }
  }

  /** Fails at once, with its cause, if the pipeline has already ended: nothing would read what is produced. */
  private static void checkRunning(CompletableFuture<PipelineResult> pipeline) throws Exception {
    if (pipeline.isDone()) {
      await(pipeline, Duration.ZERO);
      throw new IllegalStateException("the pipeline finished before the bench produced every record");
    }
  }

  /** What the producer did: the probes it sent and the full-rate phase's figures. */
  private static final class Production {
    final List<Probe> probes = new ArrayList<>();
    long startupProbes;
    double startupSeconds;
    /** The measured period, on System.nanoTime's scale: rows due within it are measured. */
    long measuredFromNanos;
    long measuredToNanos;
    long measuredRecords;
    double measuredSeconds;
    long sessionProbes;
    /** CPU time of this JVM (broker, pipeline, server, producer and pollers) and GC time while measuring. */
    double cpuSeconds;
    long gcMillis;
    long fillers;
  }

  /** Sends the probes and the events, paced, on the calling thread. */
  private static final class Producer {
    private final Settings settings;
    private final Views views;
    private final EventClock clock;
    private final long maxOutOfOrdernessMillis;
    private final KafkaEventProducer producer;
    private final Poller poller;
    private final CompletableFuture<PipelineResult> pipeline;
    private final PrintStream out;
    private final Production production = new Production();
    private long sent;
    private long probesSent;
    private long nextProbeNanos;
    private long nextSessionProbeNanos = Long.MAX_VALUE;
    private long sessionProbeEveryNanos;

    Producer(
        Settings settings, Views views, EventClock clock, long maxOutOfOrdernessMillis, KafkaEventProducer producer,
        Poller poller, CompletableFuture<PipelineResult> pipeline, PrintStream out) {
      this.settings = settings;
      this.views = views;
      this.clock = clock;
      this.maxOutOfOrdernessMillis = maxOutOfOrdernessMillis;
      this.producer = producer;
      this.poller = poller;
      this.pipeline = pipeline;
      this.out = out;
    }

    Production produce() throws Exception {
      // 1. Probes alone until one shows up: Flink has started, and reads and writes.
      long started = System.nanoTime();
      while (!poller.anyVisible()) {
        checkRunning(pipeline);
        if (production.startupProbes == settings.maxStartupProbes()) {
          throw new IllegalStateException(
              "no probe reached the server within " + STARTUP_TIMEOUT.toSeconds() + " s of the pipeline's start");
        }
        sendProbe(System.nanoTime(), false);
        production.startupProbes++;
        TimeUnit.NANOSECONDS.sleep(settings.probeEveryNanos);
      }
      production.startupSeconds = (System.nanoTime() - started) / 1e9;
      out.printf(Locale.ROOT, "The first probe reached the server after %.1f s (%d probes sent)%n",
          production.startupSeconds, production.startupProbes);

      // 2. Full rate: warm-up, then the measured period.
      out.printf(Locale.ROOT, "%n== 3/4 Producing %,.0f events/s with event time = now for %d s (%d s warm-up, %d s"
              + " measured, %d s cool-down), one probe click every %d ms over %d probe users%n",
          settings.rate, settings.producingSeconds(), settings.warmupSeconds, settings.seconds,
          settings.coolDownSeconds, TimeUnit.NANOSECONDS.toMillis(settings.probeEveryNanos), settings.probeUsers);
      EventGenerator.Settings events = new EventGenerator.Settings();
      events.events = settings.backgroundEvents();
      events.users = settings.users;
      events.jitterMillis = 0;
      events.startMillis = clock.nowMillis();
      events.spanMillis = Math.max(1, (long) (events.events / settings.rate * 1000));
      long fullRateStart = System.nanoTime();
      long measuredFrom = fullRateStart + TimeUnit.SECONDS.toNanos(settings.warmupSeconds);
      long measuredTo = measuredFrom + TimeUnit.SECONDS.toNanos(settings.seconds);
      production.measuredFromNanos = measuredFrom;
      scheduleSessionProbes(measuredFrom, measuredTo);
      long[] background = new long[1];
      long[] sentAtMeasureStart = {-1};
      long[] cpuAtMeasureStart = {processCpuNanos()};
      long[] gcAtMeasureStart = {gcMillis()};
      long[] nextProgress = {fullRateStart + TimeUnit.SECONDS.toNanos(SLICE_SECONDS)};
      nextProbeNanos = fullRateStart;
      long mainProbeLimit = probesSent + settings.maxMainProbes();
      new EventGenerator(events).generate(record -> {
        try {
          long due = fullRateStart + (long) (background[0] / settings.rate * 1e9);
          long now;
          while ((now = System.nanoTime()) < due) {
            sendDueProbes(now, measuredFrom, mainProbeLimit);
            long wake = Math.min(due, nextSessionProbeNanos);
            if (probesSent < mainProbeLimit) {
              wake = Math.min(wake, nextProbeNanos);
            }
            TimeUnit.NANOSECONDS.sleep(Math.max(1, wake - now));
          }
          if (sentAtMeasureStart[0] < 0 && now >= measuredFrom) {
            sentAtMeasureStart[0] = sent;
            cpuAtMeasureStart[0] = processCpuNanos();
            gcAtMeasureStart[0] = gcMillis();
          }
          sendDueProbes(now, measuredFrom, mainProbeLimit);
          ClickEvent event = record.event;
          event.setTimestamp(clock.nowMillis());
          send(event.getUserId(), ClickEventDecoder.toAvro(event));
          background[0]++;
          if (now >= nextProgress[0]) {
            nextProgress[0] += TimeUnit.SECONDS.toNanos(SLICE_SECONDS);
            checkRunning(pipeline);
            out.printf(Locale.ROOT, "  %3d s: %,d events and %,d probes sent, %,.0f events/s; %d probes outstanding%n",
                TimeUnit.NANOSECONDS.toSeconds(now - fullRateStart), background[0], probesSent,
                background[0] / ((now - fullRateStart) / 1e9), poller.outstanding());
          }
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
          }
          throw new IllegalStateException(e.getMessage(), e);
        }
      });
      long end = System.nanoTime();
      production.measuredToNanos = measuredTo;
      production.measuredSeconds = Math.max(0, end - measuredFrom) / 1e9;
      production.measuredRecords = sentAtMeasureStart[0] < 0 ? 0 : sent - sentAtMeasureStart[0];

      // 3. Filler, so that the pipeline reads exactly --maxRecords and ends.
      production.cpuSeconds = (processCpuNanos() - cpuAtMeasureStart[0]) / 1e9;
      production.gcMillis = gcMillis() - gcAtMeasureStart[0];
      production.fillers = settings.unbounded ? 0 : settings.totalRecords() - sent;
      for (long i = 0; i < production.fillers; i++) {
        send(FILLER_USER, event("filler-" + i, FILLER_USER, "page_view", clock.nowMillis()));
      }
      return production;
    }

    /**
     * With sessions, one click per session probe user, spread over the measured period up to the last moment whose
     * session still comes due within it (its gap and the out-of-orderness later, by the event clock, plus a margin).
     */
    private void scheduleSessionProbes(long measuredFrom, long measuredTo) {
      if (!views.hasSessions()) {
        return;
      }
      long wait = TimeUnit.MILLISECONDS.toNanos(views.longestDueAfterMillis() + maxOutOfOrdernessMillis);
      long last = measuredTo - wait - SESSION_PROBE_MARGIN.toNanos();
      if (last < measuredFrom) {
        out.printf(Locale.ROOT, "No session can come due within the measured period (a session is written %d s after"
                + " its last click): user_sessions is not measured; --seconds=%d would measure it%n",
            TimeUnit.NANOSECONDS.toSeconds(wait),
            TimeUnit.NANOSECONDS.toSeconds(wait + SESSION_PROBE_MARGIN.toNanos()));
        return;
      }
      nextSessionProbeNanos = measuredFrom;
      sessionProbeEveryNanos = settings.probeUsers > 1 ? (last - measuredFrom) / (settings.probeUsers - 1) : 1;
    }

    private void sendDueProbes(long now, long measuredFrom, long limit) throws InterruptedException {
      if (now >= nextProbeNanos && probesSent < limit) {
        sendProbe(now, now >= measuredFrom);
        nextProbeNanos += settings.probeEveryNanos;
        if (nextProbeNanos < now) {
          // The producer fell behind: the next probe is due one interval from now, not in a burst.
          nextProbeNanos = now + settings.probeEveryNanos;
        }
      }
      if (now >= nextSessionProbeNanos) {
        String user = SESSION_PROBE_PREFIX + production.sessionProbes;
        send(user, event("session-probe-click-" + production.sessionProbes, user, "click", clock.nowMillis()));
        production.sessionProbes++;
        nextSessionProbeNanos = production.sessionProbes < settings.probeUsers
            ? nextSessionProbeNanos + sessionProbeEveryNanos
            : Long.MAX_VALUE;
      }
    }

    private void sendProbe(long now, boolean counted) throws InterruptedException {
      String user = PROBE_USER_PREFIX + (probesSent % settings.probeUsers);
      long eventTime = clock.nowMillis();
      byte[] value = event("probe-click-" + probesSent, user, "click", eventTime);
      long sentNanos = System.nanoTime();
      for (ProbeView view : views.probed) {
        Probe probe = new Probe(view, user, eventTime, sentNanos, counted);
        poller.expect(probe);
        production.probes.add(probe);
      }
      send(user, value);
      probesSent++;
    }

    /** One of the bench's own events, as the Avro bytes of a message. */
    private static byte[] event(String eventId, String user, String type, long eventTime) {
      return ClickEventDecoder.toAvro(ClickEvent.newBuilder()
          .setEventId(eventId)
          .setUserId(user)
          .setEventType(type)
          .setTimestamp(eventTime)
          .build());
    }

    /** Sends {@code value} keyed by its user, as every message of the topic is. */
    private void send(String user, byte[] value) throws InterruptedException {
      producer.send(user.getBytes(StandardCharsets.UTF_8), value);
      sent++;
    }
  }

  /**
   * GETs each probed view for the probe users with a probe outstanding there, and notes when each probe shows: when
   * the answer's {@code event_time} (the user's latest click, as of {@code as_of} for a view computed at request
   * time) reaches the probe's.
   */
  private static final class Poller implements Runnable {
    private final HttpClient client =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final List<ProbeView> views;
    private final List<String> users;
    private final long pauseNanos;
    private final Map<ProbeView, Map<String, ConcurrentLinkedDeque<Probe>>> outstanding = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<Long> getNanos = new ConcurrentLinkedQueue<>();
    private final AtomicLong failures = new AtomicLong();
    private volatile String lastFailure;
    private volatile boolean anyVisible;
    private volatile boolean stopped;

    Poller(String base, List<ProbeView> views, List<String> users, long pauseNanos) {
      this.base = base;
      this.views = views;
      this.users = users;
      this.pauseNanos = pauseNanos;
      for (ProbeView view : views) {
        Map<String, ConcurrentLinkedDeque<Probe>> perUser = new LinkedHashMap<>();
        for (String user : users) {
          perUser.put(user, new ConcurrentLinkedDeque<>());
        }
        outstanding.put(view, perUser);
      }
    }

    /** Before the probe is sent, so that the poller never misses its row. */
    void expect(Probe probe) {
      outstanding.get(probe.view).get(probe.user).addLast(probe);
    }

    boolean anyVisible() {
      return anyVisible;
    }

    int outstanding() {
      return outstanding.values().stream()
          .flatMap(perUser -> perUser.values().stream())
          .mapToInt(ConcurrentLinkedDeque::size)
          .sum();
    }

    void stop() {
      stopped = true;
    }

    void awaitDrained(Duration timeout, CompletableFuture<PipelineResult> pipeline) throws Exception {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (outstanding() > 0 && System.nanoTime() < deadline) {
        if (pipeline.isDone()) {
          await(pipeline, Duration.ZERO);
        }
        TimeUnit.MILLISECONDS.sleep(10);
      }
    }

    @Override
    public void run() {
      while (!stopped) {
        boolean polled = false;
        for (ProbeView view : views) {
          for (String user : users) {
            ConcurrentLinkedDeque<Probe> waiting = outstanding.get(view).get(user);
            if (!waiting.isEmpty()) {
              poll(view, user, waiting);
              polled = true;
            }
          }
        }
        long pause = polled ? pauseNanos : Math.max(pauseNanos, TimeUnit.MILLISECONDS.toNanos(1));
        if (pause > 0) {
          try {
            TimeUnit.NANOSECONDS.sleep(pause);
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    }

    private void poll(ProbeView view, String user, ConcurrentLinkedDeque<Probe> waiting) {
      Probe newest = waiting.peekLast();
      if (newest == null) {
        return;
      }
      // A view computed at request time answers as of the newest probe: its latest click at or before it.
      String url = base + view.name() + "/" + user + (view.asOf() ? "?as_of=" + newest.eventTime : "");
      HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build();
      try {
        long start = System.nanoTime();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        long now = System.nanoTime();
        getNanos.add(now - start);
        if (response.statusCode() != 200) {
          return; // 404 until the user's first click is written
        }
        JsonNode row = JSON.readTree(response.body());
        long eventTime = row.path(WindowedAggregation.EVENT_TIME).asLong(Long.MIN_VALUE);
        long updatedAt = row.path(WindowedAggregation.UPDATED_AT).asLong(-1);
        for (Probe probe = waiting.peekFirst(); probe != null && probe.eventTime <= eventTime;
            probe = waiting.peekFirst()) {
          probe.visibleNanos = now;
          if (probe.eventTime == eventTime) {
            probe.updatedAt = updatedAt;
          }
          waiting.pollFirst();
          anyVisible = true;
        }
      } catch (IOException e) {
        failures.incrementAndGet();
        lastFailure = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stopped = true;
      }
    }
  }

  /** Counts each watched table's rows per window (or session) end, so that each row's first sighting is known. */
  private static final class Watcher implements Runnable {
    private final OnlineStore store;
    private final List<WatchedView> views;
    private final long fromMillis;
    private final long pauseNanos;
    private final Map<WatchedView, RowArrivals> arrivals = new LinkedHashMap<>();
    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile String lastFailure;
    private volatile boolean stopped;

    Watcher(OnlineStore store, List<WatchedView> views, long fromMillis, long pauseNanos) {
      this.store = store;
      this.views = views;
      this.fromMillis = fromMillis;
      this.pauseNanos = pauseNanos;
      views.forEach(view -> arrivals.put(view, new RowArrivals()));
    }

    void stop() {
      stopped = true;
    }

    @Override
    public void run() {
      while (!stopped && !views.isEmpty()) {
        pollOnce();
        try {
          TimeUnit.NANOSECONDS.sleep(pauseNanos);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** One round over the watched tables. */
    void pollOnce() {
      for (WatchedView view : views) {
        long start = System.nanoTime();
        try {
          arrivals.get(view).observe(start, store.rowsPerTime(view.table(), view.timeColumn(), fromMillis));
        } catch (RuntimeException e) {
          failures.incrementAndGet();
          lastFailure = view.name() + ": " + e.getMessage();
        }
      }
      rounds.incrementAndGet();
    }
  }

  /** The figures of one run and their report. */
  private static final class Results {
    private final Settings settings;
    private final Views views;
    private final EventClock clock;
    private final long maxOutOfOrdernessMillis;
    private final Production production;
    private final Poller poller;
    private final Watcher watcher;
    /** The counted probes that showed up, per view. */
    private final Map<ProbeView, List<Probe>> measured = new LinkedHashMap<>();
    final long lost;
    private final long measureStartNanos;

    Results(Settings settings, Views views, EventClock clock, long maxOutOfOrdernessMillis, Production production,
        Poller poller, Watcher watcher) {
      this.settings = settings;
      this.views = views;
      this.clock = clock;
      this.maxOutOfOrdernessMillis = maxOutOfOrdernessMillis;
      this.production = production;
      this.poller = poller;
      this.watcher = watcher;
      views.probed.forEach(view -> measured.put(view, new ArrayList<>()));
      long lostProbes = 0;
      long firstCounted = Long.MAX_VALUE;
      for (Probe probe : production.probes) {
        if (probe.visibleNanos == 0) {
          lostProbes++;
        } else if (probe.counted) {
          measured.get(probe.view).add(probe);
          firstCounted = Math.min(firstCounted, probe.sentNanos);
        }
      }
      this.lost = lostProbes;
      this.measureStartNanos = firstCounted;
    }

    /** The shortest measured period in which a session probe comes due. */
    private long sessionSeconds() {
      return TimeUnit.MILLISECONDS.toSeconds(views.longestDueAfterMillis() + maxOutOfOrdernessMillis)
          + SESSION_PROBE_MARGIN.toSeconds();
    }

    /** When the producer reached the moment a row of {@code view} with time {@code time} could first be written. */
    private long dueNanos(WatchedView view, long time) {
      return clock.nanosWhen(time + view.dueAfterMillis() + maxOutOfOrdernessMillis);
    }

    String report(String store) {
      double rate = production.measuredRecords / Math.max(production.measuredSeconds, 1e-9);
      StringBuilder text = new StringBuilder();
      text.append(String.format(Locale.ROOT,
          "Freshness benchmark: every view of the %s pipeline on streaming embedded Flink (%s read), %,.0f events/s"
              + " for %d s after %d s of warm-up and before %d s of cool-down, %d probe users, one probe every %d"
              + " ms%n",
          settings.pipeline, settings.unbounded ? "unbounded" : "bounded", settings.rate, settings.seconds,
          settings.warmupSeconds, settings.coolDownSeconds, settings.probeUsers, TimeUnit.NANOSECONDS.toMillis(settings.probeEveryNanos)));
      text.append(String.format(Locale.ROOT, "Store: %s; %s; %d cores, Java %s; %s%n",
          store, os(), Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
          Instant.now()));
      text.append(String.format(Locale.ROOT, "Pipeline options: %s%n", describe(settings)));
      text.append(String.format(Locale.ROOT,
          "Flink answered the first probe after %.1f s; %s. After the warm-up, this JVM used %.2f of %d cores"
              + " (broker, pipeline, server, producer, pollers) and spent %,d ms in GC; it produced %,.0f events/s%n%n",
          production.startupSeconds,
          settings.unbounded
              ? "the unbounded job was cancelled at the end"
              : String.format(Locale.ROOT, "%,d filler records closed the run", production.fillers),
          production.cpuSeconds / Math.max(production.measuredSeconds, 1e-9),
          Runtime.getRuntime().availableProcessors(), production.gcMillis, rate));

      text.append(String.format(Locale.ROOT,
          "| view | kind | latency from | measured | p50 ms | p90 ms | p99 ms | max ms | p99 <= %d ms |%n"
              + "|---|---|---|---:|---:|---:|---:|---:|---|%n", settings.targetMillis));
      for (ProbeView view : views.probed) {
        long[] latency = sorted(measured.get(view), Probe::latencyNanos);
        text.append(viewRow(view.name(), view.pattern(), "the probe click's send",
            String.format(Locale.ROOT, "%,d probes", latency.length), latency));
      }
      for (WatchedView view : views.watched) {
        RowArrivals.Latencies latencies = watcher.arrivals.get(view).latencies(
            time -> dueNanos(view, time), production.measuredFromNanos, production.measuredToNanos);
        String dueAt = view.dueAfterMillis() > 0
            ? String.format(Locale.ROOT, "%s + %s + %s", view.timeColumn(), human(view.dueAfterMillis()),
                human(maxOutOfOrdernessMillis))
            : String.format(Locale.ROOT, "%s + %s", view.timeColumn(), human(maxOutOfOrdernessMillis));
        text.append(viewRow(view.name(), view.kind(), "due: " + dueAt,
            String.format(Locale.ROOT, "%,d rows of %,d %s", latencies.sortedNanos().length, latencies.times(),
                view.dueAfterMillis() > 0 ? "sessions" : "windows"),
            latencies.sortedNanos()));
      }
      text.append(String.format(Locale.ROOT,
          "%nA probed view's latency runs from the probe click's send to the first answer showing it (an HTTP"
              + " GET).%n"));
      if (!views.watched.isEmpty()) {
        text.append(String.format(Locale.ROOT,
            "A watched view's runs from the moment the producer's clock reached the row's due time (the watermark"
                + " trails the newest event by --maxOutOfOrderness) to the first of the store poller's rounds that"
                + " saw the row, one every %d ms (%,d rounds).%s%n",
            TimeUnit.NANOSECONDS.toMillis(settings.watchEveryNanos), watcher.rounds.get(),
            settings.unbounded ? "" : " A bounded read has no watermark before its end on Flink: its windowed rows"
                + " are all written when the input ends, so only an unbounded run measures them."));
      }
      if (views.hasSessions()) {
        text.append(production.sessionProbes > 0
            ? String.format(Locale.ROOT, "user_sessions is measured on %,d session probe users, each clicking once"
                + " during the measured period (the other users never pause for a whole gap).%n",
                production.sessionProbes)
            : String.format(Locale.ROOT, "user_sessions: no session comes due within %d measured seconds (a session"
                + " is written a gap and the out-of-orderness after its last event); --seconds=%d measures it.%n",
                settings.seconds, sessionSeconds()));
      }
      if (watcher.failures.get() > 0) {
        text.append(String.format(Locale.ROOT, "%nFailed store polls: %,d, the last: %s%n",
            watcher.failures.get(), watcher.lastFailure));
      }

      ProbeView primary = views.probed.get(0);
      List<Probe> primaryProbes = measured.get(primary);
      List<Probe> ownRow = new ArrayList<>();
      for (Probe probe : primaryProbes) {
        if (probe.updatedAt >= 0) {
          ownRow.add(probe);
        }
      }
      long[] toWriter = sorted(ownRow, probe -> TimeUnit.MILLISECONDS.toNanos(probe.updatedAt - probe.eventTime));
      long[] inWriter =
          sorted(ownRow, probe -> probe.latencyNanos() - TimeUnit.MILLISECONDS.toNanos(probe.updatedAt - probe.eventTime));
      long[] gets = poller.getNanos.stream().mapToLong(Long::longValue).sorted().toArray();
      text.append(String.format(Locale.ROOT,
          "%n%s: where the time goes, over the %,d probes whose own row the poller read (updated_at is when the"
              + " writer took the row; a probe whose row its user's next probe replaced first counts in the totals"
              + " only):%n%n| part | p50 ms | p90 ms | p99 ms | max ms |%n|---|---:|---:|---:|---:|%n",
          primary.name(), ownRow.size()));
      text.append(row("send -> writer took the row", toWriter));
      text.append(row("writer took the row -> served", inWriter));
      text.append(row("one poll (HTTP GET), any probed view", gets));
      text.append(String.format(Locale.ROOT, "%nThe poller sent %,d GETs in the whole run.%n", gets.length));
      text.append(String.format(Locale.ROOT,
          "%n%s by time since the measured period began:%n%n| from s | probes | p50 ms | p99 ms | max ms |%n"
              + "|---:|---:|---:|---:|---:|%n", primary.name()));
      for (long slice = 0; slice * SLICE_SECONDS < settings.seconds + SLICE_SECONDS; slice++) {
        long from = measureStartNanos + TimeUnit.SECONDS.toNanos(slice * SLICE_SECONDS);
        long to = from + TimeUnit.SECONDS.toNanos(SLICE_SECONDS);
        List<Probe> inSlice = new ArrayList<>();
        for (Probe probe : primaryProbes) {
          if (probe.sentNanos >= from && probe.sentNanos < to) {
            inSlice.add(probe);
          }
        }
        if (!inSlice.isEmpty()) {
          long[] nanos = sorted(inSlice, Probe::latencyNanos);
          text.append(String.format(Locale.ROOT, "| %d | %,d | %.0f | %.0f | %.0f |%n",
              slice * SLICE_SECONDS, nanos.length, millis(nanos, 0.50), millis(nanos, 0.99), millis(nanos, 1.0)));
        }
      }
      if (poller.failures.get() > 0) {
        text.append(String.format(Locale.ROOT, "%nFailed polls: %,d, the last: %s%n",
            poller.failures.get(), poller.lastFailure));
      }
      if (lost > 0) {
        text.append(String.format(Locale.ROOT, "%nProbes that never showed up: %,d%n", lost));
      }
      return text.toString();
    }

    private String viewRow(String view, String kind, String from, String count, long[] latency) {
      if (latency.length == 0) {
        return String.format(Locale.ROOT, "| %s | %s | %s | none due in the measured period | | | | | |%n",
            view, kind, from);
      }
      double p99 = millis(latency, 0.99);
      return String.format(Locale.ROOT, "| %s | %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %s |%n",
          view, kind, from, count, millis(latency, 0.50), millis(latency, 0.90), p99, millis(latency, 1.0),
          p99 <= settings.targetMillis ? "met" : "missed");
    }

    private static String row(String part, long[] nanos) {
      return String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f |%n", part, millis(nanos, 0.50),
          millis(nanos, 0.90), millis(nanos, 0.99), millis(nanos, 1.0));
    }

    private static long[] sorted(List<Probe> probes, ToLongFunction<Probe> nanos) {
      long[] values = probes.stream().mapToLong(nanos).toArray();
      Arrays.sort(values);
      return values;
    }
  }

  /** A duration of whole seconds or minutes as 30s or 30m, else in ms. */
  static String human(long millis) {
    if (millis % 60_000 == 0 && millis > 0) {
      return millis / 60_000 + "m";
    }
    return millis % 1_000 == 0 ? millis / 1_000 + "s" : millis + "ms";
  }

  private static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean
        ? ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime()
        : 0;
  }

  private static long gcMillis() {
    long millis = 0;
    for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
      millis += Math.max(0, collector.getCollectionTime());
    }
    return millis;
  }

  private static String os() {
    return ManagementFactory.getOperatingSystemMXBean().getName() + " "
        + ManagementFactory.getOperatingSystemMXBean().getArch();
  }

  /** The {@code quantile} of sorted nanoseconds, in milliseconds (nearest rank); NaN when there are none. */
  static double millis(long[] sortedNanos, double quantile) {
    if (sortedNanos.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.min(sortedNanos.length - 1, Math.ceil(quantile * sortedNanos.length) - 1);
    return sortedNanos[Math.max(0, index)] / 1e6;
  }
}
