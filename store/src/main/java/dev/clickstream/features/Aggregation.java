package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import dev.clickstream.store.FeatureTable;
import java.io.Serializable;
import java.util.EnumSet;
import java.util.Set;

/**
 * One aggregation of a {@link WindowedAggregation}: a name for its columns, the {@link Partial} components it
 * needs, and how its value follows from a merged {@link Partial}.
 *
 * <p>Every pattern (streaming state, on-demand SQL, tiles) computes partials and then calls {@link #result}, so
 * adding an aggregation is one more constant here: a name, its components and its result.
 *
 * <p>A {@link TumblingAggregation} may also count only some of its events, with {@link #where}; a {@link
 * WindowedAggregation} filters all its events at once instead.
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

  private final String kind;
  private final String columnPrefix;
  private final ResultType resultType;
  private final Set<Component> components;
  private final Result result;
  private final EventFilter filter;

  private Aggregation(
      String kind, String columnPrefix, ResultType resultType, Set<Component> components, Result result,
      EventFilter filter) {
    this.kind = kind;
    this.columnPrefix = columnPrefix;
    this.resultType = resultType;
    this.components = components;
    this.result = result;
    this.filter = filter;
  }

  /** The number of matching events. */
  public static Aggregation count() {
    return new Aggregation("count", "count", ResultType.LONG, EnumSet.of(Component.COUNT), Partial::count, null);
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
   * window. The default prefix is the kind ({@code count}, {@code sum}, ...).
   */
  public Aggregation as(String prefix) {
    return new Aggregation(kind, requireNonNull(prefix, "prefix"), resultType, components, result, filter);
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

  /** {@code count}, {@code sum}, {@code avg}, {@code min}, {@code max} or {@code last}. */
  public String kind() {
    return kind;
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

  /** Whether it reads event values (everything but {@code count}). */
  public boolean needsValues() {
    return !components.equals(EnumSet.of(Component.COUNT));
  }

  /** The value over the events summarized by {@code partial}: a Long for LONG results, a Double or null else. */
  public Object result(Partial partial) {
    return result.of(partial);
  }

  /** Adds this aggregation's result column for {@code window} to a table being declared. */
  /** The name of this aggregation's feature column over {@code window}, such as {@code click_count_1_hour}. */
  public String column(FeatureWindow window) {
    return columnPrefix + "_" + window.label();
  }

  void declareColumn(FeatureTable.Builder table, FeatureWindow window) {
    String column = column(window);
    if (resultType == ResultType.LONG) {
      table.longFeature(column);
    } else {
      table.nullableDoubleFeature(column);
    }
  }

  @Override
  public String toString() {
    return kind + "()" + (filter == null ? "" : ".where(" + filter + ")") + " as " + columnPrefix;
  }
}
