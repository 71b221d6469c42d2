package dev.clickstream.features;

import java.io.Serializable;
import java.util.Objects;

/**
 * A mergeable summary of a set of events: what every {@link Aggregation} is computed from.
 *
 * <p>The streaming state (one per distinct timestamp), a tile (one per entity and minute) and a range of raw rows
 * all reduce to a {@code Partial}, and merging partials is associative and commutative, so the pre-computed,
 * on-demand and tiled patterns give the same answer for the same events. Values are optional: {@code count} counts
 * every event, the value components only the events that carry a value (as SQL's aggregates skip NULL).
 *
 * <p>Mutable, for cheap accumulation in state; {@link #copy()} before sharing.
 */
public final class Partial implements Serializable {
  private static final long serialVersionUID = 1L;

  private long count;
  /** Timestamp of the latest event; {@link Long#MIN_VALUE} when there is none. */
  private long latestTimestamp = Long.MIN_VALUE;
  private long valueCount;
  private double sum;
  private double min = Double.POSITIVE_INFINITY;
  private double max = Double.NEGATIVE_INFINITY;
  /** Timestamp of the latest event that carries a value; {@link Long#MIN_VALUE} when there is none. */
  private long lastTimestamp = Long.MIN_VALUE;
  private double lastValue = Double.NaN;

  public Partial() {}

  /** A partial of one event at {@code timestamp}, with {@code value} or null. */
  public static Partial of(long timestamp, Double value) {
    return new Partial().add(timestamp, value);
  }

  /** A partial of {@code count} events without values, the latest at {@code latestTimestamp}. */
  public static Partial ofCount(long count, long latestTimestamp) {
    Partial partial = new Partial();
    partial.count = count;
    partial.latestTimestamp = latestTimestamp;
    return partial;
  }

  /** A partial rebuilt from stored components, as {@link #count()} and the other getters return them. */
  public static Partial fromComponents(
      long count, long latestTimestamp, long valueCount, double sum, double min, double max, long lastTimestamp,
      double lastValue) {
    Partial partial = new Partial();
    partial.count = count;
    partial.latestTimestamp = latestTimestamp;
    partial.valueCount = valueCount;
    partial.sum = sum;
    partial.min = min;
    partial.max = max;
    partial.lastTimestamp = lastTimestamp;
    partial.lastValue = lastValue;
    return partial;
  }

  /** Adds one event. */
  public Partial add(long timestamp, Double value) {
    count++;
    latestTimestamp = Math.max(latestTimestamp, timestamp);
    if (value != null) {
      addValue(1, value, value, value, timestamp, value);
    }
    return this;
  }

  /** Adds every event of {@code other}; {@code other} is left unchanged. */
  public Partial merge(Partial other) {
    count += other.count;
    latestTimestamp = Math.max(latestTimestamp, other.latestTimestamp);
    if (other.valueCount > 0) {
      addValue(other.valueCount, other.sum, other.min, other.max, other.lastTimestamp, other.lastValue);
    }
    return this;
  }

  private void addValue(
      long values, double valueSum, double valueMin, double valueMax, long timestamp, double value) {
    valueCount += values;
    sum += valueSum;
    min = Math.min(min, valueMin);
    max = Math.max(max, valueMax);
    // Ties on the timestamp go to the larger value, so the result does not depend on arrival order.
    if (timestamp > lastTimestamp || (timestamp == lastTimestamp && value > lastValue)) {
      lastTimestamp = timestamp;
      lastValue = value;
    }
  }

  public Partial copy() {
    return new Partial().merge(this);
  }

  public boolean isEmpty() {
    return count == 0;
  }

  public long count() {
    return count;
  }

  /** The latest event's timestamp; {@link Long#MIN_VALUE} when empty. */
  public long latestTimestamp() {
    return latestTimestamp;
  }

  public long valueCount() {
    return valueCount;
  }

  public double sum() {
    return sum;
  }

  public double min() {
    return min;
  }

  public double max() {
    return max;
  }

  public long lastTimestamp() {
    return lastTimestamp;
  }

  public double lastValue() {
    return lastValue;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Partial)) {
      return false;
    }
    Partial that = (Partial) o;
    return count == that.count && latestTimestamp == that.latestTimestamp && valueCount == that.valueCount && Double.compare(sum, that.sum) == 0
        && Double.compare(min, that.min) == 0 && Double.compare(max, that.max) == 0
        && lastTimestamp == that.lastTimestamp && Double.compare(lastValue, that.lastValue) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(count, latestTimestamp, valueCount, sum, min, max, lastTimestamp, lastValue);
  }

  @Override
  public String toString() {
    return "Partial{count=" + count + ", latest=" + latestTimestamp + ", values=" + valueCount + ", sum=" + sum + ", min=" + min + ", max=" + max
        + ", last=" + lastValue + "@" + lastTimestamp + "}";
  }
}
