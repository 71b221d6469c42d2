package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;

import dev.clickstream.transforms.CombinePerKeyInKeyedState;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Sum;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The keyed-state combine on a real (embedded) Flink in streaming mode, copying elements between chained steps as a
 * job submitted to a cluster without the launcher's {@code --objectReuse} does: each element carries its tumbling
 * window through Flink's serializers. (The transform's own tests run on the Direct runner, which never encodes a
 * window.)
 */
class KeyedStateOnFlinkTest {
  /** 2024-03-01T12:00:00Z. */
  private static final Instant NOON = new Instant(1_709_294_400_000L);
  private static final Duration FIVE_MINUTES = Duration.standardMinutes(5);
  /** Filled by the pipeline's last step: embedded Flink runs in this JVM. */
  private static final Queue<String> SUMS = new ConcurrentLinkedQueue<>();

  @Test
  void sumsPerKeyAndWindowReachTheNextStepInTheirWindows() {
    FlinkPipelineOptions options = TestRunners.options(TestRunners.FLINK, FlinkPipelineOptions.class);
    options.setStreaming(true);
    options.setObjectReuse(false);
    options.setFasterCopy(false);
    Pipeline pipeline = Pipeline.create(options);

    pipeline
        .apply(Create.timestamped(
                TimestampedValue.of(KV.of("a", 1L), NOON.plus(Duration.standardMinutes(1))),
                TimestampedValue.of(KV.of("a", 2L), NOON.plus(Duration.standardMinutes(4))),
                TimestampedValue.of(KV.of("a", 4L), NOON.plus(Duration.standardMinutes(6))),
                TimestampedValue.of(KV.of("b", 8L), NOON.plus(Duration.standardMinutes(2))))
            .withCoder(KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of())))
        .apply(CombinePerKeyInKeyedState.<String, Long, long[], Long>of(Sum.ofLongs(), FIVE_MINUTES))
        .apply(ParDo.of(new Describe()));
    SUMS.clear();
    pipeline.run().waitUntilFinish();

    assertThat(SUMS, containsInAnyOrder(
        "a 1709294400000 ON_TIME 3", "b 1709294400000 ON_TIME 8", "a 1709294700000 ON_TIME 4"));
  }

  /** "key windowStart TIMING sum". */
  private static final class Describe extends DoFn<KV<String, Long>, Void> {
    @ProcessElement
    public void processElement(@Element KV<String, Long> sum, IntervalWindow window, PaneInfo pane) {
      SUMS.add(sum.getKey() + " " + window.start().getMillis() + " " + pane.getTiming() + " " + sum.getValue());
    }
  }
}
