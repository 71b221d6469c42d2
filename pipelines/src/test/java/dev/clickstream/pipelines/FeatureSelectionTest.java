package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Names on the command line to features and tables: feature names, view names and the old pipeline names. */
class FeatureSelectionTest {

  @Test
  void theOldPipelineNamesKeepTheirMeaning() {
    assertThat(tables("ctr"), equalTo("ctr[ctr_5min, feature_drift]"));
    assertThat(tables("click-counts"), equalTo("click-counts[click_counts]"));
    assertThat(tables("click-counts", ClickCounter.SLIDING), equalTo("click-counts[click_counts_sliding]"));
    assertThat(tables("raw-events"), equalTo("raw-events[click_events, click_tiles]"));
    assertThat(tables("enriched"),
        equalTo("enriched[ctr_by_segment_5min, ctr_by_category_5min, user_activity_5min]"));
    assertThat(tables("attribution"), equalTo("attribution[item_attribution_5min]"));
    assertThat(tables("sessions"), equalTo("sessions[user_sessions]"));
  }

  @Test
  void allIsEveryFeatureWithStatefulOrSlidingClickCounts() {
    assertThat(tables("all"), equalTo("all[ctr_5min, click_counts, click_events, click_tiles, ctr_by_segment_5min,"
        + " ctr_by_category_5min, user_activity_5min, item_attribution_5min, user_sessions, feature_drift]"));
    assertThat(tables("all", ClickCounter.SLIDING), equalTo("all[ctr_5min, click_events, click_tiles,"
        + " click_counts_sliding, ctr_by_segment_5min, ctr_by_category_5min, user_activity_5min,"
        + " item_attribution_5min, user_sessions, feature_drift]"));
    assertThat(FeatureSelection.of(FeatureDefinitions.REGISTRY, List.of(), ClickCounter.STATEFUL).name(),
        equalTo("all"));
  }

  @Test
  void featuresAndViewsAreSelectedByNameAndADriftMonitorBringsWhatItWatches() {
    assertThat(tables("ctr_5min.ctr"), equalTo("ctr_5min.ctr[ctr_5min, feature_drift]"));
    assertThat(tables("click_counts_on_demand"), equalTo("click_counts_on_demand[click_events]"));
    assertThat(
        FeatureSelection.of(FeatureDefinitions.REGISTRY, List.of("user_sessions", "click_counts_tiled", "ctr_5min"),
            ClickCounter.STATEFUL).toString(),
        equalTo("user_sessions+click_counts_tiled+ctr_5min[ctr_5min, click_tiles, user_sessions]"));
  }

  @Test
  void anUnknownNameOrCounterIsRefusedNamingWhatThereIs() {
    IllegalArgumentException name = assertThrows(IllegalArgumentException.class, () -> tables("ctr_5mn"));
    assertThat(name.getMessage(), equalTo("unknown feature 'ctr_5mn': the features are [ctr_5min, click_counts,"
        + " click_counts_on_demand, click_counts_tiled, click_counts_sliding, ctr_by_segment_5min,"
        + " ctr_by_category_5min, user_activity_5min, item_attribution_5min, user_sessions, ctr_5min.ctr], the aliases"
        + " [ctr, click-counts, raw-events, attribution, sessions, enriched, all]"));
    IllegalArgumentException counter =
        assertThrows(IllegalArgumentException.class, () -> ClickCounter.parse("hopping"));
    assertThat(counter.getMessage(), equalTo("--counter must be stateful or sliding, got 'hopping'"));
  }

  private static String tables(String name) {
    return tables(name, ClickCounter.STATEFUL);
  }

  private static String tables(String name, ClickCounter counter) {
    return FeatureSelection.of(FeatureDefinitions.REGISTRY, List.of(name), counter).toString();
  }
}
