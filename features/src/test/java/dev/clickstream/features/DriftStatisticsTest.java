package dev.clickstream.features;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.closeTo;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** PSI and KS against values worked out by hand, ties, and the inputs they refuse. */
class DriftStatisticsTest {
  private static final double EPSILON = DriftStatistics.EMPTY_BIN_PROPORTION;
  /** Far below the rounding of the printed values, far above that of a double. */
  private static final double TOLERANCE = 1e-12;

  // ---------------------------------------------------------------------------------------------------------------
  // PSI

  @Test
  void psiOfASampleAgainstItselfIsZero() {
    double[] values = {0.1, 0.2, 0.2, 0.5, 0.9, 1.3, 2.0, 3.1};

    assertThat(DriftStatistics.psi(values, values.clone(), 4), is(0.0));
    assertThat(DriftStatistics.psi(values, values.clone(), 10), is(0.0));
  }

  @Test
  void psiOverFourBinsCutAtReferenceQuartiles() {
    // Reference 1..8 (n = 8): cuts at positions 8/4 = 2, 4, 6 of the sorted values, i.e. 3, 5 and 7, so the bins
    // (-inf, 3) [3, 5) [5, 7) [7, inf) hold 2 reference values each: 0.25 apiece.
    double[] reference = {8, 1, 7, 2, 6, 3, 5, 4};
    // Recent: {1, 2, 2} | {4} | {5, 6} | {7, 8} = 3/8, 1/8, 2/8, 2/8.
    double[] recent = {2, 1, 2, 4, 5, 6, 7, 8};

    // (0.375 - 0.25) ln(0.375 / 0.25) + (0.125 - 0.25) ln(0.125 / 0.25) + 0 + 0
    //   = 0.125 ln 1.5 + 0.125 ln 2 = 0.125 * 0.4054651 + 0.125 * 0.6931472 = 0.0506831 + 0.0866434 = 0.1373265
    assertThat(
        DriftStatistics.psi(reference, recent, 4), closeTo(0.125 * Math.log(1.5) + 0.125 * Math.log(2), TOLERANCE));
    assertThat(DriftStatistics.psi(reference, recent, 4), closeTo(0.1373265360835137, TOLERANCE));
  }

  @Test
  void anEmptyRecentBinCountsAsTheFloorProportion() {
    double[] reference = {1, 2, 3, 4, 5, 6, 7, 8};
    // Bins as above: {2} | {} | {5, 6} | {7, 8, 9, 9, 10} = 1/8, 0 (floored to 1e-4), 2/8, 5/8. Values above the
    // reference's maximum fall in the last bin.
    double[] recent = {2, 5, 6, 7, 8, 9, 9, 10};

    // (0.125 - 0.25) ln 0.5 + (0.0001 - 0.25) ln(0.0001 / 0.25) + 0 + (0.625 - 0.25) ln 2.5
    //   = 0.0866434 + 0.2499 * 7.8240460 + 0.375 * 0.9162907 = 0.0866434 + 1.9552291 + 0.3436090 = 2.3854815
    double expected =
        (0.125 - 0.25) * Math.log(0.5)
            + (EPSILON - 0.25) * Math.log(EPSILON / 0.25)
            + (0.625 - 0.25) * Math.log(2.5);
    assertThat(DriftStatistics.psi(reference, recent, 4), closeTo(expected, TOLERANCE));
    assertThat(DriftStatistics.psi(reference, recent, 4), closeTo(2.3854815201357886, TOLERANCE));
  }

  @Test
  void tiedCutsAreMergedAndNoneSitsAtTheReferenceMinimum() {
    // Cuts at positions 2, 4, 6: values 0, 0 and 1. Both 0s equal the minimum, so a bin (-inf, 0) could hold no
    // reference value and a bin [0, 0) nothing at all: only the cut 1 stays, giving (-inf, 1) and [1, inf), with
    // 6/8 and 2/8 of the reference.
    double[] reference = {0, 0, 0, 0, 0, 0, 1, 2};
    // 4/8 and 4/8.
    double[] recent = {0, 0, 0, 0, 1, 1, 2, 2};

    // (0.5 - 0.75) ln(0.5 / 0.75) + (0.5 - 0.25) ln(0.5 / 0.25) = 0.1013663 + 0.1732868 = 0.2746531
    assertThat(
        DriftStatistics.psi(reference, recent, 4),
        closeTo(-0.25 * Math.log(0.5 / 0.75) + 0.25 * Math.log(2), TOLERANCE));
    assertThat(DriftStatistics.psi(reference, recent, 4), closeTo(0.27465307216702745, TOLERANCE));
  }

