package dev.clickstream.features;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;

import java.util.List;
import java.util.Optional;

/**
 * The registry of aggregation features: pipelines, server and docs read their definitions here. Rolling features
 * ({@link WindowedAggregation}) are listed by {@link #all()}, tumbling ones ({@link TumblingAggregation}) by {@link
 * #tumbling()}: they are served differently, the first three ways, the second from its one table.
 */
public final class FeatureDefinitions {

  /**
   * Click-through rate per user over 5-minute tumbling windows aligned to the epoch: impressions, clicks and their
   * ratio, null without impressions. Computed by {@code CtrPerUser}, kept in {@code ctr_5min}.
   */
  public static final TumblingAggregation CTR_5MIN =
      TumblingAggregation.named("ctr_5min")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().where("event_type", "impression").as("impressions"),
              count().where("event_type", "click").as("clicks"))
          .ratio("ctr", "clicks", "impressions")
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
          .build();

  private static final List<WindowedAggregation> ALL = List.of(CLICK_COUNTS);
  private static final List<TumblingAggregation> TUMBLING = List.of(CTR_5MIN);

  private FeatureDefinitions() {}

  /** The rolling features. */
  public static List<WindowedAggregation> all() {
    return ALL;
  }

  /** The tumbling features. */
  public static List<TumblingAggregation> tumbling() {
    return TUMBLING;
  }

  /** The rolling feature called {@code name}. */
  public static Optional<WindowedAggregation> byName(String name) {
    return ALL.stream().filter(feature -> feature.name().equals(name)).findFirst();
  }
}
