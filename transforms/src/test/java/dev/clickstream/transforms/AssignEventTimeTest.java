package dev.clickstream.transforms;

import dev.clickstream.schemas.ClickEvent;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class AssignEventTimeTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long NOON = 1_709_294_400_000L;

  private static final Duration FIVE_MINUTES = Duration.standardMinutes(5);

  private static final ClickEvent AT_NOON = event("e1", NOON);
  private static final ClickEvent JUST_BEFORE_12_05 = event("e2", NOON + 299_999);
  private static final ClickEvent AT_12_05 = event("e3", NOON + 300_000);
  private static final ClickEvent AT_EPOCH = event("e4", 0);

  @Test
  void stampsEachEventWithItsOwnTimestamp(TestPipeline pipeline) {
    PCollection<KV<String, Instant>> stamped =
        pipeline
            .apply(Create.of(AT_NOON, JUST_BEFORE_12_05, AT_12_05, AT_EPOCH).withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(AssignEventTime.fromEventTimestamp())
            .apply("OutputEventTime", ParDo.of(new IdAndEventTime()));

    PAssert.that(stamped)
        .containsInAnyOrder(
            KV.of("e1", new Instant(NOON)),
            KV.of("e2", new Instant(NOON + 299_999)),
            KV.of("e3", new Instant(NOON + 300_000)),
            KV.of("e4", new Instant(0)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void eventTimeDecidesTheWindow(TestPipeline pipeline) {
    PCollection<Long> perWindow =
        pipeline
            .apply(Create.of(AT_NOON, JUST_BEFORE_12_05, AT_12_05).withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(AssignEventTime.fromEventTimestamp())
            .apply(Window.into(FixedWindows.of(FIVE_MINUTES)))
            .apply(Combine.globally(Count.<ClickEvent>combineFn()).withoutDefaults());

    PAssert.that(perWindow).inWindow(new IntervalWindow(new Instant(NOON), FIVE_MINUTES)).containsInAnyOrder(2L);
    PAssert.that(perWindow)
        .inWindow(new IntervalWindow(new Instant(NOON).plus(FIVE_MINUTES), FIVE_MINUTES))
        .containsInAnyOrder(1L);
    pipeline.run().waitUntilFinish();
  }

  private static ClickEvent event(String id, long timestamp) {
    return ClickEvent.newBuilder()
        .setEventId(id)
        .setUserId("u1")
        .setEventType("impression")
        .setTimestamp(timestamp)
        .build();
  }

  /** The element's Beam event time, next to its id. */
  static final class IdAndEventTime extends DoFn<ClickEvent, KV<String, Instant>> {
    @ProcessElement
    public void processElement(
        @Element ClickEvent event, @Timestamp Instant timestamp, OutputReceiver<KV<String, Instant>> out) {
      out.output(KV.of(event.getEventId(), timestamp));
    }
  }
}
