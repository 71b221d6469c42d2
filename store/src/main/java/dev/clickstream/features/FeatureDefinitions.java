package dev.clickstream.features;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;

import java.util.List;
import java.util.Optional;

/** The registry of windowed aggregation features: pipelines, server and docs read their definitions here. */
public final class FeatureDefinitions {

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

  private FeatureDefinitions() {}

  public static List<WindowedAggregation> all() {
    return ALL;
  }

  public static Optional<WindowedAggregation> byName(String name) {
    return ALL.stream().filter(feature -> feature.name().equals(name)).findFirst();
  }
}
