package dev.clickstream.offline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.Partial;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The as-of rules on hand-made history: versions, ties, maximum age, and the views named from the registry. */
class AsOfJoinTest {
  private static final long T0 = 1_709_294_400_000L;
  private static final long FIVE_MINUTES = 300_000L;
  private static final TrainingView CTR = TrainingView.of(FeatureDefinitions.REGISTRY, "ctr_5min");

  @Test
  void aWindowIsKnownFromItsEndAndItsMostCompleteVersionWins() {
    List<Object[]> history = new ArrayList<>(List.of(
        ctrRow(T0, 4, 1, 10L),
        ctrRow(T0, 5, 1, 30L), // a late pane: more counted
        ctrRow(T0, 5, 1, 20L), // the same pane written earlier (a retry): the later write wins, values equal
        ctrRow(T0 + FIVE_MINUTES, 2, 0, 40L)));
    AsOfJoin.Answers answers = AsOfJoin.of(CTR).over(history, null);

    assertThat(answers.at(T0 + FIVE_MINUTES - 1), nullValue());
    assertThat(Arrays.asList(answers.at(T0 + FIVE_MINUTES)),
        equalTo(List.of(T0, T0 + FIVE_MINUTES, 5L, 1L, 0.2)));
    assertThat(Arrays.asList(answers.at(T0 + 2 * FIVE_MINUTES - 1)),
        equalTo(List.of(T0, T0 + FIVE_MINUTES, 5L, 1L, 0.2)));
    assertThat(Arrays.asList(answers.at(T0 + 2 * FIVE_MINUTES)),
        equalTo(List.of(T0 + FIVE_MINUTES, T0 + 2 * FIVE_MINUTES, 2L, 0L, 0.0)));
  }

  @Test
  void aValueOlderThanTheMaximumAgeIsNull() {
    AsOfJoin.Answers answers = AsOfJoin.of(CTR).withMaxAge(60_000L).over(List.<Object[]>of(ctrRow(T0, 1, 1, 0L)), null);

    assertThat(answers.at(T0 + FIVE_MINUTES + 60_000L)[2], equalTo(1L));
    assertThat(answers.at(T0 + FIVE_MINUTES + 60_001L), nullValue());
  }

  @Test
  void clickCountsAreAsOfTheLatestClickAndOnDemandAsOfTheTime() {
    NavigableMap<Long, Partial> clicks = new TreeMap<>();
    for (long time : new long[] {T0, T0, T0 + 50_000L, T0 + 3_600_000L}) {
      clicks.merge(time, Partial.of(time, null), Partial::merge);
    }
    TrainingView latest = TrainingView.of(FeatureDefinitions.REGISTRY, "click_counts");
    TrainingView onDemand = TrainingView.of(FeatureDefinitions.REGISTRY, "click_counts_on_demand");

    assertThat(AsOfJoin.of(latest).over(null, clicks).at(T0 - 1), nullValue());
    assertThat(Arrays.asList(AsOfJoin.of(latest).over(null, clicks).at(T0 + 3_599_999L)),
        equalTo(List.of(T0 + 50_000L, 3L, 3L, 3L, 3L)));
    assertThat(AsOfJoin.of(latest).withMaxAge(1_000L).over(null, clicks).at(T0 + 51_001L), nullValue());
    assertThat(AsOfJoin.of(latest).withMaxAge(1_000L).over(null, clicks).at(T0 + 51_000L)[0], equalTo(T0 + 50_000L));
    assertThat(Arrays.asList(AsOfJoin.of(onDemand).over(null, clicks).at(T0 + 3_600_000L)),
        equalTo(List.of(T0 + 3_600_000L, 1L, 1L, 1L, 4L)));
    assertThat(Arrays.asList(AsOfJoin.of(onDemand).over(null, clicks).at(T0 + 3_600_001L)),
        equalTo(List.of(T0 + 3_600_000L, 1L, 1L, 1L, 2L)));
    assertThat(Arrays.asList(AsOfJoin.of(onDemand).over(null, new TreeMap<>()).at(T0)),
        equalTo(Arrays.asList(null, 0L, 0L, 0L, 0L)));
  }

  @Test
  void viewsComeFromTheRegistryAndAMonitorOrAnUnknownNameIsRefused() {
    assertThat(TrainingView.names(FeatureDefinitions.REGISTRY), equalTo(List.of("ctr_5min", "click_counts",
        "click_counts_on_demand", "click_counts_tiled", "click_counts_sliding", "ctr_by_segment_5min",
        "ctr_by_category_5min", "user_activity_5min", "item_attribution_5min", "user_sessions")));
    assertThat(assertThrows(IllegalArgumentException.class,
            () -> TrainingView.of(FeatureDefinitions.REGISTRY, "ctr_5min.ctr")).getMessage(),
        equalTo("ctr_5min.ctr is a drift monitor, not a feature of an entity: a training set cannot join it"));
    assertThat(assertThrows(IllegalArgumentException.class,
            () -> TrainingView.of(FeatureDefinitions.REGISTRY, "ctr")).getMessage(),
        equalTo("no view called 'ctr'; views: " + String.join(", ", TrainingView.names(FeatureDefinitions.REGISTRY))));
  }

  /** A ctr_5min row: user, window start and end, impressions, clicks, ctr, updated_at. */
  private static Object[] ctrRow(long windowStart, long impressions, long clicks, long updatedAt) {
    return new Object[] {"alice", windowStart, windowStart + FIVE_MINUTES, impressions, clicks,
        impressions == 0 ? null : (double) clicks / impressions, updatedAt};
  }
}
