package dev.clickstream.features;

import java.io.Serializable;
import java.time.Duration;

/**
 * A look-back window of a rolling feature: as of time {@code t}, the events with a timestamp in {@code [t - length,
 * t]}, both ends inclusive (Spark's {@code rangeBetween(-length, 0)}).
 */
public final class FeatureWindow implements Serializable, Comparable<FeatureWindow> {
  private static final long serialVersionUID = 1L;
  private static final long MINUTE_MILLIS = 60_000L;
  private static final long HOUR_MILLIS = 3_600_000L;

  private final long lengthMillis;

  private FeatureWindow(long lengthMillis) {
    if (lengthMillis <= 0 || lengthMillis % MINUTE_MILLIS != 0) {
      throw new IllegalArgumentException(
          "a feature window must be a positive whole number of minutes, got " + lengthMillis + " ms");
    }
    this.lengthMillis = lengthMillis;
  }

  public static FeatureWindow of(Duration length) {
    return new FeatureWindow(length.toMillis());
  }

  public static FeatureWindow minutes(long minutes) {
    return new FeatureWindow(minutes * MINUTE_MILLIS);
  }

  public long lengthMillis() {
    return lengthMillis;
  }

  public Duration length() {
    return Duration.ofMillis(lengthMillis);
  }

  /** The earliest timestamp in the window as of {@code asOf}. */
  public long startAsOf(long asOf) {
    return asOf - lengthMillis;
  }

  /** Column suffix: {@code 1_min}, {@code 30_min}, {@code 1_hour}, {@code 2_hour}. */
  public String label() {
    return lengthMillis % HOUR_MILLIS == 0
        ? (lengthMillis / HOUR_MILLIS) + "_hour"
        : (lengthMillis / MINUTE_MILLIS) + "_min";
  }

  @Override
  public int compareTo(FeatureWindow other) {
    return Long.compare(lengthMillis, other.lengthMillis);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FeatureWindow && ((FeatureWindow) o).lengthMillis == lengthMillis;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(lengthMillis);
  }

  @Override
  public String toString() {
    return label();
  }
}
