package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.Partial;
import java.util.List;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.util.CoderUtils;
import org.junit.jupiter.api.Test;

/** Partials survive the coder that keeps them in state: counts only, with values, merged, and empty. */
class PartialCoderTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long BASE = 1_709_294_400_000L;

  private static final List<Partial> PARTIALS =
      List.of(
          new Partial(),
          Partial.of(BASE, null),
          Partial.of(BASE, 2.5),
          Partial.of(BASE, null).add(BASE + 1, null).add(BASE - 60_000, null),
          Partial.of(BASE, -1.0).add(BASE, 4.0).add(BASE + 5, null).merge(Partial.of(BASE - 3, 1e300)),
          Partial.ofCount(Long.MAX_VALUE, 0L),
          Partial.of(-1L, Double.MIN_VALUE));

  @Test
  void roundTripsPartialsWithAndWithoutValues() throws Exception {
    for (Partial partial : PARTIALS) {
      CoderProperties.coderDecodeEncodeEqual(PartialCoder.of(), partial);
      CoderProperties.coderDeterministic(PartialCoder.of(), partial, partial.copy());
    }
    CoderProperties.coderSerializable(PartialCoder.of());
  }

  @Test
  void keepsEveryComponent() throws Exception {
    Partial partial = Partial.of(BASE, 3.0).add(BASE + 2, 1.0).add(BASE + 1, null);

    Partial decoded = CoderUtils.clone(PartialCoder.of(), partial);

    assertThat(decoded.count(), equalTo(3L));
    assertThat(decoded.latestTimestamp(), equalTo(BASE + 2));
    assertThat(decoded.valueCount(), equalTo(2L));
    assertThat(decoded.sum(), equalTo(4.0));
    assertThat(decoded.min(), equalTo(1.0));
    assertThat(decoded.max(), equalTo(3.0));
    assertThat(decoded.lastTimestamp(), equalTo(BASE + 2));
    assertThat(decoded.lastValue(), equalTo(1.0));
  }
}
