package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.runner.Description;
import org.junit.runners.model.Statement;

@ExtendWith(TestPipelineExtension.class)
class TestPipelineExtensionTest {

  @Test
  void runsAPipelineAndItsAssertions(TestPipeline pipeline) {
    PCollection<Integer> doubled =
        pipeline
            .apply(Create.of(1, 2, 3))
            .apply(MapElements.into(TypeDescriptors.integers()).via((Integer x) -> x * 2));
    PAssert.that(doubled).containsInAnyOrder(2, 4, 6);
    pipeline.run().waitUntilFinish();
  }

  @Test
  void theWrappedRuleStillRejectsAPipelineThatWasNeverRun() {
    TestPipeline pipeline = TestPipeline.create().enableAbandonedNodeEnforcement(true);
    Statement neverRuns =
        new Statement() {
          @Override
          public void evaluate() {
            PAssert.that(pipeline.apply(Create.of(1))).containsInAnyOrder(1);
          }
        };
    Throwable failure =
        assertThrows(
            Throwable.class,
            () -> pipeline.apply(neverRuns, Description.createTestDescription(getClass(), "neverRuns")).evaluate());
    assertThat(failure.getMessage(), containsString("run"));
  }
}
