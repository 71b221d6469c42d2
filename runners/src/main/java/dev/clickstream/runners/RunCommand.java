package dev.clickstream.runners;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.pipelines.EmbeddedFlink;
import dev.clickstream.pipelines.FeaturePipeline;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.pipelines.FeatureSelection;
import dev.clickstream.pipelines.OptionsHelp;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.JdbcUrls;
import dev.clickstream.store.StorePreflight;
import dev.clickstream.transforms.ProcessingClock;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * {@code ./clickstream run FEATURE...|all}: runs the {@link FeaturePipeline} of the named features (or aliases, see
 * {@link FeatureSelection}) to completion and prints what it did.
 */
public final class RunCommand {

  private static final ProcessingClock CLOCK = ProcessingClock.SYSTEM;

  static final String HELP = help();

  private static final long HEARTBEAT_SECONDS = 15;

  private RunCommand() {}

  private static String help() {
    List<String> lines = new ArrayList<>();
    lines.add("Usage: ./clickstream run FEATURE...|PIPELINE --input=FILE_OR_GLOB [options]");
    lines.add("       ./clickstream run FEATURE...|PIPELINE --source=kafka [--bootstrapServers=HOST:PORT] [options]");
    lines.add("");
    lines.add("Features (one job computes every feature named, over one read of the input):");
    lines.add("  " + String.join(", ", FeatureSelection.names(FeatureDefinitions.REGISTRY)));
    lines.add("");
    lines.add("Pipelines (aliases of features):");
    for (Map.Entry<String, String> alias : FeatureSelection.ALIASES.entrySet()) {
      lines.add(String.format(Locale.ROOT, "  %-13s %s", alias.getKey(), alias.getValue()));
    }
    lines.addAll(List.of(
        "",
        "Options follow Beam's --name=value convention:",
        "  --runner=FlinkRunner|DirectRunner   FlinkRunner (default) runs an embedded Flink cluster in this JVM,",
        "                                      unless --flinkMaster=HOST:PORT names a running one",
        "  --input=FILE_OR_GLOB                events: JSON lines, or Avro container files (*.avro)",
        "  --source=file|kafka                 default file; kafka reads --topic (default clickstream_events)",
        "                                      from --bootstrapServers (default 127.0.0.1:9092): Avro binary or",
        "                                      JSON messages, dead letters to --deadLetterTopic",
        "                                      (default clickstream_events_dlq)",
        "  --maxRecords=N                      kafka: stop after N records, close every window and finish",
        "                                      (a topic of one partition only)",
        "  --maxOutOfOrderness=DURATION        kafka: how far behind a partition's latest event time events may",
        "                                      arrive before the watermark passes them (default 30s)",
        "  --idleTimeout=DURATION              kafka: a silent partition's watermark follows the clock after this",
        "                                      (default 10s)",
        "  --writerSchemas=FILES_OR_DIRS       kafka: more Avro writer schemas (.avsc) that producers may use",
        "  --maxFutureSkew=DURATION            events dated more than this after the clock are dead letters,",
        "                                      reason future, and move no watermark (default 1h)",
        "  --checkpointingInterval=MS          Flink: checkpoint every MS (what a failed job restores from; default",
        "                                      10000 for unbounded kafka runs, whose offsets commit at checkpoints)",
        "  --onlineStore=JDBC_URL              default " + ClickstreamOptions.DEFAULT_ONLINE_STORE,
        "                                      or jdbc:postgresql://HOST:PORT/DB?user=USER",
        "                                      or jdbc:mariadb://HOST:PORT/DB?user=USER (jdbc:mysql:// too);",
        "                                      checked before the run starts; a password goes in the environment",
        "                                      variable " + ConnectionPools.PASSWORD_VARIABLE + ", not in the URL",
        "  --flinkBindAddress=ADDRESS          embedded Flink's REST API and BLOB server listen here only (default",
        "                                      127.0.0.1; 0.0.0.0 exposes them, without authentication)",
        "  --offlineStore=DIR                  default ./data/offline",
        "  --deadLetter=PATH                   files: default ./data/dead-letters/PIPELINE.jsonl (PIPELINE: the",
        "                                      names given, joined by + when there are several)",
        "  --allowedLateness=DURATION          how far behind the watermark an event may arrive and still update",
        "                                      features (default 0); later ones are dead letters, reason late",
        "  --restate=true                      this run's rows replace stored ones the never-regress guard would",
        "                                      keep: a bounded rerun over corrected input (default false)",
        "  --counter=stateful|sliding          click-counts and all: how click counts are kept (default stateful)",
        "  --dimensions=JDBC_URL|DIR           enriched and all: the users and items tables (default: the online",
        "                                      store's, written by ./clickstream dimensions), or DIR/users.jsonl",
        "                                      and DIR/items.jsonl",
        "  --dimensionRefresh=DURATION|once    enriched and all, unbounded Kafka runs: reload them this often",
        "                                      (default 5m); bounded runs load them once",
        "  --dimensionLookback=DURATION        refreshes begin this long before the start (default 30m)",
        "",
        "'./clickstream run PIPELINE --help' lists every option of the pipeline, including the runner's."));
    return String.join("\n", lines);
  }

