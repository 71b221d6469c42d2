package dev.clickstream.serving;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.features.WindowedAggregation;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** How views are derived from the registries: which patterns a definition gets, their names, and name clashes. */
class FeatureViewsTest {
  /** Raw events but no tiles: on demand only. */
  private static final WindowedAggregation VIEWS =
      WindowedAggregation.named("views")
          .filter("event_type", "view")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().as("view_count"))
          .rawEventsTable("view_events")
          .build();

  /** Neither raw events nor tiles: pre-computed only, so no computed view. */
  private static final WindowedAggregation SCROLLS =
      WindowedAggregation.named("scrolls")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().as("scroll_count"))
          .build();

  @Test
  void aDefinitionGetsAComputedViewPerTableItHas() {
    List<FeatureView> views =
        FeatureViews.derive(
            FeatureRegistry.of(FeatureDefinitions.CTR_5MIN, FeatureDefinitions.CLICK_COUNTS, VIEWS, SCROLLS));

    assertThat(views.stream().map(v -> v.name() + ":" + v.pattern().label()).collect(Collectors.toList()),
        contains("ctr_5min:pre-computed", "click_counts:pre-computed", "views:pre-computed", "scrolls:pre-computed",
            "click_counts_on_demand:on-demand", "click_counts_tiled:tiled", "views_on_demand:on-demand"));
    assertThat(views.get(6).features(), contains("view_count_5_min"));
    assertThat(views.get(6).times(), contains("event_time", "as_of"));
    assertThat(views.get(6).entityKey(), is("user_id"));
    assertThat(((FeatureView.Precomputed) views.get(2)).rolling(), is(VIEWS));
    assertThat(((FeatureView.Precomputed) views.get(0)).rolling(), is((WindowedAggregation) null));
  }

  @Test
  void theServedViewsAreTheRegistriesViews() {
    FeatureViews views = FeatureViews.of(FeatureDefinitions.REGISTRY);

    assertThat(views.names(),
        is(FeatureDefinitions.REGISTRY.views().stream().map(FeatureRegistry.View::name).collect(Collectors.toList())));
    for (FeatureView view : views.all()) {
      FeatureRegistry.View declared =
          FeatureDefinitions.REGISTRY.views().stream().filter(v -> v.name().equals(view.name())).findFirst()
              .orElseThrow();
      assertThat(view.name(), view.features(), is(declared.featureColumns()));
      assertThat(view.name(), view.entityKey(), is(declared.entityKey()));
    }
    assertThat(views.names(),
        contains("ctr_5min", "click_counts", "click_counts_sliding", "ctr_by_segment_5min", "ctr_by_category_5min",
            "user_activity_5min", "item_attribution_5min", "user_sessions", "feature_drift", "click_counts_on_demand",
            "click_counts_tiled"));
    assertThat(views.byName("click_counts_tiled").orElseThrow(),
        is(new FeatureView.Computed(FeatureDefinitions.CLICK_COUNTS, FeatureView.Pattern.TILED)));
    assertThat(views.byName("click_counts_Tiled").isPresent(), is(false));
  }

  @Test
  void twoViewsOfOneNameAreRefused() {
    TumblingAggregation clash =
        TumblingAggregation.named("click_counts_tiled").groupBy("user_id").window(minutes(5))
            .agg(count().as("n")).build();

    IllegalStateException e =
        assertThrows(IllegalStateException.class,
            () -> FeatureViews.derive(FeatureRegistry.of(clash, FeatureDefinitions.CLICK_COUNTS)));

    assertThat(e.getMessage(),
        is("two feature views are named click_counts_tiled: rename a table or a feature definition"));
  }

  @Test
  void aComputedViewNeedsTheTableItReads() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> new FeatureView.Computed(VIEWS, FeatureView.Pattern.TILED));

    assertThat(e.getMessage(), is("feature views has no tiles table, so it has no tiled view"));
  }
}
