package dev.clickstream.features;

import static dev.clickstream.features.Aggregation.avg;
import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.last;
import static dev.clickstream.features.Aggregation.max;
import static dev.clickstream.features.Aggregation.min;
import static dev.clickstream.features.Aggregation.sum;
import static dev.clickstream.features.FeatureWindow.minutes;
import static java.util.stream.Collectors.toList;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureTable;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WindowedAggregationTest {
  private static final WindowedAggregation CLICKS = FeatureDefinitions.CLICK_COUNTS;

  private static final WindowedAggregation SPEND =
      WindowedAggregation.named("spend")
          .filter("event_type", "purchase")
          .groupBy("user_id")
          .value("price")
          .window(minutes(60), minutes(5))
          .agg(count(), sum(), avg(), min(), max(), last())
          .rawEventsTable("purchase_events")
          .tilesTable("purchase_tiles")
          .build();

  @Test
  void clickCountsDeclaresTheTablesOfTheIssue() {
    assertThat(CLICKS.precomputedTable().columnNames(),
        contains("user_id", "event_time", "click_count_1_min", "click_count_10_min", "click_count_30_min",
            "click_count_1_hour", "updated_at"));
    assertThat(CLICKS.precomputedTable().replaceRule(),
        is(ReplaceRule.newerBy("event_time").thenMoreOf("click_count_1_hour")));
    assertThat(CLICKS.rawEventsTable().columnNames(), contains("user_id", "event_id", "event_time"));
    assertThat(CLICKS.rawEventsTable().keyColumns().stream().map(FeatureTable.Column::name).collect(toList()),
        contains("user_id", "event_id"));
    assertThat(CLICKS.tilesTable().columnNames(), contains("user_id", "tile_start", "event_count", "latest_time", "updated_at"));
    assertThat(CLICKS.retentionMillis(), is(65 * 60_000L));
    assertThat(CLICKS.filter().toString(), is("event_type = click"));
  }

  @Test
  void windowsAreSortedShortestFirstAndLabelled() {
    assertThat(SPEND.windows(), contains(minutes(5), minutes(60)));
    assertThat(SPEND.featureColumns(),
        contains("count_5_min", "count_1_hour", "sum_5_min", "sum_1_hour", "avg_5_min", "avg_1_hour", "min_5_min",
            "min_1_hour", "max_5_min", "max_1_hour", "last_5_min", "last_1_hour"));
  }

  @Test
  void everyAggregationFollowsFromThePartials() {
    Partial fiveMinutes = new Partial().add(10, 4.0).add(20, null).add(30, 2.0);
    Partial noValues = new Partial().add(10, null);

    Map<String, Object> features = SPEND.features(new Partial[] {fiveMinutes, noValues});

    assertThat(features.get("count_5_min"), is(3L));
    assertThat(features.get("sum_5_min"), is(6.0));
    assertThat(features.get("avg_5_min"), is(3.0));
    assertThat(features.get("min_5_min"), is(2.0));
    assertThat(features.get("max_5_min"), is(4.0));
    assertThat(features.get("last_5_min"), is(2.0));
    assertThat(features.get("count_1_hour"), is(1L));
    for (String kind : List.of("sum", "avg", "min", "max", "last")) {
      assertThat(kind, features.get(kind + "_1_hour"), is(nullValue()));
    }
  }

  @Test
  void rowsFollowTheColumnOrder() {
    Partial[] perWindow = {Partial.of(5, null), Partial.of(5, null), Partial.of(5, null).add(4, null),
      Partial.of(5, null).add(4, null).add(1, null)};

    assertThat(Arrays.asList(CLICKS.precomputedRow("u1", 5L, perWindow, 99L)),
        contains("u1", 5L, 1L, 1L, 2L, 3L, 99L));
    assertThat(Arrays.asList(CLICKS.rawEventRow("e1", "u1", 5L, null)), contains("u1", "e1", 5L));
    assertThat(Arrays.asList(CLICKS.tileRow("u1", 0L, perWindow[3], 99L)), contains("u1", 0L, 3L, 5L, 99L));
    assertThat(Arrays.asList(SPEND.tileRow("u1", 0L, new Partial().add(1, 2.5).add(2, null), 99L)),
        contains("u1", 0L, 2L, 2L, 1L, 2.5, 2.5, 2.5, 1L, 2.5, 99L));
    assertThat(Arrays.asList(SPEND.tileRow("u1", 0L, Partial.of(2, null), 99L)),
        contains("u1", 0L, 1L, 2L, 0L, null, null, null, null, null, 99L));
  }

  @Test
  void tilesAreAlignedToTheEpochForNegativeTimesToo() {
    assertThat(CLICKS.tileStart(0), is(0L));
    assertThat(CLICKS.tileStart(59_999), is(0L));
    assertThat(CLICKS.tileStart(60_000), is(60_000L));
    assertThat(CLICKS.tileStart(-1), is(-60_000L));
  }

  @Test
  void anIncompleteDefinitionSaysWhatIsMissing() {
    assertThat(
        assertThrows(IllegalStateException.class,
            () -> WindowedAggregation.named("f").window(minutes(1)).agg(count()).build()).getMessage(),
        is("feature f needs groupBy(entityField)"));
    assertThat(
        assertThrows(IllegalStateException.class,
            () -> WindowedAggregation.named("f").groupBy("user_id").window(minutes(1)).agg(count(), sum()).build())
            .getMessage(),
        is("feature f aggregates values ([count() as count, sum() as sum]): say which field with value(field)"));
    assertThat(
        assertThrows(IllegalStateException.class,
            () -> WindowedAggregation.named("f").groupBy("user_id").value("v").window(minutes(1)).agg(sum()).build())
            .getMessage(),
        is("feature f needs count() among its aggregations: rows of the same event time are ordered by it"));
    assertThat(
        assertThrows(IllegalStateException.class,
            () -> WindowedAggregation.named("f").groupBy("user_id").window(minutes(1)).agg(count(), count()).build())
            .getMessage(),
        is("feature f names two aggregations alike: give each its own as(prefix)"));
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> minutes(0)).getMessage(),
        is("a feature window must be a positive whole number of minutes, got 0 ms"));
  }

  @Test
  void theDefinitionReadsAsTheFluentCallThatMadeIt() {
    assertThat(CLICKS.toString(),
        is("click_counts: events.filter(event_type = click).groupBy(user_id).window[1_min, 10_min, 30_min, 1_hour]"
            + ".agg[count() as click_count]"));
  }

  @Test
  void tablesAreStoreTables() {
    FeatureTable tiles = SPEND.tilesTable();
    assertThat(tiles.columnNames(),
        contains("user_id", "tile_start", "event_count", "latest_time", "value_count", "value_sum", "value_min", "value_max",
            "last_time", "last_value", "updated_at"));
    assertThat(SPEND.rawEventsTable().columnNames(), contains("user_id", "event_id", "event_time", "event_value"));
  }
}
