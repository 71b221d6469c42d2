package dev.clickstream.transforms;

import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Long values of two keys over two 5-minute windows, and the sums per key and window every keyed combine must give
 * them: the shared fixture of the tumbling-window and hashed-shard combine tests.
 */
final class SumsInTwoWindows {
  /** 2024-03-01T12:00:00Z: a 5-minute boundary. */
  static final Instant BASE = new Instant(1_709_294_400_000L);

  static final Duration FIVE_MINUTES = Duration.standardMinutes(5);
  static final IntervalWindow FIRST_WINDOW = new IntervalWindow(BASE, FIVE_MINUTES);
  static final IntervalWindow SECOND_WINDOW = new IntervalWindow(BASE.plus(FIVE_MINUTES), FIVE_MINUTES);

  static final KvCoder<String, Long> KV_CODER = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());

  private SumsInTwoWindows() {}

  /** a: 1 + 2 in the first window, 100 in the second; b: 10 in the first, 1000 in the second. Not yet windowed. */
  static PCollection<KV<String, Long>> values(Pipeline pipeline) {
    return pipeline.apply(
        Create.timestamped(
                value("a", 1, Duration.ZERO),
                value("a", 2, Duration.standardMinutes(4)),
                value("b", 10, Duration.standardMinutes(1)),
                value("a", 100, FIVE_MINUTES),
                value("b", 1000, Duration.standardMinutes(9)))
            .withCoder(KV_CODER));
  }

  /** The sums of {@link #values}, each in the on-time pane of its window. */
  static void assertSumsPerKeyAndWindow(PCollection<KV<String, Long>> sums) {
    PAssert.that(sums).inOnTimePane(FIRST_WINDOW).containsInAnyOrder(KV.of("a", 3L), KV.of("b", 10L));
    PAssert.that(sums).inOnTimePane(SECOND_WINDOW).containsInAnyOrder(KV.of("a", 100L), KV.of("b", 1000L));
  }

  static TimestampedValue<KV<String, Long>> value(String key, long value, Duration afterBase) {
    return TimestampedValue.of(KV.of(key, value), BASE.plus(afterBase));
  }
}
