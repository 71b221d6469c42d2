package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import dev.clickstream.store.FeatureTable;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One declarative definition of a tumbling-window feature: per entity, counts of events over windows of one length
 * aligned to the epoch ({@code [start, start + length)}), each count with its own condition, and ratios of those
 * counts.
 *
 * <pre>{@code
 * TumblingAggregation.named("ctr_5min")
 *     .groupBy("user_id")
 *     .window(minutes(5))
 *     .agg(count().where("event_type", "impression").as("impressions"),
 *          count().where("event_type", "click").as("clicks"))
 *     .ratio("ctr", "clicks", "impressions")
 *     .build();
 * }</pre>
 *
 * <p>The streaming pipeline takes the window length and the counts' conditions from here, and writes {@link
 * #table()}, whose name is the feature's: one row per entity holding its latest window.
 *
 * <p>Only {@code count()} so far: the streaming combine and the online rows hold whole numbers. A value aggregation
 * would need the value field and the {@link Partial}s of {@link WindowedAggregation}.
 */
public final class TumblingAggregation implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The window's first millisecond. */
  public static final String WINDOW_START = "window_start";
  /** The window's end, exclusive. */
  public static final String WINDOW_END = "window_end";

  private final String name;
  private final String entityField;
  private final FeatureWindow window;
  private final List<Aggregation> aggregations;
  private final List<Ratio> ratios;
  private final FeatureTable table;

  private TumblingAggregation(Builder builder) {
    this.name = builder.name;
    this.entityField = builder.entityField;
    this.window = builder.window;
    this.aggregations = List.copyOf(builder.aggregations);
    this.ratios = List.copyOf(builder.ratios);
    this.table = declareTable();
  }

  /** Starts a definition; {@code name} is also its online table's name. */
  public static Builder named(String name) {
    return new Builder(name);
  }

  public String name() {
    return name;
  }

  /** The event field that names the entity, such as {@code user_id}. */
  public String entityField() {
    return entityField;
  }

  public FeatureWindow window() {
    return window;
  }

  public long windowMillis() {
    return window.lengthMillis();
  }

  /** The counts, in column order. */
  public List<Aggregation> aggregations() {
    return aggregations;
  }

  /** The count whose column is {@code column}. */
  public Aggregation aggregation(String column) {
    for (Aggregation aggregation : aggregations) {
      if (aggregation.columnPrefix().equals(column)) {
        return aggregation;
      }
    }
    throw new IllegalArgumentException(
        "feature " + name + " has no count named " + column + ": it has " + countColumns(aggregations));
  }

  /** The ratios, in column order, after the counts. */
  public List<Ratio> ratios() {
    return ratios;
  }

  /**
   * One row per entity: its latest window, the counts and the ratios. A row replaces the stored one for a later
   * window, or for the same window with more events counted (a later, accumulating pane), so replays and
   * out-of-order writes never move an entity back in time.
   */
  public FeatureTable table() {
    return table;
  }

  private FeatureTable declareTable() {
    FeatureTable.Builder builder =
        FeatureTable.builder(name, entityField).time(WINDOW_START).time(WINDOW_END);
    aggregations.forEach(aggregation -> builder.longFeature(aggregation.columnPrefix()));
    ratios.forEach(ratio -> builder.nullableDoubleFeature(ratio.name()));
    return builder
        .time(WindowedAggregation.UPDATED_AT)
        .replaceWhen(
            "NEW." + WINDOW_START + " > OLD." + WINDOW_START + " OR (NEW." + WINDOW_START + " = OLD." + WINDOW_START
                + " AND " + sumOfCounts("NEW.") + " > " + sumOfCounts("OLD.") + ")")
        .build();
  }

  /** Every count only grows from one pane of a window to the next, so their sum orders the panes. */
  private String sumOfCounts(String prefix) {
    return aggregations.stream()
        .map(aggregation -> prefix + aggregation.columnPrefix())
        .collect(Collectors.joining(" + "));
  }

  private static List<String> countColumns(List<Aggregation> aggregations) {
    return aggregations.stream().map(Aggregation::columnPrefix).collect(Collectors.toList());
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
  public static final class Ratio implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final String numerator;
    private final String denominator;

    private Ratio(String name, String numerator, String denominator) {
      this.name = requireNonNull(name, "name");
      this.numerator = requireNonNull(numerator, "numerator");
      this.denominator = requireNonNull(denominator, "denominator");
    }

    /** Its column. */
    public String name() {
      return name;
    }

    /** The column of the count above the line. */
    public String numerator() {
      return numerator;
    }

    /** The column of the count below the line. */
    public String denominator() {
      return denominator;
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
  public static final class Builder {
    private final String name;
    private String entityField;
    private FeatureWindow window;
    private final List<Aggregation> aggregations = new ArrayList<>();
    private final List<Ratio> ratios = new ArrayList<>();

    private Builder(String name) {
      this.name = requireNonNull(name, "name");
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

    /** A column {@code name} holding {@code numerator / denominator}, two counts named by their {@code as(...)}. */
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
        if (!aggregation.kind().equals("count")) {
          throw new IllegalStateException(
              "feature " + name + " aggregates " + aggregation + ": a tumbling feature only counts so far");
        }
      }
      Set<String> columns = new HashSet<>();
      for (String column : columnNames()) {
        if (!columns.add(column)) {
          throw new IllegalStateException(
              "feature " + name + " names two columns " + column + ": give each count and ratio its own name");
        }
      }
      List<String> counts = countColumns(aggregations);
      for (Ratio ratio : ratios) {
        for (String operand : List.of(ratio.numerator(), ratio.denominator())) {
          if (!counts.contains(operand)) {
            throw new IllegalStateException(
                "feature " + name + ": ratio " + ratio + " reads " + operand + ", which is none of its counts "
                    + counts);
          }
        }
      }
      return new TumblingAggregation(this);
    }

    private List<String> columnNames() {
      List<String> names = new ArrayList<>(countColumns(aggregations));
      ratios.forEach(ratio -> names.add(ratio.name()));
      return names;
    }
  }
}
