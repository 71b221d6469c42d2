package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.Partial;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.util.CoderUtils;
import org.junit.jupiter.api.Test;

/** The rolling counts' held partials survive their packed coder, whatever they hold, in the bytes it promises. */
class HeldPartialsCoderTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long BASE = 1_709_294_400_000L;

  @Test
  void roundTripsEveryKindOfPartial() throws Exception {
    List<TreeMap<Long, Partial>> cases =
        List.of(
            new TreeMap<>(),
            held(BASE, Partial.of(BASE, null)),
            held(BASE, Partial.of(BASE, null).add(BASE, null).add(BASE, null)),
            held(BASE, Partial.of(BASE, 2.5).add(BASE, -1.0).add(BASE, null)),
            // A latest timestamp other than the key, and an empty partial.
            held(BASE, Partial.of(BASE + 7, null), BASE + 1, new Partial()),
            held(-5L, Partial.of(-5L, 1e300), 0L, Partial.of(0L, null), 3L, Partial.of(3L, Double.MIN_VALUE)),
            // Keys as far apart as longs go: the differences wrap, and come back exact.
            held(Long.MIN_VALUE, Partial.of(Long.MIN_VALUE, null), Long.MAX_VALUE, Partial.of(Long.MAX_VALUE, 4.0)));
    for (TreeMap<Long, Partial> held : cases) {
      CoderProperties.coderDecodeEncodeEqual(HeldPartialsCoder.of(), held);
      CoderProperties.coderDeterministic(HeldPartialsCoder.of(), held, new TreeMap<>(held));
    }
    CoderProperties.coderSerializable(HeldPartialsCoder.of());
  }

  @Test
  void aClickAMinuteForAnHourTakesFiveBytesAClick() throws Exception {
    TreeMap<Long, Partial> held = new TreeMap<>();
    for (int minute = 0; minute < 60; minute++) {
      long timestamp = BASE + minute * 60_000L;
      held.put(timestamp, Partial.of(timestamp, null));
    }

    byte[] bytes = CoderUtils.encodeToByteArray(HeldPartialsCoder.of(), held);

    // The size (1 byte); the first click: its timestamp (6), flags (1), count (1); each later one: 60,000 ms
    // (3), flags (1), count (1).
    assertThat(bytes.length, equalTo(1 + 8 + 59 * 5));
  }

  @Test
  void aValueCutAfterAnEntrysTimestampFailsToDecode() throws Exception {
    byte[] bytes =
        CoderUtils.encodeToByteArray(
            HeldPartialsCoder.of(), held(BASE, Partial.of(BASE, null), BASE + 1, Partial.of(BASE + 1, null)));

    CoderException e =
        assertThrows(
            CoderException.class,
            () -> CoderUtils.decodeFromByteArray(HeldPartialsCoder.of(), Arrays.copyOf(bytes, bytes.length - 2)));

    assertThat(e.getMessage(), equalTo("held partials end after 1 of 2 entries"));
  }

  private static TreeMap<Long, Partial> held(Object... timestampsAndPartials) {
    TreeMap<Long, Partial> held = new TreeMap<>();
    for (int i = 0; i < timestampsAndPartials.length; i += 2) {
      held.put((Long) timestampsAndPartials[i], (Partial) timestampsAndPartials[i + 1]);
    }
    return held;
  }
}
