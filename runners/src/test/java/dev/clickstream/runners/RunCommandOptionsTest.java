package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.nio.file.Paths;
import java.util.List;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.junit.jupiter.api.Test;

/** The defaults {@code run} adds to what the user gave, without running anything. */
class RunCommandOptionsTest {
  @Test
  void anEmbeddedUnboundedKafkaRunCheckpointsToFilesByDefault() {
    FlinkPipelineOptions flink =
        RunCommand.options("click-counts", List.of("--source=kafka")).as(FlinkPipelineOptions.class);

    assertThat(
        List.of(flink.getCheckpointingInterval(), flink.getStateBackend(), flink.getStateBackendStoragePath()),
        equalTo(List.of(10_000L, "filesystem",
            Paths.get("data", "checkpoints").toAbsolutePath().toUri().toString())));
  }

  @Test
  void boundedRunsAndAnExplicitIntervalAreLeftAsGiven() {
    FlinkPipelineOptions bounded =
        RunCommand.options("click-counts", List.of("--source=kafka", "--maxRecords=5")).as(FlinkPipelineOptions.class);
    FlinkPipelineOptions explicit =
        RunCommand.options("click-counts", List.of("--source=kafka", "--checkpointingInterval=2000"))
            .as(FlinkPipelineOptions.class);

    assertThat(List.of(bounded.getCheckpointingInterval(), explicit.getCheckpointingInterval()),
        equalTo(List.of(-1L, 2_000L)));
  }
}
