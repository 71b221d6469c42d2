package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link RowArrivals}: each row counted once, at the first poll that saw it, against its window's due time. */
class RowArrivalsTest {
  private static final long W1 = 300_000;
  private static final long W2 = 600_000;

  @Test
  void eachRowCountsOnceAtTheFirstPollThatSawIt() {
    RowArrivals arrivals = new RowArrivals();
    arrivals.observe(1_000, Map.of(W1, 2L));
    arrivals.observe(1_050, Map.of(W1, 5L));
    // The same rows again, then fewer (the next window replaced three of them): nothing new.
    arrivals.observe(1_100, Map.of(W1, 5L));
    arrivals.observe(1_150, Map.of(W1, 2L, W2, 3L));
    arrivals.observe(1_200, Map.of(W1, 2L, W2, 4L));

    // Window W1 due at 990, W2 at 1_140.
    RowArrivals.Latencies all = arrivals.latencies(time -> time == W1 ? 990 : 1_140, 0, 2_000);

    assertThat(all.sortedNanos(), is(new long[] {10, 10, 10, 10, 10, 60, 60, 60, 60}));
    assertThat(all.times(), is(2));
  }

  @Test
  void onlyWindowsDueWithinThePeriodCount() {
    RowArrivals arrivals = new RowArrivals();
    arrivals.observe(1_000, Map.of(W1, 1L, W2, 2L));

    RowArrivals.Latencies second = arrivals.latencies(time -> time == W1 ? 500 : 900, 600, 900);

    assertThat(second.sortedNanos(), is(new long[] {100, 100}));
    assertThat(second.times(), is(1));
    assertThat(arrivals.latencies(time -> 5_000, 0, 4_999).sortedNanos(), is(new long[0]));
  }
}
