package dev.clickstream.runners;

import dev.clickstream.pipelines.AllPipelines;
import dev.clickstream.pipelines.AllPipelinesOptions;
import dev.clickstream.pipelines.ClickCountsPipeline;
import dev.clickstream.pipelines.ClickCountsPipelineOptions;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.pipelines.CtrPipeline;
import dev.clickstream.pipelines.CtrPipelineOptions;
import dev.clickstream.pipelines.RawEventsPipeline;
import dev.clickstream.transforms.ProcessingClock;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/** {@code ./clickstream run PIPELINE}: runs a feature pipeline to completion and prints what it did. */
final class RunCommand {

  /** One runnable pipeline: its name, what it writes, its options and how it is built. */
  private static final class PipelineSpec {
    final String name;
    final String description;
    final Class<? extends ClickstreamOptions> optionsClass;
    final BiConsumer<Pipeline, ClickstreamOptions> build;

    PipelineSpec(
        String name,
        String description,
        Class<? extends ClickstreamOptions> optionsClass,
        BiConsumer<Pipeline, ClickstreamOptions> build) {
      this.name = name;
      this.description = description;
      this.optionsClass = optionsClass;
      this.build = build;
    }
  }

  private static final ProcessingClock CLOCK = ProcessingClock.SYSTEM;
  private static final Map<String, PipelineSpec> PIPELINES = new LinkedHashMap<>();

  static {
    add(new PipelineSpec("ctr", "click-through rate per user over 5-minute event-time windows -> ctr_5min",
        CtrPipelineOptions.class,
        (pipeline, options) -> CtrPipeline.build(pipeline, options.as(CtrPipelineOptions.class), CLOCK)));
    add(new PipelineSpec("click-counts",
        "clicks per user in the last 1, 10, 30, 60 min as of its latest click -> click_counts"
            + " (--counter=sliding: hopping windows -> click_counts_sliding)",
        ClickCountsPipelineOptions.class,
        (pipeline, options) ->
            ClickCountsPipeline.build(pipeline, options.as(ClickCountsPipelineOptions.class), CLOCK)));
    add(new PipelineSpec("raw-events",
        "every click -> click_events (on-demand reads), per-user minute tiles -> click_tiles (tiled reads)",
        ClickstreamOptions.class,
        (pipeline, options) -> RawEventsPipeline.build(pipeline, options, CLOCK)));
    add(new PipelineSpec("all", "every pipeline above in one job, over one read and parse of the input",
        AllPipelinesOptions.class,
        (pipeline, options) -> AllPipelines.build(pipeline, options.as(AllPipelinesOptions.class), CLOCK)));
  }

  static final String HELP = help();

  private static final long HEARTBEAT_SECONDS = 15;

  private RunCommand() {}

  private static void add(PipelineSpec spec) {
    PIPELINES.put(spec.name, spec);
  }

