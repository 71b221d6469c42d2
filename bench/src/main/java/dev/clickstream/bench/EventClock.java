package dev.clickstream.bench;

import java.util.function.LongSupplier;

/**
 * The event time a bench stamps its events with: the wall clock, read through {@link System#nanoTime} so that it
 * never goes back, and mapped back to the moment the producer reached a given event time (a window's due time).
 *
 * <p>It runs at the wall clock's pace on purpose: on Beam's Flink runner an unbounded read's watermark cannot pass
 * the wall clock (the splittable read's resume timer holds it at processing time), so events dated ahead of it
 * would close no window sooner.
 */
final class EventClock {
  private final long startMillis;
  private final long startNanos;
  private final LongSupplier nanoTime;

  EventClock() {
    this(System.currentTimeMillis(), System.nanoTime(), System::nanoTime);
  }

  EventClock(long startMillis, long startNanos, LongSupplier nanoTime) {
    this.startMillis = startMillis;
    this.startNanos = startNanos;
    this.nanoTime = nanoTime;
  }

  /** The event time of now. */
  long nowMillis() {
    return startMillis + Math.floorDiv(nanoTime.getAsLong() - startNanos, 1_000_000L);
  }

  /** When, on {@link System#nanoTime}'s scale, this clock reaches {@code eventMillis}. */
  long nanosWhen(long eventMillis) {
    return startNanos + (eventMillis - startMillis) * 1_000_000L;
  }

  /** The event time the clock started at: nothing the bench sends is older. */
  long startMillis() {
    return startMillis;
  }
}
