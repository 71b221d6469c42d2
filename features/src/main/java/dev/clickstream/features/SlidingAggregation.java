package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/**
 * The counts of a {@link WindowedAggregation} computed on hopping windows instead of per event: every {@link
 * #period()}, per entity with an event in the longest window, one row holding the window end and each count over
 * {@code [window_end - W, window_end)}. The online table keeps each entity's latest window end.
 *
 * <pre>{@code
 * SlidingAggregation.named("click_counts_sliding").over(FeatureDefinitions.CLICK_COUNTS).every(minutes(1)).build();
 * }</pre>
 *
 * <p>Hopping windows cost one window per event and period of the longest size, so keep the longest window a small
 * multiple of the period. Only counts can be computed this way.
 */
public final class SlidingAggregation extends DeclaredFeature {
  private static final long serialVersionUID = 1L;

  /** The end of the window a row describes (epoch milliseconds, exclusive). */
  public static final String WINDOW_END = "window_end";

  private final WindowedAggregation counts;
  private final FeatureWindow period;
  private final FeatureTable table;

  private SlidingAggregation(Builder builder, WindowedAggregation counts, FeatureWindow period) {
    super(builder.name, Kind.SLIDING, counts.entityField(), builder, period.length().multipliedBy(2));
    this.counts = counts;
    this.period = period;
    this.table = declareTable();
  }

  public static Builder named(String name) {
    return new Builder(name);
  }



  /** The rolling feature whose filter, entity, windows and count columns these hopping windows share. */
  public WindowedAggregation counts() {
    return counts;
  }


  @Override
  public List<String> eventFields() {
    return counts.eventFields();
  }

  /** How often a window starts (aligned to the epoch); every window length is a whole multiple of it. */
  public FeatureWindow period() {
    return period;
  }

  /** The window lengths, shortest first, one count column each. */
  public List<FeatureWindow> windows() {
    return counts.windows();
  }

  /** The count columns, in {@link #windows()} order. */
  public List<String> featureColumns() {
    return counts.featureColumns();
  }

  @Override
  public FeatureTable table() {
    return table;
  }


  @Override
  void describeShape(Map<String, Object> described) {
    described.put("over", counts.name());
    described.put("filter", counts.filter() == null ? null : counts.filter().toString());
    described.put("windows", describeWindows(counts.windows()));
    described.put("aggregations", describeAggregations(counts.aggregations()));
    described.put("period_ms", period.lengthMillis());
  }

  @Override
  String timeSemantics() {
    return "hopping event-time windows every " + period + " aligned to the epoch; each count over [" + WINDOW_END
        + " - length, " + WINDOW_END + "), end excluded; one row per entity: its latest " + WINDOW_END + ", written"
        + " when the window closes; stale " + maxAge() + " after " + WINDOW_END;
  }

  private FeatureTable declareTable() {
    FeatureTable.Builder builder = FeatureTable.builder(name, counts.entityField()).time(WINDOW_END);
    List<String> columns = counts.featureColumns();
    columns.forEach(builder::longFeature);
    return builder
        .time(WindowedAggregation.UPDATED_AT)
        .replaceWhen(ReplaceRule.newerBy(WINDOW_END).thenMoreOf(columns.get(columns.size() - 1)))
        .build();
  }

  @Override
  public String toString() {
    return name + ": " + counts.name() + " on hopping windows every " + period;
  }

  /** Builds a {@link SlidingAggregation}; {@link #build()} checks that the windows fit the period. */
  public static final class Builder extends DeclarationBuilder<Builder> {
    private WindowedAggregation counts;
    private FeatureWindow period;

    private Builder(String name) {
      super(name);
    }

    /** The rolling feature to count on hopping windows; it may only count. */
    public Builder over(WindowedAggregation counts) {
      this.counts = requireNonNull(counts, "counts");
      return this;
    }

    public Builder every(FeatureWindow period) {
      this.period = requireNonNull(period, "period");
      return this;
    }

    public SlidingAggregation build() {
      if (counts == null || period == null) {
        throw new IllegalStateException("sliding feature " + name + " needs over(feature) and every(period)");
      }
      if (counts.aggregations().stream().anyMatch(aggregation -> !aggregation.kind().equals("count"))) {
        throw new IllegalStateException("hopping windows only count; " + counts + " aggregates more");
      }
      for (FeatureWindow window : counts.windows()) {
        if (window.lengthMillis() % period.lengthMillis() != 0) {
          throw new IllegalStateException(
              "sliding feature " + name + ": window " + window + " is not a whole multiple of the period " + period);
        }
      }
      return new SlidingAggregation(this, counts, period);
    }
  }
}
