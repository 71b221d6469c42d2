package dev.clickstream.features;

import static dev.clickstream.features.Aggregation.approxPercentile;
import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.distinctCount;
import static dev.clickstream.features.Aggregation.movingAverage;
import static dev.clickstream.features.FeatureWindow.minutes;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The project's features, declared once: {@link #REGISTRY} lists them for the pipelines, the store, the server and
 * the docs. Rolling features ({@link WindowedAggregation}) are served three ways (pre-computed, on demand, tiled),
 * every other kind from its one table.
 */
public final class FeatureDefinitions {

  /** Click-through rate per user over 5-minute windows; kept in {@code ctr_5min}. */
  public static final TumblingAggregation CTR_5MIN =
      TumblingAggregation.named("ctr_5min")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().where("event_type", "impression").as("impressions"),
              count().where("event_type", "click").as("clicks"))
          .ratio("ctr", "clicks", "impressions")
          .maxAge(Duration.ofMinutes(10))
          .description("Click-through rate per user over 5-minute tumbling windows aligned to the epoch:"
              + " impressions, clicks and clicks / impressions, null without impressions; the user's latest window")
          .build();

  /** CTR per user segment (from the users dimension) over 5-minute windows, over enriched events. */
  public static final TumblingAggregation CTR_BY_SEGMENT_5MIN =
      ctrPer("ctr_by_segment_5min", "user_segment", "CTR of every user of a segment (the users dimension) over its"
          + " latest 5-minute window: impressions, clicks and clicks / impressions");

  /** CTR per item category (from the items dimension) over 5-minute windows, as {@link #CTR_BY_SEGMENT_5MIN}. */
  public static final TumblingAggregation CTR_BY_CATEGORY_5MIN =
      ctrPer("ctr_by_category_5min", "item_category", "CTR of every item of a category (the items dimension) over"
          + " its latest 5-minute window: impressions, clicks and clicks / impressions");

  /**
   * A user's activity over 5-minute tumbling windows aligned to the epoch: events and clicks, distinct items, the
   * median and 90th percentile of the prices of the items, and the average clicks per window over the last 15
   * minutes (this window and the two before it). Computed over enriched click events ({@code item_price} comes from
   * the items dimension) by {@code TumblingFeatures}, kept in {@code user_activity_5min}.
   */
  public static final TumblingAggregation USER_ACTIVITY_5MIN =
      TumblingAggregation.named("user_activity_5min")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().as("events"),
              count().where("event_type", "click").as("clicks"),
              distinctCount("item_id").as("distinct_items"),
              approxPercentile("item_price", 50).as("price_p50"),
              approxPercentile("item_price", 90).as("price_p90"),
              movingAverage("clicks", 3).as("clicks_avg_15min"))
          .maxAge(Duration.ofMinutes(10))
          .description("A user's activity over 5-minute windows: events, clicks, distinct items, the median and"
              + " 90th percentile of the items' prices, and clicks averaged over this window and the two before")
          .build();

  /**
   * Clicks per user over the last 1, 10, 30 and 60 minutes, as of the user's latest click: pre-computed in {@code
   * click_counts}, on demand from {@code click_events}, tiled from {@code click_tiles}.
   */
  public static final WindowedAggregation CLICK_COUNTS =
      WindowedAggregation.named("click_counts")
          .filter("event_type", "click")
          .groupBy("user_id")
          .window(minutes(1), minutes(10), minutes(30), minutes(60))
          .agg(count().as("click_count"))
          .rawEventsTable("click_events")
          .tilesTable("click_tiles")
          .maxAge(Duration.ofHours(1))
          .description("Clicks per user in the last 1, 10, 30 and 60 minutes, both ends included, as of the"
              + " server's now: pre-computed per click, corrected from the raw clicks as clicks leave the windows")
          .build();

  /** Per user, the latest session of events less than 30 minutes apart: its length, events and clicks. */
  public static final SessionAggregation USER_SESSIONS =
      SessionAggregation.named("user_sessions")
          .groupBy("user_id")
          .gap(Duration.ofMinutes(30))
          .countWhere("event_type", "click")
          .maxAge(Duration.ofHours(1))
          .description("A user's latest session of events less than 30 minutes apart: start, end, length, events"
              + " and clicks")
          .build();

  /**
   * Per item over 5-minute windows: impressions, clicks, clicks attributed to the user's latest impression of the
   * item at most 30 minutes before, attributed CTR and mean time to click.
   */
  public static final ClickAttribution ITEM_ATTRIBUTION_5MIN =
      ClickAttribution.named("item_attribution_5min")
          .joinOn("user_id", "item_id")
          .withinGap(Duration.ofMinutes(30))
          .perEntity("item_id")
          .window(minutes(5))
          .maxAge(Duration.ofMinutes(10))
          .description("Per item over 5-minute windows: impressions, clicks, clicks attributed to the user's latest"
              + " impression of the item at most 30 minutes before, attributed CTR and mean time to click")
          .build();

  /**
   * Drift of the per-user CTR: each 5-minute window's CTR values (users with impressions, on-time panes) against
   * the 15 minutes before, by PSI and KS; the latest status per monitor is kept in {@code feature_drift}.
   */
  public static final DriftMonitor CTR_DRIFT =
      DriftMonitor.named("ctr_5min.ctr")
          .maxAge(Duration.ofMinutes(10))
          .description("Drift of the per-user CTR: each 5-minute window's values against the 15 minutes before, by"
              + " PSI and KS")
          .build();

  /** Clicks per user over the same windows as {@link #CLICK_COUNTS}, on hopping windows every minute. */
  public static final SlidingAggregation CLICK_COUNTS_SLIDING =
      SlidingAggregation.named("click_counts_sliding")
          .over(CLICK_COUNTS)
          .every(minutes(1))
          .maxAge(Duration.ofMinutes(2))
          .description("The click counts of click_counts on hopping windows every minute, each count end-exclusive"
              + " as of its window's end")
          .build();

  /**
   * What the ranking model v1 reads per user, as one vector: {@code GET /vectors/ranking_v1/{user_id}}.
   */
  public static final FeatureService RANKING_V1 =
      FeatureService.named("ranking_v1")
          .features("ctr_5min.ctr", "click_counts.*", "user_activity_5min.distinct_items")
          .description("Per user: the latest 5-minute CTR, the click counts as of now and the distinct items of the"
              + " latest 5-minute window, for the ranking model v1")
          .build();

  /**
   * Every feature of the project, in the order the index lists them, and the feature services over them. Adding a
   * feature is one declaration above and one entry here: tables, streaming transforms, views and offline history
   * derive from it.
   */
  public static final FeatureRegistry REGISTRY =
      FeatureRegistry.of(
          CTR_5MIN,
          CLICK_COUNTS,
          CLICK_COUNTS_SLIDING,
          CTR_BY_SEGMENT_5MIN,
          CTR_BY_CATEGORY_5MIN,
          USER_ACTIVITY_5MIN,
          ITEM_ATTRIBUTION_5MIN,
          USER_SESSIONS,
          CTR_DRIFT)
          .withServices(RANKING_V1);

  private FeatureDefinitions() {}

  private static TumblingAggregation ctrPer(String name, String entityField, String description) {
    return TumblingAggregation.named(name)
        .groupBy(entityField)
        .window(minutes(5))
        .agg(count().where("event_type", "impression").as("impressions"),
            count().where("event_type", "click").as("clicks"))
        .ratio("ctr", "clicks", "impressions")
        .maxAge(Duration.ofMinutes(10))
        .description(description)
        .build();
  }

  /** The rolling features. */
  public static List<WindowedAggregation> all() {
    return REGISTRY.ofKind(WindowedAggregation.class);
  }

  /** The tumbling features. */
  public static List<TumblingAggregation> tumbling() {
    return REGISTRY.ofKind(TumblingAggregation.class);
  }

  /** The drift monitors, each with one row in {@code feature_drift} once evaluated. */
  public static List<DriftMonitor> driftMonitors() {
    return REGISTRY.ofKind(DriftMonitor.class);
  }

  /** The rolling feature called {@code name}. */
  public static Optional<WindowedAggregation> byName(String name) {
    return all().stream().filter(feature -> feature.name().equals(name)).findFirst();
  }
}
