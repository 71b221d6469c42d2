package dev.clickstream.features;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Feature services resolved by a registry, and every declaration's max age, time column and description. */
class FeatureServiceTest {
  private static final FeatureRegistry REGISTRY = FeatureDefinitions.REGISTRY;

  @Test
  void rankingV1ExpandsClickCountsIntoItsColumnsInDeclaredOrder() {
    assertThat(REGISTRY.services(), contains(FeatureDefinitions.RANKING_V1));
    assertThat(REGISTRY.features(FeatureDefinitions.RANKING_V1).stream().map(FeatureService.Feature::name)
            .collect(Collectors.toList()),
        contains("ctr_5min.ctr", "click_counts.click_count_1_min", "click_counts.click_count_10_min",
            "click_counts.click_count_30_min", "click_counts.click_count_1_hour", "user_activity_5min.distinct_items"));
    assertThat(FeatureDefinitions.RANKING_V1.toString(),
        is("ranking_v1 = ctr_5min.ctr + click_counts.* + user_activity_5min.distinct_items"));
  }

  @Test
  void theRegistryServesEveryTableAndTheComputedViews() {
    assertThat(REGISTRY.views().stream().map(FeatureRegistry.View::name).collect(Collectors.toList()),
        contains("ctr_5min", "click_counts", "click_counts_sliding", "ctr_by_segment_5min", "ctr_by_category_5min",
            "user_activity_5min", "item_attribution_5min", "user_sessions", "feature_drift", "click_counts_on_demand",
            "click_counts_tiled"));
    FeatureRegistry.View drift = REGISTRY.views().get(8);
    assertThat(drift.definitions(), contains(FeatureDefinitions.CTR_DRIFT));
    assertThat(drift.featureColumns(), contains("reference_count", "recent_count", "psi", "ks", "drift_status"));
  }

  @Test
  void aServiceOfAnUnknownViewOrColumnIsRefusedSayingWhatExists() {
    IllegalArgumentException view = refused("ranking_v2", "ctr_1h.ctr");
    IllegalArgumentException column = refused("ranking_v2", "ctr_5min.ctr", "click_counts.click_count_2_hour");

    assertThat(view.getMessage(), is("feature service ranking_v2 names view ctr_1h, which this registry does not"
        + " serve: its views are " + REGISTRY.views().stream().map(FeatureRegistry.View::name).toList()));
    assertThat(column.getMessage(), is("feature service ranking_v2 names column click_count_2_hour of view"
        + " click_counts, which has no such feature: it has [click_count_1_min, click_count_10_min,"
        + " click_count_30_min, click_count_1_hour]"));
  }

  @Test
  void aServiceOfTwoEntityKeysOrOneColumnTwiceIsRefused() {
    IllegalArgumentException keys = refused("mixed", "ctr_5min.ctr", "item_attribution_5min.clicks");
    IllegalArgumentException twice = refused("twice", "click_counts.*", "click_counts.click_count_1_min");

    assertThat(keys.getMessage(), is("feature service mixed mixes entity keys: ctr_5min is per user_id,"
        + " item_attribution_5min per item_id; a vector describes one entity"));
    assertThat(twice.getMessage(), is("feature service twice names click_counts.click_count_1_min twice"
        + " (twice = click_counts.* + click_counts.click_count_1_min)"));
  }

  @Test
  void aReferenceThatIsNotViewDotColumnOrTwoServicesOfOneNameAreRefused() {
    IllegalStateException shape =
        assertThrows(IllegalStateException.class,
            () -> FeatureService.named("bad").features("ctr_5min", "ctr_5min.ctr").build());
    IllegalArgumentException sameName =
        assertThrows(IllegalArgumentException.class, () -> REGISTRY.withServices(FeatureDefinitions.RANKING_V1));

    assertThat(shape.getMessage(),
        is("feature service bad: 'ctr_5min' is not VIEW.COLUMN or VIEW.*, such as ctr_5min.ctr or click_counts.*"));
    assertThat(sameName.getMessage(), is("two feature services are called ranking_v1: rename one"));
  }

  @Test
  void everyDeclarationHasAMaxAgeFromItsTimeColumn() {
    assertThat(REGISTRY.definitions().stream()
            .map(d -> d.name() + " " + d.asOfColumn() + " " + d.maxAge()).collect(Collectors.toList()),
        contains("ctr_5min window_end PT10M", "click_counts event_time PT1H", "click_counts_sliding window_end PT2M",
            "ctr_by_segment_5min window_end PT10M", "ctr_by_category_5min window_end PT10M",
            "user_activity_5min window_end PT10M", "item_attribution_5min window_end PT10M",
            "user_sessions session_end PT1H", "ctr_5min.ctr window_end PT10M"));
  }

  /** Without maxAge(...), a kind's default follows its windows: two windows, the longest window, two gaps. */
  @Test
  void aDeclarationWithoutMaxAgeGetsItsKindsDefault() {
    TumblingAggregation tumbling =
        TumblingAggregation.named("t").groupBy("user_id").window(minutes(15)).agg(count().as("n")).build();
    WindowedAggregation rolling =
        WindowedAggregation.named("r").groupBy("user_id").window(minutes(2), minutes(20)).agg(count().as("n")).build();
    SessionAggregation sessions =
        SessionAggregation.named("s").groupBy("user_id").gap(Duration.ofMinutes(7)).countWhere("event_type", "click")
            .build();

    assertThat(List.of(tumbling.maxAge(), rolling.maxAge(), sessions.maxAge()),
        contains(Duration.ofMinutes(30), Duration.ofMinutes(20), Duration.ofMinutes(14)));
    assertThat(tumbling.description(), is(tumbling.toString()));
    assertThat(assertThrows(IllegalArgumentException.class,
            () -> TumblingAggregation.named("t").maxAge(Duration.ZERO)).getMessage(),
        is("feature t: maxAge must be a positive duration, got PT0S"));
  }

  private static IllegalArgumentException refused(String name, String... references) {
    FeatureService service = FeatureService.named(name).features(references).build();
    return assertThrows(IllegalArgumentException.class, () -> REGISTRY.withServices(service));
  }
}