  @Test
  void moreBinsThanDistinctValuesGiveOneBinPerValue() {
    // n = 6, 10 bins: cuts at positions 0, 1, 1, 2, 3, 3, 4, 5, 5 = 1, 1, 1, 2, 2, 2, 3, 3, 3, so cuts 2 and 3 and the
    // bins (-inf, 2) [2, 3) [3, inf): 1/3 of the reference each.
    double[] reference = {1, 1, 2, 2, 3, 3};
    // 1/6, 1/6, 4/6.
    double[] recent = {1, 2, 3, 3, 3, 3};

    // 2 * (1/6 - 1/3) ln(1/2) + (2/3 - 1/3) ln 2 = (1/3) ln 2 + (1/3) ln 2 = (2/3) ln 2 = 0.4620981
    assertThat(DriftStatistics.psi(reference, recent, 10), closeTo(2.0 / 3 * Math.log(2), TOLERANCE));
  }

  @Test
  void aReferenceOfOneRepeatedValueIsOneBinSoPsiCannotSeeAShift() {
    // One bin holds everything on both sides; KS still sees it.
    assertThat(DriftStatistics.psi(new double[] {5, 5, 5, 5}, new double[] {1, 9, 9, 9}, 10), is(0.0));
    assertThat(DriftStatistics.ks(new double[] {5, 5, 5, 5}, new double[] {1, 9, 9, 9}), is(0.75));
  }

  @Test
  void psiLeavesItsInputsAsTheyWere() {
    double[] reference = {3, 1, 2};
    double[] recent = {9, 7, 8};

    DriftStatistics.psi(reference, recent, 2);
    DriftStatistics.ks(reference, recent);

    assertThat(reference, is(new double[] {3, 1, 2}));
    assertThat(recent, is(new double[] {9, 7, 8}));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // KS

  @Test
  void ksOfASampleAgainstItselfIsZero() {
    double[] values = {0.3, 0.1, 0.1, 0.7, 2.5};

    assertThat(DriftStatistics.ks(values, values.clone()), is(0.0));
  }

  @Test
  void ksOfSamplesThatDoNotOverlapIsOne() {
    assertThat(DriftStatistics.ks(new double[] {1, 2, 3}, new double[] {4, 5}), is(1.0));
    assertThat(DriftStatistics.ks(new double[] {4, 5}, new double[] {1, 2, 3}), is(1.0));
  }

  @Test
  void ksStepsOverTiesAllAtOnce() {
    // F_a and F_b at each value:  1: 0.25 vs 0     2: 0.75 vs 0.5    3: 1 vs 0.75    4: 1 vs 1
    // Largest gap 0.25. Stepping one tied value at a time would see 0.75 vs 0 partway through the 2s.
    assertThat(DriftStatistics.ks(new double[] {2, 1, 3, 2}, new double[] {2, 3, 4, 2}), is(0.25));
  }

  @Test
  void ksOfSamplesOfDifferentSizesWithTiesAcrossThem() {
    // a (n = 5) and b (m = 4):  0.5: 0.2 vs 0    1: 0.6 vs 0.75    2: 0.8 vs 0.75    3: 1 vs 0.75    4: 1 vs 1
    // Largest gap 0.25, at 3, and the same either way round.
    double[] a = {0.5, 1, 1, 2, 3};
    double[] b = {1, 1, 1, 4};

    assertThat(DriftStatistics.ks(a, b), is(0.25));
    assertThat(DriftStatistics.ks(b, a), is(0.25));
  }

  @Test
  void infinitiesAreOrderedValues() {
    assertThat(
        DriftStatistics.ks(
            new double[] {Double.NEGATIVE_INFINITY, 0, 1, Double.POSITIVE_INFINITY}, new double[] {0, 1, 2, 3}),
        is(0.25));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Refused inputs

  @Test
  void aNaNIsRejectedWithWhereItIs() {
    assertThat(
        failure(() -> DriftStatistics.psi(new double[] {1, Double.NaN}, new double[] {1}, 4)),
        is("the reference sample holds NaN at index 1: drop or impute undefined values before measuring drift"));
    assertThat(
        failure(() -> DriftStatistics.psi(new double[] {1}, new double[] {Double.NaN}, 4)),
        is("the recent sample holds NaN at index 0: drop or impute undefined values before measuring drift"));
    assertThat(
        failure(() -> DriftStatistics.ks(new double[] {1}, new double[] {2, 3, Double.NaN})),
        is("the b sample holds NaN at index 2: drop or impute undefined values before measuring drift"));
  }

  @Test
  void emptySamplesAndTooFewBinsAreRejected() {
    assertThat(
        failure(() -> DriftStatistics.psi(new double[0], new double[] {1}, 4)),
        is("the reference sample must hold at least one value, got none"));
    assertThat(
        failure(() -> DriftStatistics.ks(new double[] {1}, null)),
        is("the b sample must hold at least one value, got null"));
    assertThat(
        failure(() -> DriftStatistics.psi(new double[] {1}, new double[] {1}, 0)),
        is("bins must be at least 1, got 0"));
  }

  private static String failure(Executable call) {
    return assertThrows(IllegalArgumentException.class, call).getMessage();
  }
}