  static int run(List<String> args, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    if (args.isEmpty() || args.get(0).startsWith("-") || args.get(0).equals("help")) {
      out.println(HELP);
      return args.isEmpty() ? 2 : 0;
    }
    int names = 0;
    while (names < args.size() && !args.get(names).startsWith("-")) {
      checkName(args.get(names));
      names++;
    }
    String pipeline = String.join(",", args.subList(0, names));
    List<String> rest = args.subList(names, args.size());
    if (Flags.wantsHelp(rest)) {
      out.println(HELP);
      out.println();
      PipelineOptionsFactory.printHelp(out, FeaturePipelineOptions.class);
      return 0;
    }
    FeaturePipelineOptions options = options(pipeline, rest);
    boolean kafka;
    try {
      kafka = ClickstreamOptions.readsKafka(options);
    } catch (IllegalArgumentException e) {
      throw new UsageException("run " + pipelineName(options) + ": " + e.getMessage());
    }
    String from;
    String deadLetters;
    if (kafka) {
      KafkaTopics.ensure(options.getBootstrapServers(), options.getTopic(), options.getDeadLetterTopic());
      from = "kafka " + options.getTopic() + "@" + options.getBootstrapServers()
          + (options.getMaxRecords() == null ? " (until cancelled)" : " (" + options.getMaxRecords() + " records)");
      deadLetters = "kafka topic " + options.getDeadLetterTopic();
    } else {
      checkInputExists(options.getInput());
      from = options.getInput();
      deadLetters = ClickstreamOptions.deadLetterPath(options, pipelineName(options));
    }
    checkStore(pipelineName(options), "--onlineStore", options.getOnlineStore());
    String dimensions = dimensionsUrl(options);
    if (dimensions != null) {
      checkStore(pipelineName(options), "--dimensions", dimensions);
    }
    out.printf("Running the %s pipeline on %s: %s -> %s%n",
        pipelineName(options), options.getRunner().getSimpleName(), from, JdbcUrls.redacted(options.getOnlineStore()));
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    if (!flink.getAttachedMode() && namesACluster(flink.getFlinkMaster())) {
      return submitDetached(pipelineName(options), options, out);
    }
    Supplier<String> status =
        kafka
            ? new KafkaLag(options.getBootstrapServers(), options.getTopic(),
                ClickstreamOptions.consumerGroup(options, pipelineName(options)), options.getMaxRecords())::describe
            : () -> "";
    PipelineResult result = runWithHeartbeat(pipelineFor(pipelineName(options), options), out, status);
    out.println("Done. Counters:");
    Map<String, Long> counters = printCounters(result, out);
    out.printf("Dead letters: %s%n", deadLetters);
    lateWarning(counters, kafka).ifPresent(out::println);
    return 0;
  }

