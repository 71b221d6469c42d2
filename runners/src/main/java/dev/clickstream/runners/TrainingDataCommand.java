package dev.clickstream.runners;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.offline.TrainingData;
import dev.clickstream.offline.TrainingDataOptions;
import dev.clickstream.offline.TrainingSetFiles;
import dev.clickstream.offline.TrainingView;
import dev.clickstream.pipelines.EmbeddedFlink;
import dev.clickstream.pipelines.OptionsHelp;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * {@code ./clickstream training-data}: a point-in-time correct training set from the offline store ({@link
 * TrainingData}), on embedded Flink unless {@code --runner} or {@code --flinkMaster} says otherwise.
 */
final class TrainingDataCommand {
  static final String HELP = help();

  private TrainingDataCommand() {}

  private static String help() {
    List<String> lines = new ArrayList<>();
    lines.add("Usage: ./clickstream training-data --spine=FILE --features=VIEW[,VIEW...] --output=FILE"
        + " [--maxAge=DURATION]");
    lines.add("");
    lines.add("One row per spine row, in spine order: the spine's columns, then each view's columns as VIEW__COLUMN,");
    lines.add("each the value a caught-up online store would have served at the row's timestamp (docs/features.md,");
    lines.add("Training data). Null where the entity had no value yet, or one older than --maxAge.");
    lines.add("");
    lines.add("Views: " + String.join(", ", TrainingView.names(FeatureDefinitions.REGISTRY)));
    lines.add("");
    lines.addAll(OptionsHelp.lines(TrainingDataOptions.class));
    lines.add("  --runner=FlinkRunner|DirectRunner   embedded Flink (default), a cluster with --flinkMaster=HOST:PORT,");
    lines.add("                                      or the Direct runner for small spines");
    return String.join("\n", lines);
  }

  static int run(List<String> args, PrintStream out) throws IOException {
    TrainingDataOptions options = options(args);
    TrainingData.Plan plan;
    try {
      plan = TrainingData.plan(options, FeatureDefinitions.REGISTRY);
    } catch (IllegalArgumentException e) {
      throw new UsageException("training-data: " + e.getMessage());
    }
    out.printf("Building a training set on %s: spine %s, views %s%n", options.getRunner().getSimpleName(),
        plan.spine().path(), plan.views().stream().map(TrainingView::toString).collect(Collectors.joining(", ")));
    long started = System.nanoTime();
    TrainingSetFiles.prepare(plan);
    Pipeline pipeline = Pipeline.create(options);
    TrainingData.build(pipeline, plan);
    PipelineResult result = RunCommand.runWithHeartbeat(pipeline, out);
    long rows = TrainingSetFiles.assemble(plan);
    double seconds = (System.nanoTime() - started) / 1e9;
    out.println("Values found, and null (no value at the time, or too old), per view:");
    RunCommand.printCounters(result, out);
    out.printf(Locale.ROOT, "Wrote %,d rows of %d columns to %s in %.1f s (%,.0f spine rows/s)%n", rows,
        plan.schema().getFieldCount(), plan.output(), seconds, rows / seconds);
    return 0;
  }

  /** Beam options for the job: embedded Flink unless said otherwise, a cluster's defaults for --flinkMaster. */
  static TrainingDataOptions options(List<String> args) {
    TrainingDataOptions options;
    try {
      options = PipelineOptionsFactory.fromArgs(args.toArray(new String[0]))
          .withValidation()
          .as(TrainingDataOptions.class);
    } catch (IllegalArgumentException e) {
      throw new UsageException("training-data: " + OptionsHelp.problem(e) + " (see ./clickstream training-data --help)");
    }
    Set<String> given = RunCommand.givenOptions(args);
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    if (!given.contains("runner")) {
      options.setRunner(FlinkRunner.class);
    }
    if (!given.contains("jobName")) {
      options.setJobName("clickstream-training-data");
    }
    if (RunCommand.namesACluster(flink.getFlinkMaster())) {
      if (!given.contains("filesToStage")) {
        flink.setFilesToStage(List.of(ClusterCommand.jobJar().toString()));
      }
      if (!given.contains("parallelism")) {
        flink.setParallelism(RunCommand.CLUSTER_PARALLELISM);
      }
    } else {
      EmbeddedFlink.bindTo(flink, EmbeddedFlink.LOOPBACK);
    }
    return options;
  }
}
