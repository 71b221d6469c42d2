package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.EnumSet;
import java.util.Set;

/**
 * One aggregation of a {@link WindowedAggregation} or a {@link TumblingAggregation}: a name for its columns, the
 * {@link Partial} components it needs, and how its value follows from a merged {@link Partial}.
 *
 * <p>Every pattern of a rolling feature (streaming state, on-demand SQL, tiles) computes partials and then calls
 * {@link #result}, so adding such an aggregation is one more constant here: a name, its components and its result.
 *
 * <p>A {@link TumblingAggregation} may also count only some of its events, with {@link #where}; a {@link
 * WindowedAggregation} filters all its events at once instead. Three kinds are computed by a tumbling feature's
 * combine only, as no {@link Partial} holds what they need: {@link #distinctCount}, {@link #approxPercentile} and
 * {@link #movingAverage} ({@link #fromPartial()} is false for them).
 */
public final class Aggregation implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The parts of a {@link Partial} an aggregation reads; stores hold only the parts some aggregation needs. */
  public enum Component {
    COUNT,
    VALUE_COUNT,
    SUM,
    MIN,
    MAX,
    LAST
  }

  /** How a result is typed in the online store. */
  public enum ResultType {
    /** A whole number, never null. */
    LONG,
    /** A floating-point number, null when no event in the window carries a value. */
    NULLABLE_DOUBLE
  }

  /** The result of an aggregation over a merged partial. */
  @FunctionalInterface
  interface Result extends Serializable {
    Object of(Partial partial);
  }

  /** The kinds a tumbling feature's combine computes without a {@link Partial}. */
  static final String DISTINCT_COUNT = "distinctCount";
  static final String APPROX_PERCENTILE = "approxPercentile";
  static final String MOVING_AVERAGE = "movingAverage";

  private final String kind;
  private final String columnPrefix;
  private final ResultType resultType;
  private final Set<Component> components;
  private final Result result;
  private final EventFilter filter;
  /** The event field a distinct count or a percentile reads; null for the other kinds. */
  private final String field;
  /** The percentile of {@link #approxPercentile}, 1 to 100; 0 for the other kinds. */
  private final int percentile;
  /** The count column a moving average averages; null for the other kinds. */
  private final String averagedColumn;
  /** The number of windows a moving average spans; 0 for the other kinds. */
  private final int windowCount;

  private Aggregation(
      String kind, String columnPrefix, ResultType resultType, Set<Component> components, Result result,
      EventFilter filter) {
    this(kind, columnPrefix, resultType, components, result, filter, null, 0, null, 0);
  }

  private Aggregation(
      String kind, String columnPrefix, ResultType resultType, Set<Component> components, Result result,
      EventFilter filter, String field, int percentile, String averagedColumn, int windowCount) {
    this.kind = kind;
    this.columnPrefix = columnPrefix;
    this.resultType = resultType;
    this.components = components;
    this.result = result;
    this.filter = filter;
    this.field = field;
    this.percentile = percentile;
    this.averagedColumn = averagedColumn;
    this.windowCount = windowCount;
  }

  /** The number of matching events. */
  public static Aggregation count() {
    return new Aggregation("count", "count", ResultType.LONG, EnumSet.of(Component.COUNT), Partial::count, null);
  }

  /**
   * The number of distinct non-null values of {@code field} over a tumbling window, such as {@code
   * distinctCount("item_id")}: exact, so its combine holds the distinct values of one entity-window in memory.
   * Values are compared as text. Column {@code FIELD_distinct} unless renamed with {@link #as}.
   */
  public static Aggregation distinctCount(String field) {
    requireNonNull(field, "field");
    return new Aggregation(
        DISTINCT_COUNT, field + "_distinct", ResultType.LONG, EnumSet.noneOf(Component.class),
        notFromPartial(DISTINCT_COUNT), null, field, 0, null, 0);
  }

  /**
   * The {@code percentile}-th percentile (1 to 100) of the non-null values of the numeric {@code field} over a
   * tumbling window, such as {@code approxPercentile("item_price", 90)}; null when no event carries a value. Beam's
   * {@code ApproximateQuantiles} computes it: up to 40,046 values per entity-window it is the exact nearest-rank
   * percentile, beyond that its rank is off by less than 1% of the number of values (see {@code TumblingFeatures}).
   * Column {@code FIELD_pPERCENTILE} unless renamed with {@link #as}.
   */
  public static Aggregation approxPercentile(String field, int percentile) {
    requireNonNull(field, "field");
    if (percentile <= 0 || percentile > 100) {
      throw new IllegalArgumentException(
          "approxPercentile(" + field + ", " + percentile + "): the percentile must be in (0, 100], such as 50 for"
              + " the median or 90");
    }
    return new Aggregation(
        APPROX_PERCENTILE, field + "_p" + percentile, ResultType.NULLABLE_DOUBLE, EnumSet.noneOf(Component.class),
        notFromPartial(APPROX_PERCENTILE), null, field, percentile, null, 0);
  }

  /**
   * The average of the count column {@code countColumn} of the same feature over this tumbling window and the
   * {@code windows - 1} windows before it, such as {@code movingAverage("clicks", 3)}; a window without events
   * counts as 0, so it is the sum over the {@code windows} windows divided by {@code windows}. Column {@code
   * COLUMN_avg_WINDOWS} unless renamed with {@link #as}.
   */
  public static Aggregation movingAverage(String countColumn, int windows) {
    requireNonNull(countColumn, "countColumn");
    if (windows < 2) {
      throw new IllegalArgumentException(
          "movingAverage(" + countColumn + ", " + windows + "): average over at least 2 windows (this one and the"
              + " one before); over 1 window it is " + countColumn + " itself");
    }
    return new Aggregation(
        MOVING_AVERAGE, countColumn + "_avg_" + windows, ResultType.NULLABLE_DOUBLE,
        EnumSet.noneOf(Component.class), notFromPartial(MOVING_AVERAGE), null, null, 0, countColumn, windows);
  }

  private static Result notFromPartial(String kind) {
    return partial -> {
      throw new UnsupportedOperationException(
          kind + "() is computed by a tumbling feature's combine, not from a Partial");
    };
  }

  /** The sum of the values; null when no event carries one. */
  public static Aggregation sum() {
    return valueAggregation("sum", EnumSet.of(Component.VALUE_COUNT, Component.SUM), Partial::sum);
  }

  /** The mean of the values; null when no event carries one. */
  public static Aggregation avg() {
    return valueAggregation(
        "avg", EnumSet.of(Component.VALUE_COUNT, Component.SUM), p -> p.sum() / p.valueCount());
  }

  public static Aggregation min() {
    return valueAggregation("min", EnumSet.of(Component.VALUE_COUNT, Component.MIN), Partial::min);
  }

  public static Aggregation max() {
    return valueAggregation("max", EnumSet.of(Component.VALUE_COUNT, Component.MAX), Partial::max);
  }

  /** The value of the latest event that carries one (the larger value on a tied timestamp). */
  public static Aggregation last() {
    return valueAggregation("last", EnumSet.of(Component.VALUE_COUNT, Component.LAST), Partial::lastValue);
  }

  private static Aggregation valueAggregation(String kind, Set<Component> components, Result valueResult) {
    return new Aggregation(
        kind, kind, ResultType.NULLABLE_DOUBLE, components,
        p -> p.valueCount() == 0 ? null : valueResult.of(p), null);
  }

  /**
   * Names this aggregation's columns: {@code PREFIX_WINDOW}, such as {@code click_count_10_min}, in a {@link
   * WindowedAggregation}; the column itself, such as {@code clicks}, in a {@link TumblingAggregation}, which has one
   * window. The default prefix is the kind ({@code count}, {@code sum}, ...), or for the kinds that read a field
   * or a column, a name made from it ({@code item_id_distinct}, {@code item_price_p90}, {@code clicks_avg_3}).
   */
  public Aggregation as(String prefix) {
    return new Aggregation(
        kind, requireNonNull(prefix, "prefix"), resultType, components, result, filter, field, percentile,
        averagedColumn, windowCount);
  }

  /**
   * Counts only the events whose {@code field} equals {@code value}, such as {@code count().where("event_type",
   * "click")}: several conditional counts over the same events make a ratio (see {@link TumblingAggregation}).
   * Only {@code count()} takes a condition: nothing computes a conditional sum, avg, min, max or last yet.
   */
  public Aggregation where(String field, String value) {
    if (!kind.equals("count")) {
      throw new IllegalArgumentException(
          "where(" + field + ", " + value + ") applies to count() only, not to " + kind + "()");
    }
    return new Aggregation(
        kind, columnPrefix, resultType, components, result, EventFilter.fieldEquals(field, value));
  }

  /** The events it counts, set by {@link #where}; null for every event of its feature. */
  public EventFilter filter() {
    return filter;
  }

  /**
   * {@code count}, {@code sum}, {@code avg}, {@code min}, {@code max}, {@code last}, {@code distinctCount}, {@code
   * approxPercentile} or {@code movingAverage}: the name of the method that made it.
   */
  public String kind() {
    return kind;
  }

  /** Whether it is a {@link #count()}, with or without a condition. */
  public boolean isCount() {
    return kind.equals("count");
  }

  public boolean isDistinctCount() {
    return kind.equals(DISTINCT_COUNT);
  }

  public boolean isApproxPercentile() {
    return kind.equals(APPROX_PERCENTILE);
  }

  public boolean isMovingAverage() {
    return kind.equals(MOVING_AVERAGE);
  }

  /** Whether {@link #result} computes it from a {@link Partial}: all kinds but the three of tumbling features. */
  public boolean fromPartial() {
    return !(isDistinctCount() || isApproxPercentile() || isMovingAverage());
  }

  /** The event field a {@link #distinctCount} or an {@link #approxPercentile} reads; null for the other kinds. */
  public String field() {
    return field;
  }

  /** The percentile of an {@link #approxPercentile}, 1 to 100; 0 for the other kinds. */
  public int percentile() {
    return percentile;
  }

  /** The count column a {@link #movingAverage} averages; null for the other kinds. */
  public String averagedColumn() {
    return averagedColumn;
  }

  /** The number of windows a {@link #movingAverage} spans, this one included; 0 for the other kinds. */
  public int windowCount() {
    return windowCount;
  }

  public String columnPrefix() {
    return columnPrefix;
  }

  public ResultType resultType() {
    return resultType;
  }

  public Set<Component> components() {
    return EnumSet.copyOf(components);
  }

  /** Whether it reads event values (everything but {@code count}). Only meaningful when {@link #fromPartial()}. */
  public boolean needsValues() {
    return !components.equals(EnumSet.of(Component.COUNT));
  }

  /**
   * The value over the events summarized by {@code partial}: a Long for LONG results, a Double or null else.
   *
   * @throws UnsupportedOperationException for the kinds that are not {@link #fromPartial()}
   */
  public Object result(Partial partial) {
    return result.of(partial);
  }

  /** The name of this aggregation's feature column over {@code window}, such as {@code click_count_1_hour}. */
  public String column(FeatureWindow window) {
    return columnPrefix + "_" + window.label();
  }

  /** Adds this aggregation's result column for {@code window} to a table being declared. */
  void declareColumn(FeatureTable.Builder table, FeatureWindow window) {
    declareColumn(table, column(window));
  }

  /** Adds this aggregation's result column, named {@code column}, to a table being declared. */
  void declareColumn(FeatureTable.Builder table, String column) {
    if (resultType == ResultType.LONG) {
      table.longFeature(column);
    } else {
      table.nullableDoubleFeature(column);
    }
  }

  @Override
  public String toString() {
    String arguments = "";
    if (field != null) {
      arguments = percentile == 0 ? field : field + ", " + percentile;
    } else if (averagedColumn != null) {
      arguments = averagedColumn + ", " + windowCount;
    }
    return kind + "(" + arguments + ")" + (filter == null ? "" : ".where(" + filter + ")") + " as " + columnPrefix;
  }
}