  /** More than this share of the events read arriving too late to count is worth a warning at the end of a run. */
  static final double LATE_WARNING_SHARE = 0.02;

  /**
   * A warning when more than {@link #LATE_WARNING_SHARE} of the events read were too late for some step, naming the
   * options that would have kept them; empty otherwise. Every {@code .../events_too_late} counter is compared with
   * the events read ({@code ParseEvents/events_parsed}, plus {@code EventTime/events_too_late}, which a Kafka read
   * counts before parsing them).
   */
  static Optional<String> lateWarning(Map<String, Long> counters, boolean kafka) {
    long readLate = counters.getOrDefault("EventTime/events_too_late", 0L);
    long events = counters.getOrDefault("ParseEvents/events_parsed", 0L) + readLate;
    if (events == 0) {
      return Optional.empty();
    }
    List<String> steps = new ArrayList<>();
    long worst = 0;
    for (Map.Entry<String, Long> counter : counters.entrySet()) {
      if (counter.getKey().endsWith("/events_too_late") && counter.getValue() > LATE_WARNING_SHARE * events) {
        steps.add(String.format(Locale.ROOT, "%s %,d", counter.getKey(), counter.getValue()));
        worst = Math.max(worst, counter.getValue());
      }
    }
    if (steps.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(String.format(Locale.ROOT,
        "WARNING: %.1f%% of the %,d events read came too late to count (%s); they are in the dead letters with"
            + " reason late. If the input is this much out of order, run again with a larger %s--allowedLateness"
            + " (how far behind the watermark an event may arrive, default 0).",
        100.0 * worst / events, events, String.join(", ", steps),
        kafka ? "--maxOutOfOrderness (how far behind a partition's latest event time events may arrive, default"
            + " 30s) or " : ""));
  }

  /** Fails naming every pipeline and feature there is, when {@code name} is none of them. */
  private static void checkName(String name) {
    if (!FeatureSelection.ALIASES.containsKey(name)
        && !FeatureSelection.names(FeatureDefinitions.REGISTRY).contains(name)) {
      throw new UsageException("run: unknown pipeline '" + name + "'; available: "
          + String.join(", ", FeatureSelection.ALIASES.keySet()) + "; or features: "
          + String.join(", ", FeatureSelection.names(FeatureDefinitions.REGISTRY)));
    }
  }

  /** The name of the run's job, consumer group and dead-letter file: the names given, joined by +. */
  private static String pipelineName(FeaturePipelineOptions options) {
    return FeatureSelection.nameOf(options.getFeatures());
  }

  /** The --dimensions JDBC URL of a pipeline that reads the dimension tables from a store, else null. */
  private static String dimensionsUrl(FeaturePipelineOptions options) {
    String dimensions = options.getDimensions();
    return dimensions != null && dimensions.startsWith("jdbc:") ? dimensions : null;
  }

  /** Fails in seconds, with what to fix, when {@code jdbcUrl} names a store that cannot be used. */
  private static void checkStore(String pipeline, String option, String jdbcUrl) {
    String problem = StorePreflight.problem(jdbcUrl);
    if (problem != null) {
      throw new UsageException("run " + pipeline + ": " + option + "=" + JdbcUrls.redacted(jdbcUrl) + " " + problem);
    }
  }

  /** The options that may hold a JDBC URL, and so a password. */
  private static final List<String> URL_OPTIONS = List.of("onlineStore", "dimensions");

  /**
   * Refuses a password in a JDBC URL of a run on a cluster, which would serve it to anyone who can read the job's
   * options through its REST API: the TaskManagers' environment must hold it instead. Checked on the arguments, before
   * anything else about the cluster.
   */
  private static void refusePasswordsForCluster(String pipeline, List<String> args) {
    for (String option : URL_OPTIONS) {
      String url = valueOf(args, option);
      if (url != null && url.startsWith("jdbc:") && JdbcUrls.password(url).isPresent()) {
        throw new UsageException("run " + pipeline + ": --" + option + " carries a password, which the cluster"
            + " would serve to anyone who can read the job's options through its REST API. Take it out of the URL"
            + " and set " + ConnectionPools.PASSWORD_VARIABLE + " in the environment of the cluster's TaskManagers"
            + " instead (./clickstream cluster start passes its own environment on)");
      }
    }
  }

  /**
   * {@code jdbcUrl} as it may stand in an embedded job's options, which Flink serves to anyone who can reach its
   * REST API: without its password, which this JVM keeps ({@link ConnectionPools#passwordKeptInJvm}).
   */
  private static String withoutPassword(String jdbcUrl) {
    return jdbcUrl == null || !jdbcUrl.startsWith("jdbc:") ? jdbcUrl : ConnectionPools.passwordKeptInJvm(jdbcUrl);
  }

  /**
   * Beam options for {@code pipeline} (names of features or aliases, comma-separated), embedded Flink unless
   * --runner says otherwise.
   */
  public static FeaturePipelineOptions options(String pipeline, List<String> args) {
    List<String> beamArgs = new ArrayList<>(args);
    beamArgs.removeIf(arg -> arg.startsWith("--features="));
    beamArgs.add("--features=" + pipeline);
    if (beamArgs.stream().noneMatch(arg -> arg.startsWith("--runner="))) {
      beamArgs.add("--runner=FlinkRunner");
    }
    // A name the web UI, the REST API and Flink's CLI show, the same on every run.
    addUnlessSet(beamArgs, "jobName", "clickstream-" + FeatureSelection.nameOf(List.of(pipeline.split(","))));
    // Fixed, so state saved at one parallelism restores at another (Flink rescales by key group, up to this).
    addUnlessSet(beamArgs, "maxParallelism", String.valueOf(MAX_PARALLELISM));
    if (submitsToCluster(beamArgs)) {
      refusePasswordsForCluster(pipeline, beamArgs);
      clusterDefaults(beamArgs);
    }
    if (beamArgs.contains("--source=kafka")) {
      // Beam on Flink ends a bundle after 1 s and the store writer upserts per bundle: rows would wait up to 1.5 s.
      // 20 ms bundles bring event-to-servable p99 from 1.4 s to about 0.13 s (docs/benchmarks.md, Freshness).
      addUnlessSet(beamArgs, "maxBundleTimeMills", "20");
      if (beamArgs.stream().anyMatch(arg -> arg.startsWith("--maxRecords="))) {
        // With checkpointing, Beam keeps finished sources alive, and a bounded streaming run would never end.
        addUnlessSet(beamArgs, "shutdownSourcesAfterIdleMs", "0");
      }
    }
    if (unbounded(beamArgs)) {
      // Offsets are committed only once a checkpoint holds them (ReadKafkaPartitions): no checkpoints, no commits.
      addUnlessSet(beamArgs, "checkpointingInterval", String.valueOf(UNBOUNDED_CHECKPOINT_MILLIS));
      if (!submitsToCluster(beamArgs)) {
        // Embedded checkpoints go to files under ./data, not the JobManager's heap, which refuses state over 5 MB.
        addUnlessSet(beamArgs, "stateBackend", "hashmap");
      }
    }
    mapStateBackend(beamArgs);
    FeaturePipelineOptions options;
    try {
      options = PipelineOptionsFactory.fromArgs(beamArgs.toArray(new String[0]))
          .withValidation()
          .as(FeaturePipelineOptions.class);
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          "run " + pipeline + ": " + OptionsHelp.problem(e) + " (see ./clickstream run " + pipeline + " --help)");
    }
    if (submitsToCluster(beamArgs)) {
      absolutePaths(options, pipeline);
      return options;
    }
    try {
      EmbeddedFlink.bindTo(options.as(FlinkPipelineOptions.class), options.getFlinkBindAddress());
    } catch (IllegalArgumentException e) {
      throw new UsageException("run " + pipeline + ": " + e.getMessage());
    }
    options.setOnlineStore(withoutPassword(options.getOnlineStore()));
    options.setDimensions(withoutPassword(options.getDimensions()));
    return options;
  }

