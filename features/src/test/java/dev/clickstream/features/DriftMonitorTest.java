package dev.clickstream.features;

import static dev.clickstream.features.FeatureWindow.minutes;
import static dev.clickstream.features.TableDescriptions.describe;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.arrayContaining;
import static org.hamcrest.Matchers.closeTo;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.sameInstance;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.DriftRecord.Status;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The monitor's defaults and checks, its shared table and rows, how it decides a status, and its records. */
class DriftMonitorTest {
  /** 2024-03-01T12:00:00Z: a 5-minute boundary. */
  private static final long NOON = 1_709_294_400_000L;

  private static final long FIVE_MINUTES = 300_000L;

  /** Small enough to evaluate by hand: 4 bins, 4 values a side. */
  private static final DriftMonitor SMALL =
      DriftMonitor.named("ctr_5min.ctr").bins(4).minSamplesPerSide(4).ksThreshold(0.5).build();

  // ---------------------------------------------------------------------------------------------------------------
  // Settings

  @Test
  void defaultsAreFiveMinutesAgainstThreeWindowsTenBinsThresholdsOfPointTwoAndThirtyValues() {
    DriftMonitor monitor = DriftMonitor.named("ctr_5min.ctr").build();

    assertThat(monitor.name(), is("ctr_5min.ctr"));
    assertThat(monitor.window(), is(minutes(5)));
    assertThat(monitor.windowMillis(), is(FIVE_MINUTES));
    assertThat(monitor.referenceWindows(), is(3));
    assertThat(monitor.bins(), is(10));
    assertThat(monitor.psiThreshold(), is(0.2));
    assertThat(monitor.ksThreshold(), is(0.2));
    assertThat(monitor.minSamplesPerSide(), is(30));
    assertThat(
        monitor.toString(),
        is("ctr_5min.ctr: drift of each 5_min window against the 3 before it, psi >= 0.2 over 10 bins or ks >= 0.2,"
            + " at least 30 values a side"));
  }

  @Test
  void everySettingCanBeChanged() {
    DriftMonitor monitor =
        DriftMonitor.named("session_length")
            .window(minutes(60))
            .referenceWindows(24)
            .bins(20)
            .psiThreshold(0.25)
            .ksThreshold(1)
            .minSamplesPerSide(1)
            .build();

    assertThat(
        List.of(monitor.name(), monitor.windowMillis(), monitor.referenceWindows(), monitor.bins(),
            monitor.psiThreshold(), monitor.ksThreshold(), monitor.minSamplesPerSide()),
        contains("session_length", 3_600_000L, 24, 20, 0.25, 1.0, 1));
  }

  @Test
  void aBadNameSaysWhatANameMayHold() {
    String rule = "' is not allowed: use up to 256 lower-case letters, digits, '_' and '.', starting with a letter,"
        + " such as ctr_5min.ctr";
    assertThat(failure(() -> DriftMonitor.named("CTR").build()), is("drift monitor name 'CTR" + rule));
    assertThat(failure(() -> DriftMonitor.named("5min.ctr").build()), is("drift monitor name '5min.ctr" + rule));
    assertThat(failure(() -> DriftMonitor.named("ctr-5min").build()), is("drift monitor name 'ctr-5min" + rule));
    assertThat(failure(() -> DriftMonitor.named("").build()), is("drift monitor name '" + rule));
    String longest = "a".repeat(256);
    assertThat(DriftMonitor.named(longest).build().name(), is(longest));
    assertThat(
        failure(() -> DriftMonitor.named(longest + "a").build()), is("drift monitor name '" + longest + "a" + rule));
    assertThrows(NullPointerException.class, () -> DriftMonitor.named(null));
  }

