package dev.clickstream.features;

import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RollingWindowsTest {
  private static final List<FeatureWindow> WINDOWS = List.of(minutes(1), minutes(10), minutes(60));
  private static final long AS_OF = 10_000_000L;

  @Test
  void bothEndsOfEveryWindowAreInclusive() {
    TreeMap<Long, Partial> byTimestamp = new TreeMap<>();
    for (long timestamp :
        new long[] {AS_OF, AS_OF - 60_000, AS_OF - 60_001, AS_OF - 600_000, AS_OF - 3_600_000, AS_OF - 3_600_001,
          AS_OF + 1}) {
      byTimestamp.put(timestamp, Partial.of(timestamp, null));
    }

    assertThat(counts(RollingWindows.aggregate(WINDOWS, byTimestamp, AS_OF)), contains(2L, 4L, 5L));
  }

  @Test
  void anEmptyRangeGivesEmptyPartials() {
    TreeMap<Long, Partial> byTimestamp = new TreeMap<>();
    byTimestamp.put(AS_OF - 4_000_000, Partial.of(AS_OF - 4_000_000, null));

    assertThat(counts(RollingWindows.aggregate(WINDOWS, byTimestamp, AS_OF)), contains(0L, 0L, 0L));
  }

  @Test
  void agreesWithCountingEveryEventForRandomInput() {
    Random random = new Random(7);
    long[] timestamps = new long[2_000];
    TreeMap<Long, Partial> byTimestamp = new TreeMap<>();
    for (int i = 0; i < timestamps.length; i++) {
      timestamps[i] = random.nextInt(7_200_000);
      byTimestamp.computeIfAbsent(timestamps[i], t -> new Partial()).add(timestamps[i], null);
    }
    for (int trial = 0; trial < 200; trial++) {
      long asOf = timestamps[random.nextInt(timestamps.length)] + random.nextInt(3) - 1;
      Long[] expected = new Long[WINDOWS.size()];
      for (int w = 0; w < WINDOWS.size(); w++) {
        long start = asOf - WINDOWS.get(w).lengthMillis();
        expected[w] = Arrays.stream(timestamps).filter(t -> t >= start && t <= asOf).count();
      }

      assertThat(counts(RollingWindows.aggregate(WINDOWS, byTimestamp, asOf)), contains(expected));
    }
  }

  private static List<Long> counts(Partial[] partials) {
    return Arrays.stream(partials).map(Partial::count).collect(Collectors.toList());
  }
}
