package dev.clickstream.runners;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.pipelines.EmbeddedFlink;
import dev.clickstream.pipelines.EventInput;
import dev.clickstream.pipelines.FeaturePipeline;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.pipelines.FeatureSelection;
import dev.clickstream.pipelines.FlinkMetricsReporter;
import dev.clickstream.pipelines.MetricTotals;
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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
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
    lines.add("");
    lines.add("Options follow Beam's --name=value convention. The runner's:");
    lines.add("  --runner=FlinkRunner|DirectRunner   FlinkRunner (default) runs an embedded Flink cluster in this JVM,");
    lines.add("                                      unless --flinkMaster=HOST:PORT names a running one");
    lines.add("  --checkpointingInterval=MS          Flink: checkpoint every MS (what a failed job restores from; default");
    lines.add("                                      10000 for unbounded kafka runs, whose offsets commit at checkpoints)");
    lines.add("  --stateBackend=heap|rocksdb         Flink: where keyed state lives (default heap)");
    lines.add("  --savepointPath=PATH                Flink: resume from a savepoint or a retained checkpoint");
    lines.add("The job's:");
    lines.addAll(OptionsHelp.lines(FeaturePipelineOptions.class));
    lines.add("");
    lines.add("'./clickstream run FEATURE --help' lists every option of the job, including the runner's.");
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
    boolean kafka = ClickstreamOptions.readsKafka(options);
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
    KafkaLag lag =
        kafka
            ? new KafkaLag(options.getBootstrapServers(), options.getTopic(),
                ClickstreamOptions.consumerGroup(options, pipelineName(options)), options.getMaxRecords())
            : null;
    Supplier<String> status = lag != null ? lag::describe : () -> "";
    AtomicReference<PipelineResult> running = new AtomicReference<>();
    RunMetricsEndpoint metrics = options.getMetricsPort() == null ? null : startMetrics(options, lag, running, out);
    PipelineResult result;
    try {
      result = runWithHeartbeat(pipelineFor(pipelineName(options), options), out, status, running::set);
    } finally {
      if (metrics != null) {
        metrics.close();
      }
    }
    out.println("Done. Counters:");
    Map<String, Long> counters = printCounters(result, out);
    out.printf("Dead letters: %s%n", deadLetters);
    lateWarning(counters, kafka).ifPresent(out::println);
    return 0;
  }

  /**
   * The run's {@code /metrics} page on 127.0.0.1: Beam's metrics from the Direct runner's result as it runs (so the
   * run no longer blocks in {@code run()}), or from embedded Flink's metric system ({@link FlinkMetricsReporter}).
   */
  static RunMetricsEndpoint startMetrics(
      FeaturePipelineOptions options, KafkaLag lag, AtomicReference<PipelineResult> running, PrintStream out) {
    Supplier<MetricTotals> totals;
    if (DirectRunner.class.isAssignableFrom(options.getRunner())) {
      options.as(DirectOptions.class).setBlockOnRun(false);
      totals = () -> running.get() == null
          ? MetricTotals.NONE
          : MetricTotals.of(running.get().metrics().queryMetrics(MetricsFilter.builder().build()));
    } else if (namesACluster(options.as(FlinkPipelineOptions.class).getFlinkMaster())) {
      throw new UsageException("--metricsPort serves the metrics of a run on the Direct runner or embedded Flink; a"
          + " job on a Flink cluster reports through the cluster's own metric reporters (see docs/deploy-flink.md)");
    } else {
      totals = FlinkMetricsReporter::totals;
    }
    RunMetricsEndpoint endpoint = RunMetricsEndpoint.start(options.getMetricsPort(), totals,
        () -> lag == null ? OptionalLong.empty() : lag.lag());
    out.printf("Metrics of this run (Prometheus): %s%n", endpoint.uri());
    return endpoint;
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

  /**
   * Refuses a password in a JDBC URL of a run on a cluster, which would serve it to anyone who can read the job's
   * options through its REST API: the TaskManagers' environment must hold it instead. Checked before anything else
   * about the cluster.
   */
  private static void refusePasswordsForCluster(String pipeline, FeaturePipelineOptions options) {
    Map<String, String> urls = new LinkedHashMap<>();
    urls.put("onlineStore", options.getOnlineStore());
    urls.put("dimensions", options.getDimensions());
    for (Map.Entry<String, String> url : urls.entrySet()) {
      String value = url.getValue();
      if (value != null && value.startsWith("jdbc:") && JdbcUrls.password(value).isPresent()) {
        throw new UsageException("run " + pipeline + ": --" + url.getKey() + " carries a password, which the cluster"
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
    FeaturePipelineOptions options;
    try {
      options = PipelineOptionsFactory.fromArgs(beamArgs.toArray(new String[0]))
          .withValidation()
          .as(FeaturePipelineOptions.class);
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          "run " + pipeline + ": " + OptionsHelp.problem(e) + " (see ./clickstream run " + pipeline + " --help)");
    }
    // The defaults below apply only where the user gave no value: Beam cannot tell a default from a given value.
    Set<String> given = givenOptions(args);
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    if (!given.contains("runner")) {
      options.setRunner(FlinkRunner.class);
    }
    if (!given.contains("jobName")) {
      // A name the web UI, the REST API and Flink's CLI show, the same on every run.
      options.setJobName("clickstream-" + FeatureSelection.nameOf(List.of(pipeline.split(","))));
    }
    if (!given.contains("maxParallelism")) {
      // Fixed, so state saved at one parallelism restores at another (Flink rescales by key group, up to this).
      flink.setMaxParallelism(MAX_PARALLELISM);
    }
    boolean cluster = namesACluster(flink.getFlinkMaster());
    boolean kafka = ClickstreamOptions.readsKafka(options);
    boolean unbounded = kafka && options.getMaxRecords() == null;
    if (cluster) {
      refusePasswordsForCluster(pipeline, options);
      clusterDefaults(flink, given, unbounded);
    }
    if (kafka && !given.contains("maxBundleTimeMills")) {
      // Beam on Flink ends a bundle after 1 s and the store writer upserts per bundle: rows would wait up to 1.5 s.
      // 100 ms bundles keep event-to-servable p99 near 0.36 s; 20 ms (0.13 s) cost every feature on twice the CPU,
      // since each of the job's few hundred operators checks its bundle every half bundle time (docs/benchmarks.md).
      flink.setMaxBundleTimeMills(EventInput.STREAMING_BUNDLE_MILLIS);
    }
    boolean checkpoints = given.contains("checkpointingInterval")
        ? flink.getCheckpointingInterval() > 0
        : unbounded;
    if (kafka && !given.contains("fasterCopy") && !given.contains("objectReuse")) {
      // Without object reuse Flink deep-copies every element between chained operators (17% of an all-features
      // profile). Safe: no DoFn of the project mutates its input or an element after output (the Direct runner's
      // tests check).
      flink.setObjectReuse(true);
      // fasterCopy would also skip the copy Flink's heap state takes of a value that a running checkpoint is still
      // writing: the stateful DoFns change their state values in place, so the task would change what the checkpoint
      // thread serializes (a live job with every feature crashed in a loop on it). With checkpoints, Flink copies.
      flink.setFasterCopy(!checkpoints);
    }
    if (kafka && !unbounded && !given.contains("shutdownSourcesAfterIdleMs")) {
      // With checkpointing, Beam keeps finished sources alive, and a bounded streaming run would never end.
      flink.setShutdownSourcesAfterIdleMs(0L);
    }
    if (unbounded && !given.contains("checkpointingInterval")) {
      // Offsets are committed only once a checkpoint holds them (ReadKafkaPartitions): no checkpoints, no commits.
      flink.setCheckpointingInterval(UNBOUNDED_CHECKPOINT_MILLIS);
    }
    if (unbounded && !cluster && !given.contains("stateBackend")) {
      // Embedded checkpoints go to files under ./data, not the JobManager's heap, which refuses state over 5 MB.
      flink.setStateBackend("hashmap");
    }
    mapStateBackend(flink, given);
    if (cluster) {
      absolutePaths(options, pipeline);
      return options;
    }
    try {
      EmbeddedFlink.bindTo(flink, options.getFlinkBindAddress());
    } catch (IllegalArgumentException e) {
      throw new UsageException("run " + pipeline + ": " + e.getMessage());
    }
    options.setOnlineStore(withoutPassword(options.getOnlineStore()));
    options.setDimensions(withoutPassword(options.getDimensions()));
    return options;
  }

  /** The names of the options {@code args} give a value ({@code --name=value}). */
  static Set<String> givenOptions(List<String> args) {
    Set<String> names = new HashSet<>();
    for (String arg : args) {
      int equals = arg.indexOf('=');
      if (arg.startsWith("--") && equals > 2) {
        names.add(arg.substring(2, equals));
      }
    }
    return names;
  }

  /** Flink's key groups: the most a job's keyed state can ever be spread over. */
  public static final int MAX_PARALLELISM = 128;

  /** Parallelism of a job sent to a cluster when --parallelism is not given. */
  static final int CLUSTER_PARALLELISM = 2;

  /** Checkpoint interval of an unbounded job, embedded or on a cluster, when --checkpointingInterval is not given. */
  static final long UNBOUNDED_CHECKPOINT_MILLIS = 10_000;

  /** Whether {@code flinkMaster} is HOST:PORT of a cluster; {@code [auto]}, {@code [local]} and none are embedded. */
  static boolean namesACluster(String flinkMaster) {
    return flinkMaster != null && !flinkMaster.isBlank() && !flinkMaster.startsWith("[");
  }

  /**
   * A cluster runs the job from the shaded jar, which must travel with it; an unbounded job is handed over
   * (detached), checkpoints so that it can recover, and keeps its last checkpoint when cancelled so that it can be
   * resumed from it.
   */
  private static void clusterDefaults(FlinkPipelineOptions flink, Set<String> given, boolean unbounded) {
    if (!given.contains("filesToStage")) {
      flink.setFilesToStage(List.of(ClusterCommand.jobJar().toString()));
    }
    if (!given.contains("parallelism")) {
      flink.setParallelism(CLUSTER_PARALLELISM);
    }
    if (unbounded) {
      if (!given.contains("attachedMode")) {
        flink.setAttachedMode(false);
      }
      if (!given.contains("externalizedCheckpointsEnabled")) {
        flink.setExternalizedCheckpointsEnabled(true);
      }
      if (!given.contains("retainExternalizedCheckpointsOnCancellation")) {
        flink.setRetainExternalizedCheckpointsOnCancellation(true);
      }
    }
  }

  /**
   * --stateBackend=heap|hashmap|rocksdb, Flink's own names, onto Beam's (filesystem is Beam's name for the heap
   * backend), with a checkpoint directory under ./data when none is given: Beam requires one.
   */
  private static void mapStateBackend(FlinkPipelineOptions flink, Set<String> given) {
    String backend = flink.getStateBackend();
    if (backend == null) {
      return;
    }
    switch (backend.toLowerCase(Locale.ROOT)) {
      case "heap":
      case "hashmap":
      case "filesystem":
        flink.setStateBackend("filesystem");
        break;
      case "rocksdb":
        flink.setStateBackend("rocksdb");
        break;
      default:
        throw new UsageException("--stateBackend=" + backend + " must be heap (also called hashmap) or rocksdb");
    }
    if (!given.contains("stateBackendStoragePath")) {
      flink.setStateBackendStoragePath(Paths.get("data", "checkpoints").toAbsolutePath().toUri().toString());
    }
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
    return runWithHeartbeat(pipeline, out, status, result -> {});
  }

  /**
   * As {@link #runWithHeartbeat(Pipeline, PrintStream, Supplier)}, handing {@code onStart} the result as soon as the
   * runner returns it (at once on a runner that does not block in {@code run()}).
   */
  static PipelineResult runWithHeartbeat(
      Pipeline pipeline, PrintStream out, Supplier<String> status, Consumer<PipelineResult> onStart) {
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
      onStart.accept(result);
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