  @Test
  void settingsOutOfRangeAreNamedWithTheValueAndWhatIsAllowed() {
    assertThat(
        failure(() -> DriftMonitor.named("f").referenceWindows(0).build()),
        is("drift monitor f: referenceWindows must be at least 1, got 0"));
    assertThat(
        failure(() -> DriftMonitor.named("f").bins(1).build()),
        is("drift monitor f: bins must be at least 2 (a single bin always gives PSI 0), got 1"));
    assertThat(
        failure(() -> DriftMonitor.named("f").psiThreshold(0).build()),
        is("drift monitor f: psiThreshold must be a positive number, got 0.0"));
    assertThat(
        failure(() -> DriftMonitor.named("f").psiThreshold(Double.NaN).build()),
        is("drift monitor f: psiThreshold must be a positive number, got NaN"));
    assertThat(
        failure(() -> DriftMonitor.named("f").psiThreshold(Double.POSITIVE_INFINITY).build()),
        is("drift monitor f: psiThreshold must be a positive number, got Infinity"));
    assertThat(
        failure(() -> DriftMonitor.named("f").ksThreshold(0).build()),
        is("drift monitor f: ksThreshold must be above 0 and at most 1 (KS is between 0 and 1), got 0.0"));
    assertThat(
        failure(() -> DriftMonitor.named("f").ksThreshold(1.5).build()),
        is("drift monitor f: ksThreshold must be above 0 and at most 1 (KS is between 0 and 1), got 1.5"));
    assertThat(
        failure(() -> DriftMonitor.named("f").minSamplesPerSide(0).build()),
        is("drift monitor f: minSamplesPerSide must be at least 1, got 0"));
    assertThrows(NullPointerException.class, () -> DriftMonitor.named("f").window(null));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Table and rows

  @Test
  void everyMonitorSharesTheFeatureDriftTable() {
    assertThat(
        describe(DriftMonitor.TABLE),
        contains("feature_drift", "feature KEY KEY", "window_start BIGINT TIME", "window_end BIGINT TIME",
            "reference_count BIGINT FEATURE", "recent_count BIGINT FEATURE", "psi DOUBLE FEATURE nullable",
            "ks DOUBLE FEATURE nullable", "drift_status STRING ATTRIBUTE", "updated_at BIGINT TIME", "key [feature]",
            "indexes []",
            "replace when window_start >, then reference_count + recent_count >="));
    assertThat(SMALL.table(), is(sameInstance(DriftMonitor.TABLE)));
    assertThat(DriftMonitor.named("other").build().table(), is(sameInstance(DriftMonitor.TABLE)));
  }

  @Test
  void aRowHoldsTheRecordInColumnOrder() {
    DriftRecord drift = new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 90, 31, 0.75, 0.5, Status.DRIFT);
    DriftRecord insufficient =
        new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 12, 0, null, null, Status.INSUFFICIENT_DATA);

    assertThat(
        SMALL.row(drift, 42L),
        arrayContaining("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 90L, 31L, 0.75, 0.5, "drift", 42L));
    assertThat(
        SMALL.row(insufficient, 43L),
        arrayContaining(
            "ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 12L, 0L, null, null, "insufficient_data", 43L));
    assertThat(SMALL.row(drift, 42L).length, is(DriftMonitor.TABLE.columns().size()));
  }

  @Test
  void aMonitorWritesOnlyItsOwnFeaturesRows() {
    DriftRecord other = new DriftRecord("clicks", NOON, NOON + FIVE_MINUTES, 30, 30, 0.0, 0.0, Status.OK);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SMALL.row(other, 0L));
    assertThat(
        e.getMessage(),
        is("drift monitor ctr_5min.ctr cannot write the record of feature clicks: each monitor writes its own"
            + " feature's row"));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Evaluation

  @Test
  void fewerValuesThanTheMinimumOnEitherSideIsInsufficientData() {
    double[] four = {0.1, 0.2, 0.3, 0.4};
    double[] three = {0.1, 0.2, 0.3};

    assertThat(
        SMALL.evaluate(NOON, three, four),
        is(new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 3, 4, null, null, Status.INSUFFICIENT_DATA)));
    assertThat(
        SMALL.evaluate(NOON, four, three),
        is(new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 4, 3, null, null, Status.INSUFFICIENT_DATA)));
    assertThat(
        SMALL.evaluate(NOON, new double[0], new double[0]),
        is(new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 0, 0, null, null, Status.INSUFFICIENT_DATA)));
  }

