package dev.clickstream.runners;

import dev.clickstream.pipelines.CtrPipeline;
import dev.clickstream.pipelines.CtrPipelineOptions;
import dev.clickstream.transforms.ProcessingClock;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/** {@code ./clickstream run PIPELINE}: runs a feature pipeline to completion and prints what it did. */
final class RunCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream run ctr --input=FILE_OR_GLOB [options]",
          "",
          "Pipelines:",
          "  ctr    click-through rate per user over 5-minute event-time windows -> table ctr_5min",
          "",
          "Options follow Beam's --name=value convention:",
          "  --runner=FlinkRunner|DirectRunner   FlinkRunner (default) runs an embedded Flink cluster in this JVM,",
          "                                      unless --flinkMaster=HOST:PORT names a running one",
          "  --input=FILE_OR_GLOB                events: JSON lines, or Avro container files (*.avro)",
          "  --onlineStore=JDBC_URL              default " + dev.clickstream.pipelines.ClickstreamOptions.DEFAULT_ONLINE_STORE,
          "                                      or jdbc:postgresql://HOST:PORT/DB?user=USER",
          "                                      or jdbc:mariadb://HOST:PORT/DB?user=USER (jdbc:mysql:// too)",
          "  --offlineStore=DIR                  default ./data/offline",
          "  --deadLetter=PATH                   default ./data/dead-letters/ctr.jsonl",
          "",
          "'./clickstream run ctr --help' lists every option of the pipeline, including the runner's.");

  private static final long HEARTBEAT_SECONDS = 15;

  private RunCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || args.get(0).startsWith("-") || args.get(0).equals("help")) {
      out.println(HELP);
      return args.isEmpty() ? 2 : 0;
    }
    String pipeline = args.get(0);
    List<String> rest = args.subList(1, args.size());
    if (!pipeline.equals("ctr")) {
      throw new UsageException("run: unknown pipeline '" + pipeline + "'; available: ctr");
    }
    if (Flags.wantsHelp(rest)) {
      out.println(HELP);
      out.println();
      PipelineOptionsFactory.printHelp(out, CtrPipelineOptions.class);
      return 0;
    }
    CtrPipelineOptions options = ctrOptions(rest);
    checkInputExists(options.getInput());
    out.printf("Running the CTR pipeline on %s: %s -> %s%n",
        options.getRunner().getSimpleName(), options.getInput(), options.getOnlineStore());
    PipelineResult result = runWithHeartbeat(pipelineFor(options), out);
    out.println("Done. Counters:");
    printCounters(result, out);
    out.printf("Dead letters: %s%nOffline rows: %s/ctr_5min/%n", options.getDeadLetter(), options.getOfflineStore());
    return 0;
  }

  /** Beam options for the CTR pipeline, embedded Flink unless --runner says otherwise. */
  static CtrPipelineOptions ctrOptions(List<String> args) {
    List<String> beamArgs = new ArrayList<>(args);
    if (beamArgs.stream().noneMatch(arg -> arg.startsWith("--runner="))) {
      beamArgs.add("--runner=FlinkRunner");
    }
    try {
      return PipelineOptionsFactory.fromArgs(beamArgs.toArray(new String[0]))
          .withValidation()
          .as(CtrPipelineOptions.class);
    } catch (IllegalArgumentException e) {
      throw new UsageException("run ctr: " + e.getMessage() + " (see ./clickstream run ctr --help)");
    }
  }

  static Pipeline pipelineFor(CtrPipelineOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    CtrPipeline.build(pipeline, options, ProcessingClock.SYSTEM);
    return pipeline;
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
