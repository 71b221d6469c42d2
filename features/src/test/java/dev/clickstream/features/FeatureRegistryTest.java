package dev.clickstream.features;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class FeatureRegistryTest {
  private static final FeatureRegistry REGISTRY = FeatureDefinitions.REGISTRY;

  @Test
  void theProjectDeclaresEveryFeatureOnce() {
    assertThat(REGISTRY.names(),
        contains("ctr_5min", "click_counts", "click_counts_sliding", "ctr_by_segment_5min", "ctr_by_category_5min",
            "user_activity_5min", "item_attribution_5min", "user_sessions", "ctr_5min.ctr"));
    assertThat(REGISTRY.definitions().stream().map(d -> d.kind().name()).collect(Collectors.toList()),
        contains("TUMBLING", "ROLLING", "SLIDING", "TUMBLING", "TUMBLING", "TUMBLING", "ATTRIBUTION", "SESSION",
            "DRIFT"));
    assertThat(names(REGISTRY.servedTables()),
        contains("ctr_5min", "click_counts", "click_counts_sliding", "ctr_by_segment_5min", "ctr_by_category_5min",
            "user_activity_5min", "item_attribution_5min", "user_sessions", "feature_drift"));
    assertThat(FeatureTables.all(), is(REGISTRY.servedTables()));
  }

  @Test
  void everyKindNamesTheEventFieldsItReads() {
    assertThat(REGISTRY.definitions().stream().map(d -> d.name() + d.eventFields()).collect(Collectors.toList()),
        contains("ctr_5min[user_id, event_type]", "click_counts[user_id, event_type]",
            "click_counts_sliding[user_id, event_type]", "ctr_by_segment_5min[user_segment, event_type]",
            "ctr_by_category_5min[item_category, event_type]",
            "user_activity_5min[user_id, event_type, item_id, item_price]",
            "item_attribution_5min[user_id, item_id, event_type]", "user_sessions[user_id, event_type]",
            "ctr_5min.ctr[]"));
    assertThat(FeatureDefinitions.CLICK_COUNTS.onDemandView(), is("click_counts_on_demand"));
    assertThat(FeatureDefinitions.CLICK_COUNTS.tiledView(), is("click_counts_tiled"));
  }

  @Test
  void slidingCountsShareTheRollingFeaturesWindowsAndColumns() {
    SlidingAggregation sliding = FeatureDefinitions.CLICK_COUNTS_SLIDING;

    assertThat(sliding.entityField(), is("user_id"));
    assertThat(sliding.period().lengthMillis(), is(60_000L));
    assertThat(sliding.table().columnNames(),
        contains("user_id", "window_end", "click_count_1_min", "click_count_10_min", "click_count_30_min",
            "click_count_1_hour", "updated_at"));
    assertThat(sliding.table().replaceRule(), is(ReplaceRule.newerBy("window_end").thenMoreOf("click_count_1_hour")));
  }

  @Test
  void aNewFeatureIsOneDeclarationAdded() {
    TumblingAggregation impressionsPerCategory =
        TumblingAggregation.named("impressions_by_category_10min")
            .groupBy("item_category")
            .window(minutes(10))
            .agg(count().where("event_type", "impression").as("impressions"))
            .build();

    FeatureRegistry extended = REGISTRY.plus(impressionsPerCategory);

    assertThat(extended.byName("impressions_by_category_10min").orElseThrow(), is(impressionsPerCategory));
    assertThat(extended.servedTables().get(extended.servedTables().size() - 1).name(),
        is("impressions_by_category_10min"));
  }

  @Test
  void twoFeaturesOfOneNameAreRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> REGISTRY.plus(FeatureDefinitions.CTR_5MIN));

    assertThat(e.getMessage(), is("two features are called ctr_5min: rename one"));
  }

  @Test
  void aMonitorMustWatchANumericFeatureOfTheRegistry() {
    IllegalArgumentException unknownView =
        assertThrows(IllegalArgumentException.class,
            () -> FeatureRegistry.of(FeatureDefinitions.CLICK_COUNTS, FeatureDefinitions.CTR_DRIFT));
    IllegalArgumentException notNumeric =
        assertThrows(IllegalArgumentException.class,
            () -> FeatureRegistry.of(FeatureDefinitions.USER_SESSIONS,
                DriftMonitor.named("user_sessions.user_id").build()));

    assertThat(unknownView.getMessage(),
        is("drift monitor ctr_5min.ctr must be named VIEW.COLUMN after a feature of this registry: [click_counts,"
            + " ctr_5min.ctr]"));
    assertThat(notNumeric.getMessage(),
        is("drift monitor user_sessions.user_id must watch a numeric feature column; user_id is KEY KEY"));
  }

  private static List<String> names(List<FeatureTable> tables) {
    return tables.stream().map(FeatureTable::name).collect(Collectors.toList());
  }
}
