package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.nio.file.Paths;
import java.util.List;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.pipelines.FeatureSelection;
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

  @Test
  void featuresNamedOnTheCommandLineNameTheJobAndItsDefaults() {
    FeaturePipelineOptions several = RunCommand.options("ctr_5min,user_sessions", List.of());
    FeaturePipelineOptions alias = RunCommand.options("ctr", List.of());

    assertThat(several.getFeatures(), equalTo(List.of("ctr_5min", "user_sessions")));
    assertThat(
        List.of(several.as(FlinkPipelineOptions.class).getJobName(), alias.as(FlinkPipelineOptions.class).getJobName()),
        equalTo(List.of("clickstream-ctr_5min+user_sessions", "clickstream-ctr")));
    assertThat(ClickstreamOptions.consumerGroup(several, FeatureSelection.nameOf(several.getFeatures())),
        equalTo("clickstream-ctr_5min+user_sessions"));
  }

  @Test
  void kafkaRunsGetShortBundlesAndABoundedOneEndsItsSourcesUnlessTheUserSaysOtherwise() {
    FlinkPipelineOptions bounded =
        RunCommand.options("ctr", List.of("--source=kafka", "--maxRecords=5")).as(FlinkPipelineOptions.class);
    FlinkPipelineOptions given =
        RunCommand.options("ctr", List.of("--source=kafka", "--maxRecords=5", "--maxBundleTimeMills=500",
            "--shutdownSourcesAfterIdleMs=7", "--checkpointingInterval=-1", "--runner=DirectRunner",
            "--maxParallelism=8", "--objectReuse=false")).as(FlinkPipelineOptions.class);
    FlinkPipelineOptions files = RunCommand.options("ctr", List.of()).as(FlinkPipelineOptions.class);

    assertThat(List.of(bounded.getMaxBundleTimeMills(), bounded.getShutdownSourcesAfterIdleMs(),
            bounded.getRunner().getSimpleName(), bounded.getMaxParallelism(), bounded.getFasterCopy(),
            bounded.getObjectReuse()),
        equalTo(List.of(100L, 0L, "FlinkRunner", 128, true, true)));
    assertThat(List.of(given.getMaxBundleTimeMills(), given.getShutdownSourcesAfterIdleMs(),
            given.getCheckpointingInterval(), given.getRunner().getSimpleName(), given.getMaxParallelism(),
            given.getFasterCopy(), given.getObjectReuse()),
        equalTo(List.of(500L, 7L, -1L, "DirectRunner", 8, false, false)));
    assertThat(java.util.Arrays.asList(files.getMaxBundleTimeMills(), files.getCheckpointingInterval(),
            files.getStateBackend()),
        equalTo(java.util.Arrays.asList(10_000L, -1L, null)));
  }

  @Test
  void aRunWithCheckpointsKeepsFlinksCopyOfStateThatACheckpointIsWriting() {
    FlinkPipelineOptions unbounded = RunCommand.options("all", List.of("--source=kafka")).as(FlinkPipelineOptions.class);
    FlinkPipelineOptions boundedWithCheckpoints =
        RunCommand.options("all", List.of("--source=kafka", "--maxRecords=5", "--checkpointingInterval=2000"))
            .as(FlinkPipelineOptions.class);
    FlinkPipelineOptions unboundedWithout =
        RunCommand.options("all", List.of("--source=kafka", "--checkpointingInterval=-1"))
            .as(FlinkPipelineOptions.class);

    // Elements between chained steps are never copied; state values are, while a checkpoint writes them.
    assertThat(List.of(unbounded.getCheckpointingInterval(), unbounded.getObjectReuse(), unbounded.getFasterCopy()),
        equalTo(List.of(10_000L, true, false)));
    assertThat(List.of(boundedWithCheckpoints.getObjectReuse(), boundedWithCheckpoints.getFasterCopy()),
        equalTo(List.of(true, false)));
    assertThat(List.of(unboundedWithout.getObjectReuse(), unboundedWithout.getFasterCopy()),
        equalTo(List.of(true, true)));
  }

  @Test
  void flinksOwnBackendNamesMapOntoBeamsAndAnUnknownOneIsAUsageError() {
    FlinkPipelineOptions rocks =
        RunCommand.options("ctr", List.of("--stateBackend=rocksdb", "--stateBackendStoragePath=file:///tmp/cp"))
            .as(FlinkPipelineOptions.class);
    UsageException unknown =
        org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
            () -> RunCommand.options("ctr", List.of("--stateBackend=memory")));

    assertThat(List.of(rocks.getStateBackend(), rocks.getStateBackendStoragePath()),
        equalTo(List.of("rocksdb", "file:///tmp/cp")));
    assertThat(unknown.getMessage(), equalTo("--stateBackend=memory must be heap (also called hashmap) or rocksdb"));
  }
}
