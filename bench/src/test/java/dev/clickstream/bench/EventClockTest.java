package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** {@link EventClock}: event time from the monotonic clock, and back. */
class EventClockTest {

  @Test
  void eventTimeFollowsTheMonotonicClockAndMapsBack() {
    AtomicLong nanos = new AtomicLong(5_000_000_000L);
    EventClock clock = new EventClock(1_700_000_000_000L, 5_000_000_000L, nanos::get);

    assertThat(clock.nowMillis(), is(1_700_000_000_000L));
    nanos.addAndGet(1_500_999_999L);
    assertThat(clock.nowMillis(), is(1_700_000_001_500L));
    // A 5-minute window ending 300 s after the start, due 30 s later, comes due 330 s after the start.
    assertThat(clock.nanosWhen(1_700_000_330_000L), is(335_000_000_000L));
  }
}
