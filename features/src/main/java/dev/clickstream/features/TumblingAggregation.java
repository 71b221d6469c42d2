package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One declarative definition of a tumbling-window feature: per entity, aggregations of its events over windows of
 * one length aligned to the epoch ({@code [start, start + length)}), and ratios of its counts.
 *
 * <pre>{@code
 * TumblingAggregation.named("user_activity_5min")
 *     .groupBy("user_id")
 *     .window(minutes(5))
 *     .agg(count().as("events"),
 *          count().where("event_type", "click").as("clicks"),
 *          distinctCount("item_id").as("distinct_items"),
 *          approxPercentile("item_price", 90).as("price_p90"),
 *          movingAverage("clicks", 3).as("clicks_avg_15min"))
 *     .ratio("click_share", "clicks", "events")
 *     .build();
 * }</pre>
 *
 * <p>The aggregations, one column each, named by {@link Aggregation#as}:
 *
 * <ul>
 *   <li>{@link Aggregation#count()}, each with its own condition ({@link Aggregation#where}): a whole number;
 *   <li>{@link Aggregation#distinctCount}: the number of distinct non-null values of a field, a whole number;
 *   <li>{@link Aggregation#approxPercentile}: a percentile of a numeric field's non-null values, null without one;
 *   <li>{@link Aggregation#movingAverage}: the average of one of its counts over this window and the windows
 *       before it (a window without events counts as 0); never null in a row, as a row has an event;
 *   <li>{@link #ratio}: one count divided by another, null when the denominator is 0.
 * </ul>
 *
 * <p>Columns come in the order of {@code agg(...)}, then the ratios in the order they are declared ({@link
 * #featureColumns()}). The streaming pipeline ({@code TumblingFeatures}) takes everything from here and writes
 * {@link #table()}, whose name is the feature's: one row per entity holding its latest window, built by {@link
 * #tableRow}. There is a row for a window only when it holds an event that one of the aggregations reads.
 *
 * <p>Only these kinds so far: sum, avg, min, max and last would need the value field and the {@link Partial}s of
 * {@link WindowedAggregation}.
 */
public final class TumblingAggregation extends DeclaredFeature {
  private static final long serialVersionUID = 1L;

  /** The window's first millisecond. */
  public static final String WINDOW_START = "window_start";
  /** The window's end, exclusive. */
  public static final String WINDOW_END = "window_end";

  private final FeatureWindow window;
  private final List<Aggregation> aggregations;
  private final List<Ratio> ratios;
  private final List<String> featureColumns;
  private final FeatureTable table;

  private TumblingAggregation(Builder builder) {
    super(builder.name, Kind.TUMBLING, builder.entityField, builder, builder.window.length().multipliedBy(2));
    this.window = builder.window;
    this.aggregations = List.copyOf(builder.aggregations);
    this.ratios = List.copyOf(builder.ratios);
    this.featureColumns = List.copyOf(builder.columnNames());
    this.table = declareTable();
  }

  /** Starts a definition; {@code name} is also its online table's name. */
  public static Builder named(String name) {
    return new Builder(name);
  }




  public FeatureWindow window() {
    return window;
  }

  public long windowMillis() {
    return window.lengthMillis();
  }

  /** The aggregations, in column order. */
  public List<Aggregation> aggregations() {
    return aggregations;
  }

  /** The aggregation whose column is {@code column}. */
  public Aggregation aggregation(String column) {
    for (Aggregation aggregation : aggregations) {
      if (aggregation.columnPrefix().equals(column)) {
        return aggregation;
      }
    }
    throw new IllegalArgumentException(
        "feature " + name + " has no aggregation named " + column + ": it has " + columnsOf(aggregations));
  }

  /** The ratios, in column order, after the aggregations. */
  public List<Ratio> ratios() {
    return ratios;
  }

  /** Every feature column, in order: the aggregations', then the ratios'. */
  public List<String> featureColumns() {
    return featureColumns;
  }

  /**
   * How many consecutive windows, this one included, a row reads: the most any {@link Aggregation#movingAverage}
   * spans, or 1 without moving averages.
   */
  public int windowsRead() {
    // Only moving averages have a window count (at least 2); the other kinds have 0.
    return Math.max(1, aggregations.stream().mapToInt(Aggregation::windowCount).max().orElse(1));
  }

  /**
   * Every event field it reads, each once, in the order of first use: the entity, the counts' conditions, then
   * the fields of the distinct counts and percentiles.
   */
  @Override
  public List<String> eventFields() {
    Set<String> fields = new LinkedHashSet<>();
    fields.add(entityField);
    for (Aggregation aggregation : aggregations) {
      if (aggregation.filter() != null) {
        fields.add(aggregation.filter().field());
      }
    }
    for (Aggregation aggregation : aggregations) {
      if (aggregation.field() != null) {
        fields.add(aggregation.field());
      }
    }
    return List.copyOf(fields);
  }

  /**
   * One row per entity: its latest window and its {@link #featureColumns()}. A row replaces the stored one for a
   * later window, or for the same window with more counted: the sum of its counts and distinct counts, which only
   * grow from one pane of a window to the next (panes accumulate), is larger. So replays and out-of-order writes
   * never move an entity back in time. Percentiles and moving averages do not take part: a later pane that changes
   * only them (a late event that only a percentile reads, or that falls in an earlier window a moving average
   * spans) does not replace the stored row.
   */
  @Override
  public FeatureTable table() {
    return table;
  }

  /**
   * A {@link #table()} row: {@code values} are the feature's, in {@link #featureColumns()} order (a Long for each
   * count and distinct count, a Double or null for the others).
   */
  public Object[] tableRow(String entity, long windowStart, long windowEnd, List<Object> values, long updatedAt) {
    requireNonNull(entity, "entity");
    List<String> columns = featureColumns;
    if (values.size() != columns.size()) {
      throw new IllegalArgumentException(
          "feature " + name + " has " + columns.size() + " columns " + columns + ", got " + values.size()
              + " values " + values);
    }
    Object[] row = new Object[columns.size() + 4];
    row[0] = entity;
    row[1] = windowStart;
    row[2] = windowEnd;
    for (int i = 0; i < values.size(); i++) {
      Object value = values.get(i);
      boolean whole = i < aggregations.size() && aggregations.get(i).resultType() == Aggregation.ResultType.LONG;
      if (whole ? !(value instanceof Long) : !(value == null || value instanceof Double)) {
        throw new IllegalArgumentException(
            "feature " + name + ": column " + columns.get(i) + " holds " + (whole ? "a Long" : "a Double or null")
                + ", got " + (value == null ? "null" : value.getClass().getSimpleName() + " " + value));
      }
      row[3 + i] = value;
    }
    row[row.length - 1] = updatedAt;
    return row;
  }


  @Override
  void describeShape(Map<String, Object> described) {
    described.put("windows", describeWindows(List.of(window)));
    described.put("aggregations", describeAggregations(aggregations));
    described.put("ratios", ratios.stream().map(Ratio::toString).collect(Collectors.toList()));
  }

  @Override
  String timeSemantics() {
    return "tumbling event-time windows of " + window + " aligned to the epoch, [" + WINDOW_START + ", " + WINDOW_END
        + "); one row per entity: its latest window with an event the aggregations read, written when the window"
        + " closes (and again for a late event within the allowed lateness); stale " + maxAge() + " after "
        + WINDOW_END;
  }

  private FeatureTable declareTable() {
    FeatureTable.Builder builder =
        FeatureTable.builder(name, entityField).time(WINDOW_START).time(WINDOW_END);
    aggregations.forEach(aggregation -> aggregation.declareColumn(builder, aggregation.columnPrefix()));
    ratios.forEach(ratio -> builder.nullableDoubleFeature(ratio.name()));
    return builder
        .time(WindowedAggregation.UPDATED_AT)
        .replaceWhen(ReplaceRule.newerBy(WINDOW_START).thenMoreOf(countColumnsOrderingPanes()))
        .build();
  }

  /** Counts and distinct counts only grow from one pane of a window to the next, so their sum orders the panes. */
  private String[] countColumnsOrderingPanes() {
    return aggregations.stream()
        .filter(aggregation -> aggregation.isCount() || aggregation.isDistinctCount())
        .map(Aggregation::columnPrefix)
        .toArray(String[]::new);
  }

  private static List<String> columnsOf(List<Aggregation> aggregations) {
    return aggregations.stream().map(Aggregation::columnPrefix).collect(Collectors.toList());
  }

  private static List<String> countColumns(List<Aggregation> aggregations) {
    return aggregations.stream()
        .filter(Aggregation::isCount)
        .map(Aggregation::columnPrefix)
        .collect(Collectors.toList());
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder(name)
        .append(": events.groupBy(").append(entityField).append(").window(").append(window).append(").agg")
        .append(aggregations);
    ratios.forEach(ratio -> text.append(".ratio(").append(ratio).append(')'));
    return text.toString();
  }

  /** {@code numerator / denominator} of two counts of the same window, null when the denominator is zero. */
  public record Ratio(String name, String numerator, String denominator) implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * @param name its column
     * @param numerator the column of the count above the line
     * @param denominator the column of the count below the line
     */
    public Ratio {
      requireNonNull(name, "name");
      requireNonNull(numerator, "numerator");
      requireNonNull(denominator, "denominator");
    }

    /** The ratio of two counts; null when {@code denominator} is zero, as the rate is then undefined, not zero. */
    public static Double of(long numerator, long denominator) {
      return denominator == 0 ? null : (double) numerator / denominator;
    }

    @Override
    public String toString() {
      return name + " = " + numerator + " / " + denominator;
    }
  }

  /** Builds a {@link TumblingAggregation}; see the class documentation for the shape. */
  public static final class Builder extends DeclarationBuilder<Builder> {
    private String entityField;
    private FeatureWindow window;
    private final List<Aggregation> aggregations = new ArrayList<>();
    private final List<Ratio> ratios = new ArrayList<>();

    private Builder(String name) {
      super(name);
    }

    public Builder groupBy(String entityField) {
      this.entityField = requireNonNull(entityField, "entityField");
      return this;
    }

    /** The length of the tumbling windows, aligned to the epoch. */
    public Builder window(FeatureWindow length) {
      this.window = requireNonNull(length, "length");
      return this;
    }

    public Builder agg(Aggregation... aggregations) {
      this.aggregations.addAll(Arrays.asList(aggregations));
      return this;
    }

    /**
     * A column {@code name} holding {@code numerator / denominator}, two {@code count()} columns named by their
     * {@code as(...)}.
     */
    public Builder ratio(String name, String numerator, String denominator) {
      ratios.add(new Ratio(name, numerator, denominator));
      return this;
    }

    public TumblingAggregation build() {
      if (entityField == null) {
        throw new IllegalStateException("feature " + name + " needs groupBy(entityField)");
      }
      if (window == null) {
        throw new IllegalStateException("feature " + name + " needs a window(length)");
      }
      if (aggregations.isEmpty()) {
        throw new IllegalStateException("feature " + name + " needs at least one agg(...)");
      }
      for (Aggregation aggregation : aggregations) {
        if (aggregation.fromPartial() && !aggregation.isCount()) {
          throw new IllegalStateException(
              "feature " + name + " aggregates " + aggregation + ": a tumbling feature computes count(),"
                  + " distinctCount(field), approxPercentile(field, percentile) and movingAverage(count, windows)");
        }
      }
      List<String> counts = countColumns(aggregations);
      if (counts.isEmpty()) {
        throw new IllegalStateException(
            "feature " + name + " needs at least one count() among " + aggregations + ": its table orders the panes"
                + " of a window by the sum of its counts");
      }
      Set<String> columns = new HashSet<>();
      for (String column : columnNames()) {
        if (!columns.add(column)) {
          throw new IllegalStateException(
              "feature " + name + " names two columns " + column + ": give each aggregation and ratio its own name");
        }
      }
      for (Ratio ratio : ratios) {
        for (String operand : List.of(ratio.numerator(), ratio.denominator())) {
          if (!counts.contains(operand)) {
            throw new IllegalStateException(
                "feature " + name + ": ratio " + ratio + " reads " + operand + ", which is none of its counts "
                    + counts);
          }
        }
      }
      for (Aggregation average : aggregations) {
        if (average.isMovingAverage()) {
          checkAveragesACount(average, counts);
        }
      }
      return new TumblingAggregation(this);
    }

    /** A moving average sums a column over windows: only counts add up that way. */
    private void checkAveragesACount(Aggregation average, List<String> counts) {
      String column = average.averagedColumn();
      if (counts.contains(column)) {
        return;
      }
      for (Aggregation other : aggregations) {
        if (other.columnPrefix().equals(column)) {
          throw new IllegalStateException(
              "feature " + name + ": " + average + " averages " + column + ", which is " + other + ": only count()"
                  + " columns are averaged over windows");
        }
      }
      throw new IllegalStateException(
          "feature " + name + ": " + average + " averages " + column + ", which is none of its counts " + counts);
    }

    private List<String> columnNames() {
      List<String> names = new ArrayList<>(columnsOf(aggregations));
      ratios.forEach(ratio -> names.add(ratio.name()));
      return names;
    }
  }
}
