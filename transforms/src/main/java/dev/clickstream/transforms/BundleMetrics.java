package dev.clickstream.transforms;

import java.io.Serializable;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;

/**
 * Counters and one distribution tallied in plain fields while a bundle runs and added to Beam's metrics when it
 * finishes. Each metric update looks up the current metrics container (a thread-local) and the metric (a map): at
 * millions of elements per second that showed in profiles of the compiled features. Call {@link #reset()} from
 * {@code @StartBundle}, so a failed bundle's tallies are dropped as a runner drops its metrics, and {@link #flush()}
 * from {@code @FinishBundle}; the totals Beam reports are the same.
 */
public final class BundleMetrics implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Counter[] counters;
  private final Distribution distribution;
  private transient long[] counts;
  private transient long sum;
  private transient long samples;
  private transient long min;
  private transient long max;

  private BundleMetrics(Distribution distribution, Counter... counters) {
    this.counters = counters;
    this.distribution = distribution;
  }

  /** Tallies {@code counters}, addressed by their index in {@link #inc(int)}. */
  public static BundleMetrics of(Counter... counters) {
    return new BundleMetrics(null, counters);
  }

  /** Tallies {@code counters} and the values of {@code distribution}. */
  public static BundleMetrics of(Distribution distribution, Counter... counters) {
    return new BundleMetrics(distribution, counters);
  }

  public void inc(int counter) {
    tallies()[counter]++;
  }

  /** Adds {@code amount} to the counter {@code counter}. */
  public void add(int counter, long amount) {
    tallies()[counter] += amount;
  }

  public void update(long value) {
    tallies();
    if (samples == 0 || value < min) {
      min = value;
    }
    if (samples == 0 || value > max) {
      max = value;
    }
    sum += value;
    samples++;
  }

  /** Forgets what was tallied: a bundle that failed before its flush is retried, and counted then. */
  public void reset() {
    counts = null;
    sum = 0;
    samples = 0;
  }

  /** Adds what was tallied since the last flush to the metrics. */
  public void flush() {
    if (counts != null) {
      for (int i = 0; i < counters.length; i++) {
        if (counts[i] > 0) {
          counters[i].inc(counts[i]);
          counts[i] = 0;
        }
      }
    }
    if (samples > 0) {
      distribution.update(sum, samples, min, max);
      sum = 0;
      samples = 0;
    }
  }

  private long[] tallies() {
    if (counts == null) {
      counts = new long[counters.length];
    }
    return counts;
  }
}