  /** Flink's key groups: the most a job's keyed state can ever be spread over. */
  public static final int MAX_PARALLELISM = 128;

  /** Parallelism of a job sent to a cluster when --parallelism is not given. */
  static final int CLUSTER_PARALLELISM = 2;

  /** Checkpoint interval of an unbounded job, embedded or on a cluster, when --checkpointingInterval is not given. */
  static final long UNBOUNDED_CHECKPOINT_MILLIS = 10_000;

  /** Whether the arguments' --flinkMaster names a running cluster rather than the embedded one. */
  static boolean submitsToCluster(List<String> args) {
    return namesACluster(valueOf(args, "flinkMaster"));
  }

  /** Whether {@code flinkMaster} is HOST:PORT of a cluster; {@code [auto]}, {@code [local]} and none are embedded. */
  private static boolean namesACluster(String flinkMaster) {
    return flinkMaster != null && !flinkMaster.isBlank() && !flinkMaster.startsWith("[");
  }

  private static String valueOf(List<String> args, String name) {
    return args.stream().filter(arg -> arg.startsWith("--" + name + "=")).reduce((first, last) -> last)
        .map(arg -> arg.substring(name.length() + 3)).orElse(null);
  }

  private static boolean unbounded(List<String> args) {
    return "kafka".equals(valueOf(args, "source")) && valueOf(args, "maxRecords") == null;
  }

