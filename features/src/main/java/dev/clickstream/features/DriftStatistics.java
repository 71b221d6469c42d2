package dev.clickstream.features;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Two measures of how far a recent sample of a numeric feature has moved from a reference sample: the population
 * stability index ({@link #psi}) and the two-sample Kolmogorov–Smirnov statistic ({@link #ks}). Pure functions of
 * their arguments, which they never modify.
 *
 * <p>Both take every value as it is: no value is dropped, infinities sort below or above every finite value, and a
 * NaN, which has no place in either order, is rejected.
 */
public final class DriftStatistics {

  /**
   * The proportion a bin is given when a side has no value in it: without a floor, {@code ln(recent / reference)}
   * would be infinite. 1e-4 (one in ten thousand) is below any proportion a sample of fewer than 10,000 values can
   * have, so it only ever stands in for zero. It is a floor, not a smoothing: the other bins are not renormalised.
   */
  public static final double EMPTY_BIN_PROPORTION = 1e-4;

  private DriftStatistics() {}

  /**
   * The population stability index of {@code recent} against {@code reference}, over at most {@code bins} bins cut
   * at quantiles of the reference:
   *
   * <pre>
   *   PSI = Σ over bins (recent_i − reference_i) · ln(recent_i / reference_i)
   * </pre>
   *
   * where {@code reference_i} and {@code recent_i} are the proportions of each sample in bin {@code i}, a zero
   * proportion counting as {@link #EMPTY_BIN_PROPORTION}. Every term is zero or positive, so PSI is 0 exactly when
   * both samples spread over the bins alike; 0.1 is commonly read as a moderate shift, 0.2 as a significant one.
   * Terms are added in bin order, from the lowest values up.
   *
   * <p><b>Bins.</b> With the reference sorted ({@code n} values, positions from 0), the {@code j}-th cut ({@code j =
   * 1 .. bins − 1}) is the value at position {@code ⌊j · n / bins⌋}: the reference's quantile of order {@code
   * j / bins}. Cuts equal to one another or to the reference's minimum are dropped, so ties never make a bin that no
   * reference value can fall in. The bins are then {@code (−∞, c_1)}, {@code [c_1, c_2)}, ..., {@code [c_last, +∞)}:
   * a recent value outside the reference's range falls in the first or the last bin. Each bin holds at least one
   * reference value, so only recent proportions are ever floored, and there are fewer bins than asked when the
   * reference has fewer distinct values (a single bin, and PSI 0, when all are equal).
   *
   * @throws IllegalArgumentException when a sample is null or empty, holds a NaN, or {@code bins} is below 1
   */
  public static double psi(double[] reference, double[] recent, int bins) {
    checkSample(reference, "reference");
    checkSample(recent, "recent");
    if (bins < 1) {
      throw new IllegalArgumentException("bins must be at least 1, got " + bins);
    }
    double[] sortedReference = sorted(reference);
    double[] cuts = cuts(sortedReference, bins);
    long[] referenceCounts = countPerBin(sortedReference, cuts);
    long[] recentCounts = countPerBin(recent, cuts);
    double psi = 0;
    for (int bin = 0; bin < cuts.length + 1; bin++) {
      double referenceShare = proportion(referenceCounts[bin], reference.length);
      double recentShare = proportion(recentCounts[bin], recent.length);
      psi += (recentShare - referenceShare) * Math.log(recentShare / referenceShare);
    }
    return psi;
  }

  /**
   * The exact two-sample Kolmogorov–Smirnov statistic: the largest {@code |F_a(x) − F_b(x)|} over every value
   * {@code x} of either sample, where {@code F_s(x)} is the share of sample {@code s} that is at most {@code x}. Tied
   * values step each empirical distribution function once, by all of them together, so ties within or across the
   * samples are measured as the step functions are. Between 0 (the same distribution of values) and 1 (samples that
   * do not overlap). This is the statistic only, not a test: its spread under no drift shrinks with the sample sizes.
   *
   * @throws IllegalArgumentException when a sample is null or empty, or holds a NaN
   */
  public static double ks(double[] a, double[] b) {
    checkSample(a, "a");
    checkSample(b, "b");
    double[] sortedA = sorted(a);
    double[] sortedB = sorted(b);
    int i = 0;
    int j = 0;
    double largest = 0;
    while (i < sortedA.length && j < sortedB.length) {
      double x = Math.min(sortedA[i], sortedB[j]);
      // Past every value equal to x on both sides before comparing: F steps once per distinct value.
      while (i < sortedA.length && sortedA[i] == x) {
        i++;
      }
      while (j < sortedB.length && sortedB[j] == x) {
        j++;
      }
      largest = Math.max(largest, Math.abs((double) i / sortedA.length - (double) j / sortedB.length));
    }
    // Once one sample is used up its F is 1, and the other's only rises towards 1: the gap only narrows.
    return largest;
  }

  /** The cuts between bins, strictly increasing and each above the reference's minimum; see {@link #psi}. */
  private static double[] cuts(double[] sortedReference, int bins) {
    int n = sortedReference.length;
    List<Double> cuts = new ArrayList<>();
    double previous = sortedReference[0];
    for (int j = 1; j < bins; j++) {
      double cut = sortedReference[(int) ((long) j * n / bins)];
      if (cut > previous) {
        cuts.add(cut);
        previous = cut;
      }
    }
    return cuts.stream().mapToDouble(Double::doubleValue).toArray();
  }

  /** How many values fall in each bin: bin 0 below the first cut, bin {@code k} at or above cut {@code k}. */
  private static long[] countPerBin(double[] values, double[] cuts) {
    long[] counts = new long[cuts.length + 1];
    for (double value : values) {
      counts[binOf(value, cuts)]++;
    }
    return counts;
  }

  /** The number of cuts at or below {@code value}. */
  private static int binOf(double value, double[] cuts) {
    int low = 0;
    int high = cuts.length;
    while (low < high) {
      int middle = (low + high) >>> 1;
      if (cuts[middle] <= value) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  private static double proportion(long count, int total) {
    return count == 0 ? EMPTY_BIN_PROPORTION : (double) count / total;
  }

  private static double[] sorted(double[] values) {
    double[] copy = values.clone();
    Arrays.sort(copy);
    return copy;
  }

  private static void checkSample(double[] values, String name) {
    if (values == null || values.length == 0) {
      throw new IllegalArgumentException(
          "the " + name + " sample must hold at least one value, got " + (values == null ? "null" : "none"));
    }
    for (int i = 0; i < values.length; i++) {
      if (Double.isNaN(values[i])) {
        throw new IllegalArgumentException(
            "the " + name + " sample holds NaN at index " + i + ": drop or impute undefined values before"
                + " measuring drift");
      }
    }
  }
}
