package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One declarative drift monitor of a numeric feature: how far the distribution of its values in the latest window
 * has moved from the windows just before it, by {@link DriftStatistics#psi PSI} and {@link DriftStatistics#ks KS}.
 * Every setting below but the name is its default:
 *
 * <pre>{@code
 * DriftMonitor.named("ctr_5min.ctr")      // the monitored feature
 *     .window(minutes(5))                 // recent window: tumbling, aligned to the epoch
 *     .referenceWindows(3)                // reference: the 3 windows just before it
 *     .bins(10)                           // PSI bins, cut at reference quantiles
 *     .psiThreshold(0.2)
 *     .ksThreshold(0.2)
 *     .minSamplesPerSide(30)
 *     .build();
 * }</pre>
 *
 * <p>For the recent window {@code [s, s + w)}, the reference is {@code [s − k·w, s)}; {@link #evaluate} turns the
 * values of both into a {@link DriftRecord}:
 *
 * <ul>
 *   <li>{@link DriftRecord.Status#INSUFFICIENT_DATA} when either side has fewer than {@link #minSamplesPerSide()}
 *       values: no PSI or KS;
 *   <li>{@link DriftRecord.Status#DRIFT} when PSI is at or above {@link #psiThreshold()}, or KS at or above {@link
 *       #ksThreshold()};
 *   <li>{@link DriftRecord.Status#OK} otherwise.
 * </ul>
 *
 * <p>The thresholds are on the statistics themselves, not on a p-value: with few values per side, KS varies more
 * between windows of an unchanged distribution, so raise {@link #minSamplesPerSide()} (or the KS threshold) when
 * windows hold few values.
 *
 * <p>Every monitor writes {@link #TABLE}, one row per monitored feature holding its latest evaluation, so a server
 * reads every feature's drift status from one table.
 */
public final class DriftMonitor extends DeclaredFeature {
  private static final long serialVersionUID = 1L;

  /** Lower-case letters, digits, '_' and '.', starting with a letter, to fit the table's key column. */
  static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_.]{0,255}");

  public static final FeatureWindow DEFAULT_WINDOW = FeatureWindow.minutes(5);
  public static final int DEFAULT_REFERENCE_WINDOWS = 3;
  public static final int DEFAULT_BINS = 10;
  /** The usual reading of PSI: below 0.1 stable, 0.1 to 0.2 a moderate shift, 0.2 and above a significant one. */
  public static final double DEFAULT_PSI_THRESHOLD = 0.2;
  public static final double DEFAULT_KS_THRESHOLD = 0.2;
  public static final int DEFAULT_MIN_SAMPLES_PER_SIDE = 30;

  public static final String TABLE_NAME = "feature_drift";
  /** The key: the monitored feature's name. */
  public static final String FEATURE = "feature";
  public static final String REFERENCE_COUNT = "reference_count";
  public static final String RECENT_COUNT = "recent_count";
  public static final String PSI = "psi";
  public static final String KS = "ks";
  /** {@link DriftRecord.Status#label()}: {@code ok}, {@code drift} or {@code insufficient_data}. */
  public static final String STATUS = "drift_status";

  /**
   * One row per monitored feature: its latest evaluation, the recent window's {@value TumblingAggregation#WINDOW_START}
   * and {@value TumblingAggregation#WINDOW_END}, the value counts, PSI and KS (NULL with insufficient data), the
   * status, and {@value WindowedAggregation#UPDATED_AT}. A row replaces the stored one for a later window, or for the
   * same window evaluated again over at least as many values: a late pane, which re-evaluates the window with every
   * value so far, replaces it, while a replayed or retried earlier pane of the window, with fewer values, does not.
   * So no write moves a feature back in time.
   */
  public static final FeatureTable TABLE =
      FeatureTable.builder(TABLE_NAME, FEATURE)
          .time(TumblingAggregation.WINDOW_START)
          .time(TumblingAggregation.WINDOW_END)
          .longFeature(REFERENCE_COUNT)
          .longFeature(RECENT_COUNT)
          .nullableDoubleFeature(PSI)
          .nullableDoubleFeature(KS)
          .stringAttribute(STATUS)
          .time(WindowedAggregation.UPDATED_AT)
          .replaceWhen(
              ReplaceRule.newerBy(TumblingAggregation.WINDOW_START)
                  .thenAtLeastAsMuchOf(REFERENCE_COUNT, RECENT_COUNT))
          .build();

  private final FeatureWindow window;
  private final int referenceWindows;
  private final int bins;
  private final double psiThreshold;
  private final double ksThreshold;
  private final int minSamplesPerSide;

  private DriftMonitor(Builder builder) {
    super(builder.name, Kind.DRIFT, FEATURE, builder, builder.window.length().multipliedBy(2));
    this.window = builder.window;
    this.referenceWindows = builder.referenceWindows;
    this.bins = builder.bins;
    this.psiThreshold = builder.psiThreshold;
    this.ksThreshold = builder.ksThreshold;
    this.minSamplesPerSide = builder.minSamplesPerSide;
  }

  /** Starts a monitor of the feature {@code name}, such as {@code ctr_5min.ctr}; the defaults are as above. */
  public static Builder named(String name) {
    return new Builder(name);
  }




  /** None: a monitor reads the rows of the view it watches, not events. */
  @Override
  public List<String> eventFields() {
    return List.of();
  }

  /** The view whose column is monitored: {@code ctr_5min} for {@code ctr_5min.ctr}. */
  public String view() {
    int dot = name.indexOf('.');
    return dot < 0 ? name : name.substring(0, dot);
  }

  /** The monitored column of {@link #view()}: {@code ctr} for {@code ctr_5min.ctr}. */
  public String column() {
    return name.substring(name.indexOf('.') + 1);  // the whole name when it has no dot, which the registry refuses
  }

  /** The length of the recent window and of each reference window. */
  public FeatureWindow window() {
    return window;
  }

  public long windowMillis() {
    return window.lengthMillis();
  }

  /** How many windows just before the recent one make its reference. */
  public int referenceWindows() {
    return referenceWindows;
  }

  /** The most PSI bins; see {@link DriftStatistics#psi} for when there are fewer. */
  public int bins() {
    return bins;
  }

  public double psiThreshold() {
    return psiThreshold;
  }

  public double ksThreshold() {
    return ksThreshold;
  }

  /** Fewer values than this on either side give {@link DriftRecord.Status#INSUFFICIENT_DATA}. */
  public int minSamplesPerSide() {
    return minSamplesPerSide;
  }

  /** {@link #TABLE}: every monitor shares it. */
  @Override
  public FeatureTable table() {
    return TABLE;
  }


  /** The rows of the watched view, not events. */
  @Override
  Map<String, Object> source() {
    Map<String, Object> source = new LinkedHashMap<>();
    source.put("view", view());
    source.put("column", column());
    return source;
  }

  @Override
  void describeShape(Map<String, Object> described) {
    described.put("windows", describeWindows(List.of(window)));
    described.put("reference_windows", referenceWindows);
    described.put("bins", bins);
    described.put("psi_threshold", psiThreshold);
    described.put("ks_threshold", ksThreshold);
    described.put("min_samples_per_side", minSamplesPerSide);
  }

  @Override
  String timeSemantics() {
    return "each tumbling " + window + " window's values of " + name + " (on-time panes) against the "
        + referenceWindows + " windows before it; one row per monitored feature: its latest evaluation, written when"
        + " the window closes; stale " + maxAge() + " after " + TumblingAggregation.WINDOW_END;
  }

  /**
   * The evaluation of the recent window starting at {@code windowStart} (a multiple of the window length), holding
   * {@code recent}, against the reference windows before it, holding {@code reference}. See the class documentation.
   *
   * @throws IllegalArgumentException when {@code windowStart} is not a window's start, or, with enough values on
   *     both sides, a value is NaN
   */
  public DriftRecord evaluate(long windowStart, double[] reference, double[] recent) {
    requireNonNull(reference, "reference");
    requireNonNull(recent, "recent");
    long length = window.lengthMillis();
    if (Math.floorMod(windowStart, length) != 0) {
      throw new IllegalArgumentException("drift monitor " + name + ": windowStart " + windowStart
          + " is not the start of a " + window + " window aligned to the epoch (a multiple of " + length + " ms)");
    }
    long windowEnd = windowStart + length;
    if (reference.length < minSamplesPerSide || recent.length < minSamplesPerSide) {
      return new DriftRecord(name, windowStart, windowEnd, reference.length, recent.length, null, null,
          DriftRecord.Status.INSUFFICIENT_DATA);
    }
    double psi = DriftStatistics.psi(reference, recent, bins);
    double ks = DriftStatistics.ks(reference, recent);
    DriftRecord.Status status =
        psi >= psiThreshold || ks >= ksThreshold ? DriftRecord.Status.DRIFT : DriftRecord.Status.OK;
    return new DriftRecord(name, windowStart, windowEnd, reference.length, recent.length, psi, ks, status);
  }

  /** A {@link #TABLE} row for {@code record}, one of this monitor's, values in column order. */
  public Object[] row(DriftRecord record, long updatedAt) {
    if (!record.feature().equals(name)) {
      throw new IllegalArgumentException(
          "drift monitor " + name + " cannot write the record of feature " + record.feature()
              + ": each monitor writes its own feature's row");
    }
    return new Object[] {
      record.feature(),
      record.windowStart(),
      record.windowEnd(),
      record.referenceCount(),
      record.recentCount(),
      record.psi(),
      record.ks(),
      record.status().label(),
      updatedAt
    };
  }

  @Override
  public String toString() {
    return name + ": drift of each " + window + " window against the " + referenceWindows + " before it, psi >= "
        + psiThreshold + " over " + bins + " bins or ks >= " + ksThreshold + ", at least " + minSamplesPerSide
        + " values a side";
  }

  /** Builds a {@link DriftMonitor}; every setting but the name has a default, and {@link #build()} checks them. */
  public static final class Builder extends DeclarationBuilder<Builder> {
    private FeatureWindow window = DEFAULT_WINDOW;
    private int referenceWindows = DEFAULT_REFERENCE_WINDOWS;
    private int bins = DEFAULT_BINS;
    private double psiThreshold = DEFAULT_PSI_THRESHOLD;
    private double ksThreshold = DEFAULT_KS_THRESHOLD;
    private int minSamplesPerSide = DEFAULT_MIN_SAMPLES_PER_SIDE;

    private Builder(String name) {
      super(name);
    }

    /** The length of the recent and reference windows, tumbling and aligned to the epoch. */
    public Builder window(FeatureWindow length) {
      this.window = requireNonNull(length, "length");
      return this;
    }

    /** How many windows just before the recent one make the reference: at least 1. */
    public Builder referenceWindows(int count) {
      this.referenceWindows = count;
      return this;
    }

    /** The most PSI bins: at least 2. */
    public Builder bins(int count) {
      this.bins = count;
      return this;
    }

    /** PSI at or above this is drift: positive. */
    public Builder psiThreshold(double threshold) {
      this.psiThreshold = threshold;
      return this;
    }

    /** KS at or above this is drift: above 0, at most 1. */
    public Builder ksThreshold(double threshold) {
      this.ksThreshold = threshold;
      return this;
    }

    /** Fewer values than this on either side is insufficient data: at least 1. */
    public Builder minSamplesPerSide(int count) {
      this.minSamplesPerSide = count;
      return this;
    }

    /** @throws IllegalStateException naming the first setting that is out of range */
    public DriftMonitor build() {
      if (!NAME.matcher(name).matches()) {
        throw new IllegalStateException("drift monitor name '" + name + "' is not allowed: use up to 256 lower-case"
            + " letters, digits, '_' and '.', starting with a letter, such as ctr_5min.ctr");
      }
      if (referenceWindows < 1) {
        throw invalid("referenceWindows must be at least 1, got " + referenceWindows);
      }
      if (bins < 2) {
        throw invalid("bins must be at least 2 (a single bin always gives PSI 0), got " + bins);
      }
      if (!(psiThreshold > 0) || Double.isInfinite(psiThreshold)) {
        throw invalid("psiThreshold must be a positive number, got " + psiThreshold);
      }
      if (!(ksThreshold > 0 && ksThreshold <= 1)) {
        throw invalid("ksThreshold must be above 0 and at most 1 (KS is between 0 and 1), got " + ksThreshold);
      }
      if (minSamplesPerSide < 1) {
        throw invalid("minSamplesPerSide must be at least 1, got " + minSamplesPerSide);
      }
      return new DriftMonitor(this);
    }

    private IllegalStateException invalid(String problem) {
      return new IllegalStateException("drift monitor " + name + ": " + problem);
    }
  }
}
