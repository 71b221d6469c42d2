package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;

/**
 * One evaluation of a {@link DriftMonitor}: the values of its feature in a recent window {@code [windowStart,
 * windowEnd)} (epoch milliseconds) against those of the reference windows just before it, and what came of it.
 * Immutable.
 *
 * <p>{@link #psi()} and {@link #ks()} are null exactly when the status is {@link Status#INSUFFICIENT_DATA}: with too
 * few values on a side they would measure noise, so they are not computed.
 */
public final class DriftRecord implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The outcome of an evaluation, stored in {@value DriftMonitor#STATUS} as its {@link #label()}. */
  public enum Status {
    /** PSI and KS are both below their thresholds. */
    OK("ok"),
    /** PSI or KS is at or above its threshold. */
    DRIFT("drift"),
    /** A side has fewer values than the monitor's minimum: no PSI or KS. */
    INSUFFICIENT_DATA("insufficient_data");

    private final String label;

    Status(String label) {
      this.label = label;
    }

    /** {@code ok}, {@code drift} or {@code insufficient_data}: the value of the status column. */
    public String label() {
      return label;
    }
  }

  private final String feature;
  private final long windowStart;
  private final long windowEnd;
  private final long referenceCount;
  private final long recentCount;
  private final Double psi;
  private final Double ks;
  private final Status status;

  /**
   * @throws IllegalArgumentException when the window is empty, a count is negative, or PSI and KS are not both
   *     present (OK, DRIFT) or both null (INSUFFICIENT_DATA)
   */
  public DriftRecord(
      String feature,
      long windowStart,
      long windowEnd,
      long referenceCount,
      long recentCount,
      Double psi,
      Double ks,
      Status status) {
    this.feature = requireNonNull(feature, "feature");
    this.status = requireNonNull(status, "status");
    if (windowEnd <= windowStart) {
      throw new IllegalArgumentException("windowEnd must be after windowStart, got ["
          + Instant.ofEpochMilli(windowStart) + ", " + Instant.ofEpochMilli(windowEnd) + ")");
    }
    if (referenceCount < 0 || recentCount < 0) {
      throw new IllegalArgumentException(
          "counts must be zero or positive, got referenceCount=" + referenceCount + ", recentCount=" + recentCount);
    }
    boolean measured = status != Status.INSUFFICIENT_DATA;
    if ((psi != null) != measured || (ks != null) != measured) {
      throw new IllegalArgumentException(
          "psi and ks must both be " + (measured ? "present" : "null") + " when the status is " + status + ", got psi="
              + psi + ", ks=" + ks);
    }
    this.windowStart = windowStart;
    this.windowEnd = windowEnd;
    this.referenceCount = referenceCount;
    this.recentCount = recentCount;
    this.psi = psi;
    this.ks = ks;
  }

  /** The monitored feature: its {@link DriftMonitor#name()}. */
  public String feature() {
    return feature;
  }

  /** The recent window's first millisecond. */
  public long windowStart() {
    return windowStart;
  }

  /** The recent window's end, exclusive. */
  public long windowEnd() {
    return windowEnd;
  }

  /** How many values the reference windows held. */
  public long referenceCount() {
    return referenceCount;
  }

  /** How many values the recent window held. */
  public long recentCount() {
    return recentCount;
  }

  /** See {@link DriftStatistics#psi}; null when the status is {@link Status#INSUFFICIENT_DATA}. */
  public Double psi() {
    return psi;
  }

  /** See {@link DriftStatistics#ks}; null when the status is {@link Status#INSUFFICIENT_DATA}. */
  public Double ks() {
    return ks;
  }

  public Status status() {
    return status;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof DriftRecord)) {
      return false;
    }
    DriftRecord other = (DriftRecord) o;
    return feature.equals(other.feature)
        && windowStart == other.windowStart
        && windowEnd == other.windowEnd
        && referenceCount == other.referenceCount
        && recentCount == other.recentCount
        && Objects.equals(psi, other.psi)
        && Objects.equals(ks, other.ks)
        && status == other.status;
  }

  @Override
  public int hashCode() {
    return Objects.hash(feature, windowStart, windowEnd, referenceCount, recentCount, psi, ks, status);
  }

  @Override
  public String toString() {
    return "DriftRecord(" + feature + " [" + Instant.ofEpochMilli(windowStart) + ", "
        + Instant.ofEpochMilli(windowEnd) + "), " + referenceCount + " reference vs " + recentCount
        + " recent values, psi=" + psi + ", ks=" + ks + ", " + status + ")";
  }
}