  private static String help() {
    List<String> lines = new ArrayList<>();
    lines.add("Usage: ./clickstream run PIPELINE --input=FILE_OR_GLOB [options]");
    lines.add("");
    lines.add("Pipelines:");
    for (PipelineSpec spec : PIPELINES.values()) {
      lines.add(String.format(Locale.ROOT, "  %-13s %s", spec.name, spec.description));
    }
    lines.addAll(List.of(
        "",
        "Options follow Beam's --name=value convention:",
        "  --runner=FlinkRunner|DirectRunner   FlinkRunner (default) runs an embedded Flink cluster in this JVM,",
        "                                      unless --flinkMaster=HOST:PORT names a running one",
        "  --input=FILE_OR_GLOB                events: JSON lines, or Avro container files (*.avro)",
        "  --onlineStore=JDBC_URL              default " + ClickstreamOptions.DEFAULT_ONLINE_STORE,
        "                                      or jdbc:postgresql://HOST:PORT/DB?user=USER",
        "                                      or jdbc:mariadb://HOST:PORT/DB?user=USER (jdbc:mysql:// too)",
        "  --offlineStore=DIR                  default ./data/offline",
        "  --deadLetter=PATH                   default ./data/dead-letters/PIPELINE.jsonl",
        "  --allowedLateness=DURATION          how late an event may be and still update features (default 0)",
        "  --counter=stateful|sliding          click-counts and all: how click counts are kept (default stateful)",
        "",
        "'./clickstream run PIPELINE --help' lists every option of the pipeline, including the runner's."));
    return String.join("\n", lines);
  }

  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || args.get(0).startsWith("-") || args.get(0).equals("help")) {
      out.println(HELP);
      return args.isEmpty() ? 2 : 0;
    }
    PipelineSpec spec = PIPELINES.get(args.get(0));
    if (spec == null) {
      throw new UsageException(
          "run: unknown pipeline '" + args.get(0) + "'; available: " + String.join(", ", PIPELINES.keySet()));
    }
    List<String> rest = args.subList(1, args.size());
    if (Flags.wantsHelp(rest)) {
      out.println(HELP);
      out.println();
      PipelineOptionsFactory.printHelp(out, spec.optionsClass);
      return 0;
    }
    ClickstreamOptions options = options(spec.name, rest);
    checkInputExists(options.getInput());
    out.printf("Running the %s pipeline on %s: %s -> %s%n",
        spec.name, options.getRunner().getSimpleName(), options.getInput(), options.getOnlineStore());
    PipelineResult result = runWithHeartbeat(pipelineFor(spec.name, options), out);
    out.println("Done. Counters:");
    printCounters(result, out);
    out.printf("Dead letters: %s%n", ClickstreamOptions.deadLetterPath(options, spec.name));
    return 0;
  }

  /** Beam options for {@code pipeline}, embedded Flink unless --runner says otherwise. */
  static ClickstreamOptions options(String pipeline, List<String> args) {
    PipelineSpec spec = PIPELINES.get(pipeline);
    List<String> beamArgs = new ArrayList<>(args);
    if (beamArgs.stream().noneMatch(arg -> arg.startsWith("--runner="))) {
      beamArgs.add("--runner=FlinkRunner");
    }
    try {
      return PipelineOptionsFactory.fromArgs(beamArgs.toArray(new String[0]))
          .withValidation()
          .as(spec.optionsClass);
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          "run " + pipeline + ": " + e.getMessage() + " (see ./clickstream run " + pipeline + " --help)");
    }
  }

  /** The graph of {@code pipeline}; a bad option value (such as --counter) is a usage error. */
  static Pipeline pipelineFor(String pipeline, ClickstreamOptions options) {
    Pipeline graph = Pipeline.create(options);
    try {
      PIPELINES.get(pipeline).build.accept(graph, options);
    } catch (IllegalArgumentException e) {
      throw new UsageException("run " + pipeline + ": " + e.getMessage());
    }
    return graph;
  }

  /** Runs to completion, printing a line every {@link #HEARTBEAT_SECONDS} so a long run is visibly alive. */
  static PipelineResult runWithHeartbeat(Pipeline pipeline, PrintStream out) {
    long started = System.nanoTime();
    ScheduledExecutorService heartbeat =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "run-heartbeat");
              thread.setDaemon(true);
              return thread;
            });
    heartbeat.scheduleAtFixedRate(
        () -> out.printf("  ... still running (%d s)%n", (System.nanoTime() - started) / 1_000_000_000L),
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

  static void printCounters(PipelineResult result, PrintStream out) {
    MetricQueryResults metrics = result.metrics().queryMetrics(MetricsFilter.builder().build());
    List<MetricResult<Long>> counters = new ArrayList<>();
    metrics.getCounters().forEach(counters::add);
    counters.sort(
        (a, b) -> (a.getName().getNamespace() + a.getName().getName())
            .compareTo(b.getName().getNamespace() + b.getName().getName()));
    for (MetricResult<Long> counter : counters) {
      if (!counter.getName().getNamespace().startsWith("org.apache.beam")) {
        out.printf(
            Locale.ROOT, "  %-48s %,14d%n",
            counter.getName().getNamespace() + "/" + counter.getName().getName(), counter.getAttempted());
      }
    }
  }

  static void checkInputExists(String input) {
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