  /**
   * A cluster runs the job from the shaded jar, which must travel with it; an unbounded job is handed over
   * (detached), checkpoints so that it can recover, and keeps its last checkpoint when cancelled so that it can be
   * resumed from it.
   */
  private static void clusterDefaults(List<String> args) {
    addUnlessSet(args, "filesToStage", ClusterCommand.jobJar().toString());
    addUnlessSet(args, "parallelism", String.valueOf(CLUSTER_PARALLELISM));
    if (unbounded(args)) {
      addUnlessSet(args, "attachedMode", "false");
      addUnlessSet(args, "externalizedCheckpointsEnabled", "true");
      addUnlessSet(args, "retainExternalizedCheckpointsOnCancellation", "true");
    }
  }

  /**
   * --stateBackend=heap|hashmap|rocksdb, Flink's own names, onto Beam's (filesystem is Beam's name for the heap
   * backend), with a checkpoint directory under ./data when none is given: Beam requires one.
   */
  private static void mapStateBackend(List<String> args) {
    String backend = valueOf(args, "stateBackend");
    if (backend == null) {
      return;
    }
    String beamName;
    switch (backend.toLowerCase(Locale.ROOT)) {
      case "heap":
      case "hashmap":
      case "filesystem":
        beamName = "filesystem";
        break;
      case "rocksdb":
        beamName = "rocksdb";
        break;
      default:
        throw new UsageException("--stateBackend=" + backend + " must be heap (also called hashmap) or rocksdb");
    }
    args.removeIf(arg -> arg.startsWith("--stateBackend="));
    args.add("--stateBackend=" + beamName);
    addUnlessSet(args, "stateBackendStoragePath", Paths.get("data", "checkpoints").toAbsolutePath().toUri().toString());
  }

