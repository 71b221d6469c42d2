package dev.clickstream.pipelines;

import java.util.List;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/** The runners pipeline tests run on: Beam's Direct runner and a real Flink mini cluster embedded in the JVM. */
final class TestRunners {
  static final String DIRECT = "DirectRunner";
  static final String FLINK = "FlinkRunner";

  private TestRunners() {}

  static List<String> names() {
    return List.of(DIRECT, FLINK);
  }

  static CtrPipelineOptions ctrOptions(String runner) {
    CtrPipelineOptions options = PipelineOptionsFactory.as(CtrPipelineOptions.class);
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
