package dev.clickstream.pipelines;

import java.util.List;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/** The runners pipeline tests run on: Beam's Direct runner and a real Flink mini cluster embedded in the JVM. */
final class TestRunners {
  static final String DIRECT = "DirectRunner";
  static final String FLINK = "FlinkRunner";

  private TestRunners() {}

  static List<String> names() {
    return List.of(DIRECT, FLINK);
  }

  static FeaturePipelineOptions ctrOptions(String runner) {
    return features(options(runner, FeaturePipelineOptions.class), "ctr");
  }

  /** {@code options} running the features (or alias) {@code names}. */
  static <T extends FeaturePipelineOptions> T features(T options, String... names) {
    options.setFeatures(List.of(names));
    return options;
  }

  /** Options of {@code type} for {@code runner}; Flink runs embedded with parallelism 2. */
  static <T extends PipelineOptions> T options(String runner, Class<T> type) {
    T options = PipelineOptionsFactory.as(type);
    switch (runner) {
      case DIRECT:
        options.setRunner(DirectRunner.class);
        return options;
      case FLINK:
        FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
        flink.setRunner(FlinkRunner.class);
        flink.setFlinkMaster("[local]");
        flink.setParallelism(2);
        return options;
      default:
        throw new IllegalArgumentException("unknown test runner " + runner + ", expected one of " + names());
    }
  }
}
