package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One declarative definition of click attribution: each click is attributed to the latest impression with the same
 * join keys (a user and an item) at most {@link #maxGapMillis()} before it, and the result is summarized per
 * entity (the item) over tumbling windows aligned to the epoch.
 *
 * <pre>{@code
 * ClickAttribution.named("item_attribution_5min")
 *     .joinOn("user_id", "item_id")
 *     .withinGap(Duration.ofMinutes(30))
 *     .perEntity("item_id")
 *     .window(minutes(5))
 *     .build();
 * }</pre>
 *
 * <p>Impressions and clicks are {@code event_type} {@code impression} and {@code click} unless declared otherwise,
 * as in {@code .impressions(EventFilter.fieldEquals("ad_event", "view"))}.
 *
 * <p>Per item and window, {@link #table()} holds: impressions and clicks (by their own event time), the clicks
 * attributed to an impression and those that were not (kept, never dropped), the attributed CTR ({@code
 * attributed_clicks / impressions}, null without impressions) and the mean time from impression to click over the
 * attributed clicks (null without any). An attributed click counts in its own window, wherever its impression was.
 */
public final class ClickAttribution extends DeclaredFeature {
  private static final long serialVersionUID = 1L;

  public static final String IMPRESSIONS = "impressions";
  public static final String CLICKS = "clicks";
  public static final String ATTRIBUTED_CLICKS = "attributed_clicks";
  public static final String UNATTRIBUTED_CLICKS = "unattributed_clicks";
  public static final String ATTRIBUTED_CTR = "attributed_ctr";
  public static final String MEAN_TIME_TO_CLICK = "mean_time_to_click_ms";

  /** The event types it reads unless declared otherwise, as the CTR feature does. */
  public static final String IMPRESSION = "impression";
  public static final String CLICK = "click";

  private final EventFilter impressions;
  private final EventFilter clicks;
  private final List<String> joinKeys;
  private final long maxGapMillis;
  private final FeatureWindow window;
  private final FeatureTable table;

  private ClickAttribution(Builder builder) {
    super(builder.name, Kind.ATTRIBUTION, builder.entityField, builder, builder.window.length().multipliedBy(2));
    this.impressions = builder.impressions;
    this.clicks = builder.clicks;
    this.joinKeys = List.copyOf(builder.joinKeys);
    this.maxGapMillis = builder.maxGapMillis;
    this.window = builder.window;
    this.table = declareTable();
  }

  public static Builder named(String name) {
    return new Builder(name);
  }

  /** The join keys, the entity, then the impressions' and clicks' conditions. */
  @Override
  public List<String> eventFields() {
    java.util.Set<String> fields = new java.util.LinkedHashSet<>(joinKeys);
    fields.add(entityField);
    fields.add(impressions.field());
    fields.add(clicks.field());
    return List.copyOf(fields);
  }

  /** Which events are impressions, such as {@code event_type = impression}. */
  public EventFilter impressions() {
    return impressions;
  }

  /** Which events are clicks, such as {@code event_type = click}. */
  public EventFilter clicks() {
    return clicks;
  }

  /** The fields an impression and a click must share, such as user and item. */
  public List<String> joinKeys() {
    return joinKeys;
  }

  /** A click is attributed to an impression at most this long before it (both ends inclusive). */
  public long maxGapMillis() {
    return maxGapMillis;
  }


  public FeatureWindow window() {
    return window;
  }

  /**
   * One row per item: its latest window. A row replaces the stored one for a later window, or the same window with
   * more impressions and clicks (a later pane: every count only grows), so replays never move an item back.
   */
  @Override
  public FeatureTable table() {
    return table;
  }

  /** A {@link #table()} row from the window's counts and the sum of the attributed clicks' times to click. */
  public Object[] row(
      String entity, long windowStart, long windowEnd, long impressions, long clicks, long attributedClicks,
      long sumTimeToClickMillis, long updatedAt) {
    return new Object[] {
      entity, windowStart, windowEnd, impressions, clicks, attributedClicks, clicks - attributedClicks,
      TumblingAggregation.Ratio.of(attributedClicks, impressions),
      attributedClicks == 0 ? null : (double) sumTimeToClickMillis / attributedClicks,
      updatedAt
    };
  }


  @Override
  void describeShape(Map<String, Object> described) {
    described.put("impressions", impressions.toString());
    described.put("clicks", clicks.toString());
    described.put("join_keys", joinKeys);
    described.put("max_gap_ms", maxGapMillis);
    described.put("windows", describeWindows(List.of(window)));
  }

  @Override
  String timeSemantics() {
    return "each click joined to the latest impression on " + joinKeys + " at most " + Duration.ofMillis(maxGapMillis)
        + " before it (both ends included), then per " + entityField + " over tumbling " + window + " windows aligned"
        + " to the epoch by each event's own time; one row per entity: its latest window, written when it closes;"
        + " stale " + maxAge() + " after " + TumblingAggregation.WINDOW_END;
  }

  private FeatureTable declareTable() {
    return FeatureTable.builder(name, entityField)
        .time(TumblingAggregation.WINDOW_START)
        .time(TumblingAggregation.WINDOW_END)
        .longFeature(IMPRESSIONS)
        .longFeature(CLICKS)
        .longFeature(ATTRIBUTED_CLICKS)
        .longFeature(UNATTRIBUTED_CLICKS)
        .nullableDoubleFeature(ATTRIBUTED_CTR)
        .nullableDoubleFeature(MEAN_TIME_TO_CLICK)
        .time(WindowedAggregation.UPDATED_AT)
        .replaceWhen(ReplaceRule.newerBy(TumblingAggregation.WINDOW_START).thenMoreOf(IMPRESSIONS, CLICKS))
        .build();
  }

  @Override
  public String toString() {
    return name + ": clicks attributed to the latest impression on " + joinKeys + " within "
        + Duration.ofMillis(maxGapMillis) + ", per " + entityField + " over " + window + " windows";
  }

  /** Builds a {@link ClickAttribution}; see the class documentation for the shape. */
  public static final class Builder extends DeclarationBuilder<Builder> {
    private EventFilter impressions = EventFilter.fieldEquals("event_type", IMPRESSION);
    private EventFilter clicks = EventFilter.fieldEquals("event_type", CLICK);
    private List<String> joinKeys;
    private long maxGapMillis = -1;
    private String entityField;
    private FeatureWindow window;

    private Builder(String name) {
      super(name);
    }

    /** Which events are impressions; {@code event_type = impression} unless declared. */
    public Builder impressions(EventFilter impressions) {
      this.impressions = requireNonNull(impressions, "impressions");
      return this;
    }

    /** Which events are clicks; {@code event_type = click} unless declared. */
    public Builder clicks(EventFilter clicks) {
      this.clicks = requireNonNull(clicks, "clicks");
      return this;
    }

    public Builder joinOn(String... keys) {
      this.joinKeys = List.of(keys);
      return this;
    }

    public Builder withinGap(Duration gap) {
      if (gap == null || gap.isNegative()) {
        throw new IllegalArgumentException("feature " + name + ": the attribution gap must be zero or more, got "
            + gap);
      }
      this.maxGapMillis = gap.toMillis();
      return this;
    }

    public Builder perEntity(String entityField) {
      this.entityField = requireNonNull(entityField, "entityField");
      return this;
    }

    public Builder window(FeatureWindow window) {
      this.window = requireNonNull(window, "window");
      return this;
    }

    public ClickAttribution build() {
      if (joinKeys == null || joinKeys.isEmpty()) {
        throw new IllegalStateException("feature " + name + " needs joinOn(fields...)");
      }
      if (maxGapMillis < 0) {
        throw new IllegalStateException("feature " + name + " needs withinGap(duration)");
      }
      if (entityField == null || !joinKeys.contains(entityField)) {
        throw new IllegalStateException(
            "feature " + name + " needs perEntity(field) with one of its join keys " + joinKeys + ", got "
                + entityField);
      }
      if (window == null) {
        throw new IllegalStateException("feature " + name + " needs a window(length)");
      }
      if (impressions.equals(clicks)) {
        throw new IllegalStateException(
            "feature " + name + " needs impressions and clicks told apart, but both are " + clicks);
      }
      return new ClickAttribution(this);
    }
  }
}