  /** Paths a cluster's processes resolve from their own working directory: made absolute here. */
  private static void absolutePaths(FeaturePipelineOptions options, String pipeline) {
    options.setOfflineStore(absolute(options.getOfflineStore()));
    options.setDeadLetter(absolute(ClickstreamOptions.deadLetterPath(options, pipelineName(options))));
    if (options.getInput() != null) {
      options.setInput(absolute(options.getInput()));
    }
    String h2File = "jdbc:h2:file:";
    String store = options.getOnlineStore();
    if (store.startsWith(h2File) && !store.startsWith(h2File + "/")) {
      String path = store.substring(h2File.length());
      int settings = path.indexOf(';');
      String file = settings < 0 ? path : path.substring(0, settings);
      options.setOnlineStore(h2File + Paths.get(file).toAbsolutePath().normalize()
          + (settings < 0 ? "" : path.substring(settings)));
    }
  }

  /** A local path made absolute; a URL such as gs://bucket/dir stays as it is. */
  private static String absolute(String path) {
    return path.contains("://") ? path : Paths.get(path).toAbsolutePath().normalize().toString();
  }

  /**
   * Submits an unbounded job to a cluster and returns: the job runs there until it is stopped. Prints its id and
   * how to watch, stop and resume it.
   */
  private static int submitDetached(String pipeline, FeaturePipelineOptions options, PrintStream out)
      throws IOException, InterruptedException {
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    Pipeline graph = pipelineFor(pipeline, options);
    long submitted = System.currentTimeMillis();
    graph.run();
    FlinkRest rest = new FlinkRest(flink.getFlinkMaster());
    String jobName = flink.getJobName();
    Optional<FlinkRest.Job> job = Optional.empty();
    for (int attempt = 0; attempt < 40 && job.isEmpty(); attempt++) {
      job = rest.latestJobNamed(jobName).filter(found -> found.startTime() >= submitted - 60_000);
      if (job.isEmpty()) {
        Thread.sleep(250);
      }
    }
    if (job.isEmpty()) {
      out.printf("Submitted %s to %s, but the cluster does not list it yet; see %s%n", jobName,
          flink.getFlinkMaster(), rest.webUi());
      return 0;
    }
    String id = job.get().id();
    out.printf("Submitted %s to the Flink cluster at %s as job %s (parallelism %d, max parallelism %d,"
            + " checkpoints every %d ms). It runs there until stopped.%n",
        jobName, flink.getFlinkMaster(), id, flink.getParallelism(), flink.getMaxParallelism(),
        flink.getCheckpointingInterval());
    out.printf("  web UI   %s%n", rest.jobPage(id));
    // Flink's CLI of a local cluster outside data/flink-cluster needs its --dir; any other cluster, its own CLI.
    out.printf("  stop     ./clickstream cluster flink stop %s   (with a savepoint in the cluster's"
        + " state.savepoints.dir)%n", id);
    out.printf("  resume   this run command again with --savepointPath=THE_PATH_STOP_PRINTS%n");
    out.printf("  cancel   ./clickstream cluster flink cancel %s%n", id);
    return 0;
  }

  private static void addUnlessSet(List<String> args, String name, String value) {
    if (args.stream().noneMatch(arg -> arg.startsWith("--" + name + "="))) {
      args.add("--" + name + "=" + value);
    }
  }

  /** The graph of {@code pipeline}; a bad option value (such as --counter) is a usage error. */
  public static Pipeline pipelineFor(String pipeline, ClickstreamOptions options) {
    Pipeline graph = Pipeline.create(options);
    try {
      FeaturePipeline.build(graph, options.as(FeaturePipelineOptions.class), CLOCK);
    } catch (IllegalArgumentException e) {
      throw new UsageException("run " + pipeline + ": " + e.getMessage());
    }
    return graph;
  }

  /** Runs to completion, printing a line every {@link #HEARTBEAT_SECONDS} so a long run is visibly alive. */
  public static PipelineResult runWithHeartbeat(Pipeline pipeline, PrintStream out) {
    return runWithHeartbeat(pipeline, out, () -> "");
  }

