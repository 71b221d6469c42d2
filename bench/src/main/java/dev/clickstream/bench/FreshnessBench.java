package dev.clickstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.io.DurationOption;
import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.io.WriteDeadLettersToKafka;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.runners.EventGenerator;
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
 * {@code ./clickstream bench freshness}: how long a click takes from the producer to the feature server's answer,
 * for the rolling click counts ({@code click-counts}, table {@code click_counts}) on streaming embedded Flink.
 *
 * <p>Everything runs in this JVM: a Kafka broker, the online store's pool, the feature server and the pipeline (in
 * a background thread, reading exactly as many records as the bench produces, so that the job ends by itself). The
 * main thread produces events at the target rate with event time = now; every {@code --probeEvery} it also sends a
 * probe click for one of a few dedicated users and notes the send time. A poller thread GETs {@code
 * /features/click_counts/{probe}} for the probe users that have a click outstanding and notes, for each probe, the
 * first answer whose {@code event_time} reached the probe's timestamp. The latency of a probe is that answer's
 * arrival less the send time, so it includes the producer's linger, the broker, the source, the shuffle to the
 * rolling counter, the writer's batching and upsert, and one HTTP read; the poll interval bounds its resolution.
 */
final class FreshnessBench {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream bench freshness [options] [-- BEAM_OPTIONS]",
          "",
          "Event-to-servable latency of the rolling click counts (click-counts -> click_counts) on streaming",
          "embedded Flink:",
          "1. starts a Kafka broker in this process, clears click_counts in the online store, starts the server",
          "2. runs the click-counts pipeline with --source=kafka --streaming=true in a background thread,",
          "   --maxRecords = every record the bench produces, so the job ends by itself",
          "3. sends probe clicks until the pipeline answers (Flink startup), then events at --rate with event",
          "   time = now, and every --probeEvery one probe click for one of --probeUsers dedicated users; a",
          "   poller GETs /features/click_counts/{probe} and notes when event_time reaches each probe",
          "4. latency = first answer showing the probe - the time the probe was handed to the producer; the",
          "   first --warmup of full rate is not counted",
          "5. prints p50/p90/p99/max, count, the achieved produce rate and whether p99 <= --target, split into",
          "   'to writer' (send -> the writer took the row: its updated_at) and 'in writer' (batching, upsert,",
          "   the read); writes them to --report",
          "",
          "  --rate=N               events per second besides the probes (default 10000)",
          "  --seconds=N            measured seconds (default 60), after --warmup=N seconds (default 10)",
          "  --users=N              distinct users of the other events, Zipf-skewed (default 10000)",
          "  --probeUsers=N         dedicated probe users (default 20: each clicks every 2 s)",
          "  --probeEvery=DURATION  one probe click this often, over the probe users in turn (default 100ms)",
          "  --pollEvery=DURATION   pause between the poller's rounds (default 1ms)",
          "  --target=DURATION      the p99 target (default 500ms)",
          "  --bufferTimeout=DURATION  Flink's network buffer timeout, execution.buffer-timeout.interval, for",
          "                         this run (default: Flink's, 100ms); written to a Flink configuration",
          "                         directory with what --flinkConfDir (after --) holds",
          "  --unbounded=BOOL       read Kafka without --maxRecords, as a production job does, and cancel the",
          "                         job through Flink's REST API at the end (default false: the job reads",
          "                         exactly what the bench produces and ends by itself)",
          "  --onlineStore=URL      default jdbc:h2:file:DATA/bench/freshness/online;AUTO_SERVER=TRUE, or",
          "                         jdbc:postgresql://HOST:PORT/DB?user=U (the bench clears click_counts there)",
          "  --dataDir=DATA         default ./data",
          "  --report=FILE          default DATA/bench/freshness-RATE.md",
          "",
          "After a lone --, Beam and Flink runner options for the pipeline (see ./clickstream run click-counts",
          "--help), such as the knobs of latency (docs/benchmarks.md has their effect):",
          "  ./clickstream bench freshness --bufferTimeout=10ms -- --maxBundleTimeMills=20 --objectReuse=true",
          "      --fasterCopy=true",
          "The bench sets --runner, --source, --bootstrapServers, --topic, --deadLetterTopic, --maxRecords,",
          "--streaming, --onlineStore and --counter itself.");

  private static final Set<String> FLAGS =
      Set.of("rate", "seconds", "warmup", "users", "probeUsers", "probeEvery", "pollEvery", "target", "onlineStore",
          "dataDir", "report", "bufferTimeout", "unbounded");
  /** Options the bench sets on the pipeline; passing them after -- would measure something else. */
  private static final Set<String> CONTROLLED_OPTIONS =
      Set.of("runner", "flinkMaster", "source", "bootstrapServers", "topic", "deadLetterTopic", "maxRecords",
          "streaming", "onlineStore", "counter");
  private static final String PIPELINE = "click-counts";
  private static final WindowedAggregation FEATURE = FeatureDefinitions.CLICK_COUNTS;
  private static final String PROBE_USER_PREFIX = "probe-";
  private static final String FILLER_USER = "filler";
  /** How long Flink may take to start and answer the first probe. */
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);
  /** How long the last probes may take to show up once everything is produced. */
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration FINISH_TIMEOUT = Duration.ofMinutes(5);
  private static final long SLICE_SECONDS = 10;
  private static final String FLINK_CONF_FILE = "flink-conf.yaml";
  private static final ObjectMapper JSON = new ObjectMapper();

  private FreshnessBench() {}

  /** What one run does, from the flags. */
  private static final class Settings {
    double rate;
    long seconds;
    long warmupSeconds;
    int users;
    int probeUsers;
    long probeEveryNanos;
    long pollEveryNanos;
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
      return Math.max(1, Math.round(rate * (warmupSeconds + seconds)));
    }

    /** The most probes the full-rate phase sends (a few more than its length asks, for a producer that lags). */
    long maxMainProbes() {
      return (warmupSeconds + seconds) * 1_000_000_000L / probeEveryNanos + 10;
    }

    /** The most probes sent while waiting for the pipeline to answer. */
    long maxStartupProbes() {
      return STARTUP_TIMEOUT.toNanos() / probeEveryNanos + 1;
    }

    /** Every record the bench produces; what is not used for probes is made up with filler at the end. */
    long totalRecords() {
      return maxStartupProbes() + backgroundEvents() + maxMainProbes();
    }
  }

  /** One probe click: when it was sent, and when the server first showed it. */
  private static final class Probe {
    final String user;
    final long eventTime;
    final long sentNanos;
    final boolean counted;
    volatile long visibleNanos;
    /** The row's updated_at when the poller saw this probe's own row, else -1. */
    volatile long updatedAt = -1;

    Probe(String user, long eventTime, long sentNanos, boolean counted) {
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
    FeatureTable table = FEATURE.precomputedTable();

    out.println("== 1/4 Starting a Kafka broker in this process, the online store and the feature server");
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0)) {
      String kafka = broker.bootstrapServers();
      KafkaTopics.ensure(kafka, ReadKafkaEvents.DEFAULT_TOPIC, WriteDeadLettersToKafka.DEFAULT_TOPIC);
      store.clear(table);
      Javalin server = ServeCommand.start(store, "127.0.0.1", 0);
      try {
        return measure(settings, kafka, server, store, out, err);
      } finally {
        server.stop();
      }
    }
  }

  private static int measure(
      Settings settings, String kafka, Javalin server, OnlineStore store, PrintStream out, PrintStream err)
      throws Exception {
    long total = settings.totalRecords();
    List<String> pipelineArgs = new ArrayList<>(List.of(
        "--runner=FlinkRunner",
        "--source=kafka",
        "--bootstrapServers=" + kafka,
        "--topic=" + ReadKafkaEvents.DEFAULT_TOPIC,
        "--deadLetterTopic=" + WriteDeadLettersToKafka.DEFAULT_TOPIC,
        "--streaming=true",
        "--onlineStore=" + settings.onlineStore));
    if (!settings.unbounded) {
      pipelineArgs.add("--maxRecords=" + total);
      if (hasOption(settings.beamArgs, "checkpointingInterval")
          && !hasOption(settings.beamArgs, "shutdownSourcesAfterIdleMs")) {
        // With checkpointing, Beam keeps finished sources alive forever by default: the job would never end.
        pipelineArgs.add("--shutdownSourcesAfterIdleMs=0");
      }
    }
    FlinkRest rest = settings.unbounded ? new FlinkRest(freePort()) : null;
    String confDir = flinkConfDir(settings, rest);
    if (confDir != null) {
      pipelineArgs.add("--flinkConfDir=" + confDir);
    }
    pipelineArgs.addAll(settings.beamArgs);
    ClickstreamOptions options = RunCommand.options(PIPELINE, pipelineArgs);
    Pipeline graph = RunCommand.pipelineFor(PIPELINE, options);
    out.printf(Locale.ROOT, "Kafka on %s; store %s; server on port %d; pipeline options: %s%n",
        kafka, store.redactedUrl(), server.port(), describe(settings));

    out.printf(Locale.ROOT, "%n== 2/4 Starting the %s pipeline on streaming embedded Flink (%s)%n", PIPELINE,
        settings.unbounded
            ? "unbounded, cancelled at the end"
            : String.format(Locale.ROOT, "%,d records to read", total));
    CompletableFuture<PipelineResult> pipeline =
        CompletableFuture.supplyAsync(
            // Attached: run() returns when the job ends, by itself or cancelled.
            () -> settings.unbounded ? graph.run() : RunCommand.runWithHeartbeat(graph, out),
            runnable -> new Thread(runnable, "freshness-pipeline").start());

    List<String> probeUsers = new ArrayList<>();
    for (int i = 0; i < settings.probeUsers; i++) {
      probeUsers.add(PROBE_USER_PREFIX + i);
    }
    Poller poller =
        new Poller("http://127.0.0.1:" + server.port() + "/features/" + FEATURE.precomputedTable().name() + "/",
            probeUsers, settings.pollEveryNanos);
    Thread pollerThread = new Thread(poller, "freshness-poller");
    pollerThread.setDaemon(true);
    pollerThread.start();

    Production production;
    try {
      // Progress lines of the producer would interleave with ours; its failures still surface from close().
      try (KafkaEventProducer producer =
          new KafkaEventProducer(kafka, ReadKafkaEvents.DEFAULT_TOPIC, 0, 0,
              new PrintStream(OutputStream.nullOutputStream()))) {
        production = new Producer(settings, producer, poller, pipeline, out).produce();
      }
      out.printf(Locale.ROOT, "Every record is in Kafka; waiting for the last probes (at most %d s)%n",
          DRAIN_TIMEOUT.toSeconds());
      poller.awaitDrained(DRAIN_TIMEOUT, pipeline);
    } finally {
      poller.stop();
      pollerThread.join(TimeUnit.SECONDS.toMillis(5));
    }

    if (settings.unbounded) {
      out.printf("%n== 4/4 Cancelling the pipeline (Flink REST API on port %d)%n", rest.port);
      rest.cancelRunningJobs();
      try {
        await(pipeline, FINISH_TIMEOUT);
      } catch (RuntimeException e) {
        out.println("The job was cancelled; an unbounded run has no final counters.");
      }
    } else {
      out.printf("%n== 4/4 Waiting for the pipeline to read its last records and finish%n");
      PipelineResult result = await(pipeline, FINISH_TIMEOUT);
      RunCommand.printCounters(result, out);
    }

    Results results = new Results(settings, production, poller);
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

  /**
   * A Flink configuration directory for this run when it needs one: what {@code --flinkConfDir} holds, plus the
   * buffer timeout and, for an unbounded run, the REST port the bench cancels the job through. Null otherwise.
   */
  private static String flinkConfDir(Settings settings, FlinkRest rest) throws IOException {
    if (settings.bufferTimeoutMillis < 0 && rest == null) {
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
    if (rest != null) {
      conf.append("rest.bind-address: 127.0.0.1\nrest.address: 127.0.0.1\n");
      conf.append("rest.bind-port: ").append(rest.port).append('\n');
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

  /**
   * The REST API of the embedded Flink cluster, on a port the bench chose: the embedded runner only runs a
   * streaming job attached, so an unbounded job is cancelled from the outside.
   */
  private static final class FlinkRest {
    final int port;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    FlinkRest(int port) {
      this.port = port;
    }

    void cancelRunningJobs() throws IOException, InterruptedException {
      HttpResponse<String> jobs = client.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs")).build(),
          HttpResponse.BodyHandlers.ofString());
      if (jobs.statusCode() != 200) {
        throw new IOException("Flink's REST API answered " + jobs.statusCode() + " to GET /jobs: " + jobs.body());
      }
      for (JsonNode job : JSON.readTree(jobs.body()).path("jobs")) {
        if ("RUNNING".equals(job.path("status").asText())) {
          HttpResponse<String> cancel = client.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + port + "/jobs/" + job.path("id").asText() + "?mode=cancel"))
                  .method("PATCH", HttpRequest.BodyPublishers.noBody())
                  .build(),
              HttpResponse.BodyHandlers.ofString());
          if (cancel.statusCode() / 100 != 2) {
            throw new IOException("Flink's REST API answered " + cancel.statusCode() + " to the cancel of job "
                + job.path("id").asText() + ": " + cancel.body());
          }
        }
      }
    }
  }

  private static Settings settings(List<String> own, List<String> beamArgs) {
    Flags flags = Flags.parse("bench freshness", own, FLAGS);
    Settings settings = new Settings();
    settings.rate = flags.doubleValue("rate", 10_000, 1, 1_000_000);
    settings.seconds = flags.longValue("seconds", 60, 1, 3_600);
    settings.warmupSeconds = flags.longValue("warmup", 10, 0, 3_600);
    settings.users = (int) flags.longValue("users", 10_000, 1, 10_000_000);
    settings.probeUsers = (int) flags.longValue("probeUsers", 20, 1, 1_000);
    settings.probeEveryNanos = duration(flags, "probeEvery", "100ms", 1);
    settings.pollEveryNanos = duration(flags, "pollEvery", "1ms", 0);
    settings.targetMillis = TimeUnit.NANOSECONDS.toMillis(duration(flags, "target", "500ms", 1));
    if (flags.has("bufferTimeout")) {
      settings.bufferTimeoutMillis = TimeUnit.NANOSECONDS.toMillis(duration(flags, "bufferTimeout", "100ms", 0));
    }
    settings.unbounded = flags.booleanValue("unbounded", false);
    String dataDir = flags.string("dataDir", "./data");
    settings.dataDir = Path.of(dataDir);
    settings.onlineStore =
        flags.string(
            "onlineStore",
            "jdbc:h2:file:" + Path.of(dataDir, "bench", "freshness", "online").toAbsolutePath() + ";AUTO_SERVER=TRUE");
    settings.report =
        Path.of(flags.string("report", dataDir + "/bench/freshness-" + Math.round(settings.rate) + ".md"));
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
            "bench freshness: --" + name + " is set by the bench (it measures click-counts from its own Kafka broker"
                + " on streaming embedded Flink); the bench's own flags are before --, see --help");
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
    long measuredRecords;
    double measuredSeconds;
    /** CPU time of this JVM (broker, pipeline, server, producer and poller) and GC time while measuring. */
    double cpuSeconds;
    long gcMillis;
    long fillers;
  }

  /** Sends the probes and the events, paced, on the calling thread. */
  private static final class Producer {
    private final Settings settings;
    private final KafkaEventProducer producer;
    private final Poller poller;
    private final CompletableFuture<PipelineResult> pipeline;
    private final PrintStream out;
    private final Production production = new Production();
    private long sent;
    private long probesSent;
    private long nextProbeNanos;

    Producer(
        Settings settings, KafkaEventProducer producer, Poller poller, CompletableFuture<PipelineResult> pipeline,
        PrintStream out) {
      this.settings = settings;
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
      out.printf(Locale.ROOT, "%n== 3/4 Producing %,.0f events/s with event time = now for %d s (%d s warm-up),"
              + " one probe click every %d ms over %d probe users%n",
          settings.rate, settings.warmupSeconds + settings.seconds, settings.warmupSeconds,
          TimeUnit.NANOSECONDS.toMillis(settings.probeEveryNanos), settings.probeUsers);
      EventGenerator.Settings events = new EventGenerator.Settings();
      events.events = settings.backgroundEvents();
      events.users = settings.users;
      events.jitterMillis = 0;
      events.startMillis = System.currentTimeMillis();
      events.spanMillis = Math.max(1, (long) (events.events / settings.rate * 1000));
      long fullRateStart = System.nanoTime();
      long measuredFrom = fullRateStart + TimeUnit.SECONDS.toNanos(settings.warmupSeconds);
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
            sendDueProbe(now, measuredFrom, mainProbeLimit);
            long wake = probesSent < mainProbeLimit ? Math.min(due, nextProbeNanos) : due;
            TimeUnit.NANOSECONDS.sleep(Math.max(1, wake - now));
          }
          if (sentAtMeasureStart[0] < 0 && now >= measuredFrom) {
            sentAtMeasureStart[0] = sent;
            cpuAtMeasureStart[0] = processCpuNanos();
            gcAtMeasureStart[0] = gcMillis();
          }
          sendDueProbe(now, measuredFrom, mainProbeLimit);
          ClickEvent event = record.event;
          event.setTimestamp(System.currentTimeMillis());
          producer.send(event.getUserId().getBytes(StandardCharsets.UTF_8), ClickEventDecoder.toAvro(event));
          sent++;
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
      production.measuredSeconds = Math.max(0, end - measuredFrom) / 1e9;
      production.measuredRecords = sentAtMeasureStart[0] < 0 ? 0 : sent - sentAtMeasureStart[0];

      // 3. Filler, so that the pipeline reads exactly --maxRecords and ends.
      production.cpuSeconds = (processCpuNanos() - cpuAtMeasureStart[0]) / 1e9;
      production.gcMillis = gcMillis() - gcAtMeasureStart[0];
      production.fillers = settings.unbounded ? 0 : settings.totalRecords() - sent;
      for (long i = 0; i < production.fillers; i++) {
        ClickEvent filler = ClickEvent.newBuilder()
            .setEventId("filler-" + i)
            .setUserId(FILLER_USER)
            .setEventType("page_view")
            .setTimestamp(System.currentTimeMillis())
            .build();
        producer.send(FILLER_USER.getBytes(StandardCharsets.UTF_8), ClickEventDecoder.toAvro(filler));
        sent++;
      }
      return production;
    }

    private void sendDueProbe(long now, long measuredFrom, long limit) throws InterruptedException {
      if (now >= nextProbeNanos && probesSent < limit) {
        sendProbe(now, now >= measuredFrom);
        nextProbeNanos += settings.probeEveryNanos;
        if (nextProbeNanos < now) {
          // The producer fell behind: the next probe is due one interval from now, not in a burst.
          nextProbeNanos = now + settings.probeEveryNanos;
        }
      }
    }

    private void sendProbe(long now, boolean counted) throws InterruptedException {
      String user = PROBE_USER_PREFIX + (probesSent % settings.probeUsers);
      long eventTime = System.currentTimeMillis();
      ClickEvent click = ClickEvent.newBuilder()
          .setEventId("probe-click-" + probesSent)
          .setUserId(user)
          .setEventType("click")
          .setTimestamp(eventTime)
          .build();
      byte[] value = ClickEventDecoder.toAvro(click);
      long sentNanos = System.nanoTime();
      Probe probe = new Probe(user, eventTime, sentNanos, counted);
      poller.expect(probe);
      producer.send(user.getBytes(StandardCharsets.UTF_8), value);
      production.probes.add(probe);
      probesSent++;
      sent++;
    }
  }

  /** GETs the probe users' rows while they have a probe outstanding, and notes when each probe shows. */
  private static final class Poller implements Runnable {
    private final HttpClient client =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final List<String> users;
    private final long pauseNanos;
    private final Map<String, ConcurrentLinkedDeque<Probe>> outstanding = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<Long> getNanos = new ConcurrentLinkedQueue<>();
    private final AtomicLong failures = new AtomicLong();
    private volatile String lastFailure;
    private volatile boolean anyVisible;
    private volatile boolean stopped;

    Poller(String base, List<String> users, long pauseNanos) {
      this.base = base;
      this.users = users;
      this.pauseNanos = pauseNanos;
      for (String user : users) {
        outstanding.put(user, new ConcurrentLinkedDeque<>());
      }
    }

    /** Before the probe is sent, so that the poller never misses its row. */
    void expect(Probe probe) {
      outstanding.get(probe.user).addLast(probe);
    }

    boolean anyVisible() {
      return anyVisible;
    }

    int outstanding() {
      return outstanding.values().stream().mapToInt(ConcurrentLinkedDeque::size).sum();
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
        for (String user : users) {
          ConcurrentLinkedDeque<Probe> waiting = outstanding.get(user);
          if (!waiting.isEmpty()) {
            poll(user, waiting);
            polled = true;
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

    private void poll(String user, ConcurrentLinkedDeque<Probe> waiting) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(base + user)).timeout(Duration.ofSeconds(5)).build();
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

  /** The figures of one run and their report. */
  private static final class Results {
    private final Settings settings;
    private final Production production;
    private final Poller poller;
    private final List<Probe> measured = new ArrayList<>();
    final long lost;
    private final long measureStartNanos;

    Results(Settings settings, Production production, Poller poller) {
      this.settings = settings;
      this.production = production;
      this.poller = poller;
      long lostProbes = 0;
      long firstCounted = Long.MAX_VALUE;
      for (Probe probe : production.probes) {
        if (probe.visibleNanos == 0) {
          lostProbes++;
        } else if (probe.counted) {
          measured.add(probe);
          firstCounted = Math.min(firstCounted, probe.sentNanos);
        }
      }
      this.lost = lostProbes;
      this.measureStartNanos = firstCounted;
    }

    String report(String store) {
      long[] latency = sorted(measured, Probe::latencyNanos);
      List<Probe> ownRow = new ArrayList<>();
      for (Probe probe : measured) {
        if (probe.updatedAt >= 0) {
          ownRow.add(probe);
        }
      }
      long[] toWriter = sorted(ownRow, probe -> TimeUnit.MILLISECONDS.toNanos(probe.updatedAt - probe.eventTime));
      long[] inWriter =
          sorted(ownRow, probe -> probe.latencyNanos() - TimeUnit.MILLISECONDS.toNanos(probe.updatedAt - probe.eventTime));
      long[] gets = poller.getNanos.stream().mapToLong(Long::longValue).sorted().toArray();
      double rate = production.measuredRecords / Math.max(production.measuredSeconds, 1e-9);
      double p99 = millis(latency, 0.99);
      StringBuilder text = new StringBuilder();
      text.append(String.format(Locale.ROOT,
          "Freshness benchmark: %s -> %s on streaming embedded Flink, %,.0f events/s for %d s after %d s of"
              + " warm-up, %d probe users, one probe every %d ms%n",
          PIPELINE, FEATURE.precomputedTable().name(), settings.rate, settings.seconds, settings.warmupSeconds,
          settings.probeUsers, TimeUnit.NANOSECONDS.toMillis(settings.probeEveryNanos)));
      text.append(String.format(Locale.ROOT, "Store: %s; %s; %d cores, Java %s; %s%n",
          store, os(), Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
          Instant.now()));
      text.append(String.format(Locale.ROOT, "Pipeline options: %s%n", describe(settings)));
      text.append(String.format(Locale.ROOT,
          "Flink answered the first probe after %.1f s; %s. While measuring, this JVM used %.2f of %d cores"
              + " (broker, pipeline, server, producer, poller) and spent %,d ms in GC%n%n",
          production.startupSeconds,
          settings.unbounded
              ? "the unbounded job was cancelled at the end"
              : String.format(Locale.ROOT, "%,d filler records closed the run", production.fillers),
          production.cpuSeconds / Math.max(production.measuredSeconds, 1e-9),
          Runtime.getRuntime().availableProcessors(), production.gcMillis));
      text.append("| probes | p50 ms | p90 ms | p99 ms | max ms | produced events/s | p99 target |\n");
      text.append("|---:|---:|---:|---:|---:|---:|---|\n");
      text.append(String.format(Locale.ROOT, "| %,d | %.0f | %.0f | %.0f | %.0f | %,.0f | %s (p99 %s %d ms) |%n",
          latency.length, millis(latency, 0.50), millis(latency, 0.90), p99, millis(latency, 1.0), rate,
          latency.length > 0 && p99 <= settings.targetMillis ? "met" : "missed",
          latency.length > 0 && p99 <= settings.targetMillis ? "<=" : ">", settings.targetMillis));
      text.append(String.format(Locale.ROOT,
          "%nWhere the time goes, over the %,d probes whose own row the poller read (updated_at is when the writer"
              + " took the row; a probe whose row its user's next probe replaced first counts in the totals"
              + " only):%n%n| part | p50 ms | p90 ms | p99 ms | max ms |%n|---|---:|---:|---:|---:|%n",
          ownRow.size()));
      text.append(row("send -> writer took the row", toWriter));
      text.append(row("writer took the row -> served", inWriter));
      text.append(row("one poll (HTTP GET)", gets));
      text.append(String.format(Locale.ROOT, "%nThe poller sent %,d GETs in the whole run.%n", gets.length));
      text.append(String.format(Locale.ROOT,
          "%nBy time since the measured period began:%n%n| from s | probes | p50 ms | p99 ms | max ms |%n"
              + "|---:|---:|---:|---:|---:|%n"));
      for (long slice = 0; slice * SLICE_SECONDS < settings.seconds + SLICE_SECONDS; slice++) {
        long from = measureStartNanos + TimeUnit.SECONDS.toNanos(slice * SLICE_SECONDS);
        long to = from + TimeUnit.SECONDS.toNanos(SLICE_SECONDS);
        List<Probe> inSlice = new ArrayList<>();
        for (Probe probe : measured) {
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