  @Test
  void theSameSpreadOfValuesIsOk() {
    // Reference cuts at 0.2, 0.3, 0.4; recent values one in each bin: PSI 0. F_ref leads F_recent by at most 0.25.
    DriftRecord record =
        SMALL.evaluate(NOON, new double[] {0.1, 0.2, 0.3, 0.4}, new double[] {0.15, 0.25, 0.35, 0.45});

    assertThat(record, is(new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 4, 4, 0.0, 0.25, Status.OK)));
  }

  @Test
  void psiAtItsThresholdIsDriftEvenWhenKsIsNot() {
    double[] reference = {0.1, 0.2, 0.3, 0.4};
    double[] recent = {0.1, 0.2, 0.3, 0.4, 0.9};
    // Bins hold 1/5, 1/5, 1/5, 2/5 of recent: PSI = 3 * (0.2 - 0.25) ln 0.8 + (0.4 - 0.25) ln 1.6 = 0.1039721.
    // KS = 1 - 4/5 = 0.2 (less a rounding), below 0.5.
    double psi = DriftStatistics.psi(reference, recent, 4);
    DriftMonitor atPsi =
        DriftMonitor.named("f").bins(4).minSamplesPerSide(4).psiThreshold(psi).ksThreshold(0.5).build();
    DriftMonitor abovePsi =
        DriftMonitor.named("f").bins(4).minSamplesPerSide(4).psiThreshold(Math.nextUp(psi)).ksThreshold(0.5).build();

    assertThat(psi, closeTo(0.10397207708399181, 1e-12));
    assertThat(
        atPsi.evaluate(NOON, reference, recent),
        is(new DriftRecord("f", NOON, NOON + FIVE_MINUTES, 4, 5, psi, 1 - 4.0 / 5, Status.DRIFT)));
    assertThat(abovePsi.evaluate(NOON, reference, recent).status(), is(Status.OK));
  }

  @Test
  void ksAtItsThresholdIsDriftEvenWhenPsiIsNot() {
    // The OK example above, KS 0.25.
    double[] reference = {0.1, 0.2, 0.3, 0.4};
    double[] recent = {0.15, 0.25, 0.35, 0.45};
    DriftMonitor atKs = DriftMonitor.named("f").bins(4).minSamplesPerSide(4).ksThreshold(0.25).build();

    assertThat(
        atKs.evaluate(NOON, reference, recent),
        is(new DriftRecord("f", NOON, NOON + FIVE_MINUTES, 4, 4, 0.0, 0.25, Status.DRIFT)));
  }

  @Test
  void aWindowStartOffTheWindowGridIsRejected() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> SMALL.evaluate(NOON + 60_000, new double[] {1}, new double[] {1}));
    assertThat(
        e.getMessage(),
        is("drift monitor ctr_5min.ctr: windowStart 1709294460000 is not the start of a 5_min window aligned to the"
            + " epoch (a multiple of 300000 ms)"));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Records

  @Test
  void recordsAreValues() {
    DriftRecord record = new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 90, 31, 0.75, 0.5, Status.DRIFT);
    DriftRecord same = new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 90, 31, 0.75, 0.5, Status.DRIFT);

    assertThat(record, is(same));
    assertThat(record.hashCode(), is(same.hashCode()));
    assertThat(record, is(not(new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 90, 31, 0.75, 0.25,
        Status.DRIFT))));
    assertThat(
        record.toString(),
        is("DriftRecord(ctr_5min.ctr [2024-03-01T12:00:00Z, 2024-03-01T12:05:00Z), 90 reference vs 31 recent values,"
            + " psi=0.75, ks=0.5, DRIFT)"));
    assertThat(
        List.of(Status.OK.label(), Status.DRIFT.label(), Status.INSUFFICIENT_DATA.label()),
        contains("ok", "drift", "insufficient_data"));
    DriftRecord insufficient =
        new DriftRecord("f", NOON, NOON + FIVE_MINUTES, 0, 3, null, null, Status.INSUFFICIENT_DATA);
    assertThat(insufficient.psi(), is(nullValue()));
    assertThat(insufficient.ks(), is(nullValue()));
  }

  @Test
  void recordsRejectInconsistentValues() {
    assertThat(
        recordFailure(() -> new DriftRecord("f", NOON, NOON, 1, 1, 0.0, 0.0, Status.OK)),
        is("windowEnd must be after windowStart, got [2024-03-01T12:00:00Z, 2024-03-01T12:00:00Z)"));
    assertThat(
        recordFailure(() -> new DriftRecord("f", NOON, NOON + 1, -1, 1, 0.0, 0.0, Status.OK)),
        is("counts must be zero or positive, got referenceCount=-1, recentCount=1"));
    assertThat(
        recordFailure(() -> new DriftRecord("f", NOON, NOON + 1, 1, 1, null, 0.0, Status.DRIFT)),
        is("psi and ks must both be present when the status is DRIFT, got psi=null, ks=0.0"));
    assertThat(
        recordFailure(() -> new DriftRecord("f", NOON, NOON + 1, 1, 1, 0.0, null, Status.INSUFFICIENT_DATA)),
        is("psi and ks must both be null when the status is INSUFFICIENT_DATA, got psi=0.0, ks=null"));
  }

  private static String failure(Executable build) {
    return assertThrows(IllegalStateException.class, build).getMessage();
  }

  private static String recordFailure(Executable create) {
    return assertThrows(IllegalArgumentException.class, create).getMessage();
  }
}