  /** As {@link #runWithHeartbeat(Pipeline, PrintStream)}, each heartbeat followed by {@code status}. */
  static PipelineResult runWithHeartbeat(Pipeline pipeline, PrintStream out, Supplier<String> status) {
    long started = System.nanoTime();
    ScheduledExecutorService heartbeat =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "run-heartbeat");
              thread.setDaemon(true);
              return thread;
            });
    heartbeat.scheduleAtFixedRate(
        () -> out.printf("  ... still running (%d s)%s%n", (System.nanoTime() - started) / 1_000_000_000L,
            status.get()),
        HEARTBEAT_SECONDS,
        HEARTBEAT_SECONDS,
        TimeUnit.SECONDS);
    try {
      PipelineResult result = pipeline.run();
      PipelineResult.State state = result.waitUntilFinish();
      if (state != PipelineResult.State.DONE) {
        throw new IllegalStateException("the pipeline ended in state " + state);
      }
      out.printf(Locale.ROOT, "Pipeline finished in %.1f s%n", (System.nanoTime() - started) / 1e9);
      return result;
    } finally {
      heartbeat.shutdownNow();
    }
  }

  /** Beam's own source and sink counters repeat ours in other words. */
  private static final Set<String> HIDDEN_NAMESPACES = Set.of("source", "source.splits", "sink", "KafkaIOReader");

  /**
   * Every counter of ours, summed over the steps that report it, sorted by name; then every distribution of ours
   * (such as a feature's {@code row_micros}), merged over steps: how many, mean, min and max.
   *
   * @return the counters printed, by name
   */
  public static Map<String, Long> printCounters(PipelineResult result, PrintStream out) {
    MetricQueryResults metrics = result.metrics().queryMetrics(MetricsFilter.builder().build());
    Map<String, Long> totals = new TreeMap<>();
    for (MetricResult<Long> counter : metrics.getCounters()) {
      String namespace = counter.getName().getNamespace();
      if (isOurs(namespace)) {
        totals.merge(namespace + "/" + counter.getName().getName(), counter.getAttempted(), Long::sum);
      }
    }
    totals.forEach((name, total) -> out.printf(Locale.ROOT, "  %-48s %,14d%n", name, total));
    Map<String, DistributionResult> distributions = new TreeMap<>();
    for (MetricResult<DistributionResult> distribution : metrics.getDistributions()) {
      String namespace = distribution.getName().getNamespace();
      if (isOurs(namespace) && distribution.getAttempted().getCount() > 0) {
        distributions.merge(
            namespace + "/" + distribution.getName().getName(),
            distribution.getAttempted(),
            (a, b) -> DistributionResult.create(
                a.getSum() + b.getSum(), a.getCount() + b.getCount(), Math.min(a.getMin(), b.getMin()),
                Math.max(a.getMax(), b.getMax())));
      }
    }
    distributions.forEach((name, d) -> out.printf(Locale.ROOT, "  %-48s n=%,d mean=%.1f min=%,d max=%,d%n",
        name, d.getCount(), d.getMean(), d.getMin(), d.getMax()));
    return totals;
  }

  private static boolean isOurs(String namespace) {
    return !namespace.startsWith("org.apache.beam") && !HIDDEN_NAMESPACES.contains(namespace);
  }


  static void checkInputExists(String input) {
    if (input == null || input.isBlank()) {
      throw new UsageException(
          "--input=FILE_OR_GLOB is required to read files; or read Kafka with --source=kafka (see --help)");
    }
    try {
      if (FileSystems.match(List.of(input)).get(0).metadata().isEmpty()) {
        throw new FileNotFoundException(input);
      }
    } catch (FileNotFoundException e) {
      throw new UsageException(
          "no input files match --input=" + input + "; create some with ./clickstream generate --output=" + input);
    } catch (IOException e) {
      throw new UsageException("cannot read --input=" + input + ": " + e.getMessage());
    }
  }
}
