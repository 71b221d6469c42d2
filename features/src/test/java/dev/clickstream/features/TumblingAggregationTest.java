package dev.clickstream.features;

import static dev.clickstream.features.Aggregation.approxPercentile;
import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.distinctCount;
import static dev.clickstream.features.Aggregation.movingAverage;
import static dev.clickstream.features.Aggregation.sum;
import static dev.clickstream.features.FeatureWindow.minutes;
import static dev.clickstream.features.TableDescriptions.describe;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.sameInstance;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureTable;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class TumblingAggregationTest {
  private static final TumblingAggregation CTR = FeatureDefinitions.CTR_5MIN;
  private static final TumblingAggregation USER_ACTIVITY = FeatureDefinitions.USER_ACTIVITY_5MIN;

  /** {@code ctr_5min} as it was declared by hand before CTR had a definition. */
  private static final FeatureTable HAND_WRITTEN_CTR_5MIN =
      FeatureTable.builder("ctr_5min", "user_id")
          .time("window_start")
          .time("window_end")
          .longFeature("impressions")
          .longFeature("clicks")
          .nullableDoubleFeature("ctr")
          .time("updated_at")
          .replaceWhen(ReplaceRule.newerBy("window_start").thenMoreOf("impressions", "clicks"))
          .build();

  @Test
  void ctrDerivesTheTableItWasWrittenToBefore() {
    assertThat(describe(CTR.table()), is(describe(HAND_WRITTEN_CTR_5MIN)));
    assertThat(CTR.table().replaceRule(), is(ReplaceRule.newerBy("window_start").thenMoreOf("impressions", "clicks")));
  }

  @Test
  void ctrDeclaresItsWindowAndWhichEventsItCounts() {
    assertThat(CTR.name(), is("ctr_5min"));
    assertThat(CTR.entityField(), is("user_id"));
    assertThat(CTR.windowMillis(), is(300_000L));
    assertThat(CTR.aggregation("impressions").filter().toString(), is("event_type = impression"));
    assertThat(CTR.aggregation("clicks").filter().toString(), is("event_type = click"));
    assertThat(CTR.ratios().size(), is(1));
    TumblingAggregation.Ratio ctr = CTR.ratios().get(0);
    assertThat(List.of(ctr.name(), ctr.numerator(), ctr.denominator()), contains("ctr", "clicks", "impressions"));
    assertThat(
        FeatureDefinitions.tumbling(),
        contains(CTR, FeatureDefinitions.CTR_BY_SEGMENT_5MIN, FeatureDefinitions.CTR_BY_CATEGORY_5MIN, USER_ACTIVITY));
  }

  @Test
  void theDefinitionReadsAsTheFluentCallThatMadeIt() {
    assertThat(CTR.toString(),
        is("ctr_5min: events.groupBy(user_id).window(5_min)"
            + ".agg[count().where(event_type = impression) as impressions, count().where(event_type = click) as clicks]"
            + ".ratio(ctr = clicks / impressions)"));
  }

  @Test
  void anotherDefinitionDerivesItsOwnTable() {
    TumblingAggregation purchases =
        TumblingAggregation.named("purchases_1h")
            .groupBy("session_id")
            .window(minutes(60))
            .agg(count().as("events"), count().where("event_type", "view").as("views"),
                count().where("event_type", "purchase").as("purchases"))
            .ratio("conversion", "purchases", "views")
            .ratio("purchase_share", "purchases", "events")
            .build();

    assertThat(describe(purchases.table()),
        contains("purchases_1h", "session_id KEY KEY", "window_start BIGINT TIME", "window_end BIGINT TIME",
            "events BIGINT FEATURE", "views BIGINT FEATURE", "purchases BIGINT FEATURE",
            "conversion DOUBLE FEATURE nullable", "purchase_share DOUBLE FEATURE nullable", "updated_at BIGINT TIME",
            "key [session_id]", "indexes []",
            "replace when window_start >, then events + views + purchases >"));
    assertThat(purchases.windowMillis(), is(3_600_000L));
    assertThat(purchases.aggregation("events").filter(), is(nullValue()));
    assertThat(purchases.toString(),
        is("purchases_1h: events.groupBy(session_id).window(1_hour).agg[count() as events,"
            + " count().where(event_type = view) as views, count().where(event_type = purchase) as purchases]"
            + ".ratio(conversion = purchases / views).ratio(purchase_share = purchases / events)"));
  }

  @Test
  void aRatioIsNullWithoutADenominator() {
    assertThat(TumblingAggregation.Ratio.of(1, 4), is(0.25));
    assertThat(TumblingAggregation.Ratio.of(0, 5), is(0.0));
    assertThat(TumblingAggregation.Ratio.of(2, 0), is(nullValue()));
    assertThat(TumblingAggregation.Ratio.of(0, 0), is(nullValue()));
  }

  @Test
  void anIncompleteDefinitionSaysWhatIsMissing() {
    assertThat(failure(() -> TumblingAggregation.named("f").window(minutes(5)).agg(count()).build()),
        is("feature f needs groupBy(entityField)"));
    assertThat(failure(() -> TumblingAggregation.named("f").groupBy("user_id").agg(count()).build()),
        is("feature f needs a window(length)"));
    assertThat(failure(() -> TumblingAggregation.named("f").groupBy("user_id").window(minutes(5)).build()),
        is("feature f needs at least one agg(...)"));
  }

  @Test
  void aRatioMayOnlyDivideItsOwnCounts() {
    assertThat(
        failure(() -> TumblingAggregation.named("f").groupBy("user_id").window(minutes(5))
            .agg(count().where("event_type", "impression").as("impressions"),
                count().where("event_type", "click").as("clicks"))
            .ratio("ctr", "click", "impressions")
            .build()),
        is("feature f: ratio ctr = click / impressions reads click, which is none of its counts"
            + " [impressions, clicks]"));
    assertThat(
        failure(() -> TumblingAggregation.named("f").groupBy("user_id").window(minutes(5))
            .agg(count().as("clicks"))
            .ratio("clicks", "clicks", "clicks")
            .build()),
        is("feature f names two columns clicks: give each aggregation and ratio its own name"));
    assertThat(
        failure(() -> TumblingAggregation.named("f").groupBy("user_id").window(minutes(5))
            .agg(count().where("event_type", "view"), count().where("event_type", "click"))
            .build()),
        is("feature f names two columns count: give each aggregation and ratio its own name"));
  }

  @Test
  void sumAvgMinMaxAndLastAreNotTumblingAggregationsYet() {
    assertThat(
        failure(() -> TumblingAggregation.named("f").groupBy("user_id").window(minutes(5)).agg(count(), sum()).build()),
        is("feature f aggregates sum() as sum: a tumbling feature computes count(), distinctCount(field),"
            + " approxPercentile(field, percentile) and movingAverage(count, windows)"));
    IllegalArgumentException where =
        assertThrows(IllegalArgumentException.class, () -> sum().where("event_type", "purchase"));
    assertThat(where.getMessage(), is("where(event_type, purchase) applies to count() only, not to sum()"));
  }

  @Test
  void aConditionOnACountIsRejectedByARollingFeature() {
    assertThat(
        failure(() -> WindowedAggregation.named("f").groupBy("user_id").window(minutes(1))
            .agg(count().where("event_type", "click")).build()),
        is("feature f counts with a condition (count().where(event_type = click) as count): a rolling feature"
            + " filters all its events with filter(field, value)"));
  }

  @Test
  void askingForAnUnknownCountNamesTheKnownOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CTR.aggregation("views"));
    assertThat(e.getMessage(), is("feature ctr_5min has no aggregation named views: it has [impressions, clicks]"));
  }

  @Test
  void userActivityDeclaresOneColumnPerAggregationTypedByItsKind() {
    assertThat(describe(USER_ACTIVITY.table()),
        contains("user_activity_5min", "user_id KEY KEY", "window_start BIGINT TIME", "window_end BIGINT TIME",
            "events BIGINT FEATURE", "clicks BIGINT FEATURE", "distinct_items BIGINT FEATURE",
            "price_p50 DOUBLE FEATURE nullable", "price_p90 DOUBLE FEATURE nullable",
            "clicks_avg_15min DOUBLE FEATURE nullable", "updated_at BIGINT TIME",
            "key [user_id]", "indexes []",
            "replace when window_start >, then events + clicks + distinct_items >"));
    assertThat(USER_ACTIVITY.featureColumns(),
        contains("events", "clicks", "distinct_items", "price_p50", "price_p90", "clicks_avg_15min"));
    assertThat(USER_ACTIVITY.windowsRead(), is(3));
    assertThat(USER_ACTIVITY.eventFields(), contains("user_id", "event_type", "item_id", "item_price"));
    assertThat(USER_ACTIVITY.toString(),
        is("user_activity_5min: events.groupBy(user_id).window(5_min).agg[count() as events,"
            + " count().where(event_type = click) as clicks, distinctCount(item_id) as distinct_items,"
            + " approxPercentile(item_price, 50) as price_p50, approxPercentile(item_price, 90) as price_p90,"
            + " movingAverage(clicks, 3) as clicks_avg_15min]"));
  }

  @Test
  void theNewKindsSayWhatTheyReadAndNameTheirColumnsByDefault() {
    Aggregation distinct = distinctCount("item_id");
    assertThat(List.of(distinct.kind(), distinct.columnPrefix(), distinct.field(), distinct.resultType()),
        contains("distinctCount", "item_id_distinct", "item_id", Aggregation.ResultType.LONG));
    Aggregation p90 = approxPercentile("item_price", 90);
    assertThat(List.of(p90.kind(), p90.columnPrefix(), p90.field(), p90.percentile(), p90.resultType()),
        contains("approxPercentile", "item_price_p90", "item_price", 90, Aggregation.ResultType.NULLABLE_DOUBLE));
    Aggregation average = movingAverage("clicks", 3).as("clicks_avg_15min");
    assertThat(List.of(average.kind(), average.columnPrefix(), average.averagedColumn(), average.windowCount(),
            average.resultType()),
        contains("movingAverage", "clicks_avg_15min", "clicks", 3, Aggregation.ResultType.NULLABLE_DOUBLE));
    assertThat(movingAverage("clicks", 4).columnPrefix(), is("clicks_avg_4"));
    assertThat(List.of(count().fromPartial(), sum().fromPartial(), distinct.fromPartial(), p90.fromPartial(),
        average.fromPartial()), contains(true, true, false, false, false));
    UnsupportedOperationException fromPartial =
        assertThrows(UnsupportedOperationException.class, () -> p90.result(Partial.of(1L, 2.0)));
    assertThat(fromPartial.getMessage(),
        is("approxPercentile() is computed by a tumbling feature's combine, not from a Partial"));
  }

  @Test
  void aPercentileMustBeInZeroExcludedToHundred() {
    assertThat(assertThrows(IllegalArgumentException.class, () -> approxPercentile("item_price", 0)).getMessage(),
        is("approxPercentile(item_price, 0): the percentile must be in (0, 100], such as 50 for the median or 90"));
    assertThat(assertThrows(IllegalArgumentException.class, () -> approxPercentile("item_price", 101)).getMessage(),
        is("approxPercentile(item_price, 101): the percentile must be in (0, 100], such as 50 for the median or 90"));
    assertThat(approxPercentile("item_price", 100).percentile(), is(100));
    assertThat(approxPercentile("item_price", 1).percentile(), is(1));
  }

  @Test
  void aMovingAverageMustAverageOneOfItsCountsOverAtLeastTwoWindows() {
    assertThat(assertThrows(IllegalArgumentException.class, () -> movingAverage("clicks", 1)).getMessage(),
        is("movingAverage(clicks, 1): average over at least 2 windows (this one and the one before); over 1 window"
            + " it is clicks itself"));
    assertThat(
        failure(() -> activity().agg(movingAverage("click", 3).as("avg")).build()),
        is("feature f: movingAverage(click, 3) as avg averages click, which is none of its counts [events, clicks]"));
    assertThat(
        failure(() -> activity().agg(distinctCount("item_id").as("items"), movingAverage("items", 3)).build()),
        is("feature f: movingAverage(items, 3) as items_avg_3 averages items, which is distinctCount(item_id) as"
            + " items: only count() columns are averaged over windows"));
    assertThat(
        failure(() -> activity().agg(movingAverage("clicks", 2).as("a2"), movingAverage("a2", 3)).build()),
        is("feature f: movingAverage(a2, 3) as a2_avg_3 averages a2, which is movingAverage(clicks, 2) as a2: only"
            + " count() columns are averaged over windows"));
    assertThat(
        failure(() -> activity().ratio("share", "clicks", "p50").agg(approxPercentile("item_price", 50).as("p50"))
            .build()),
        is("feature f: ratio share = clicks / p50 reads p50, which is none of its counts [events, clicks]"));
  }

  @Test
  void everyColumnNeedsItsOwnNameAndAFeatureAtLeastOneCount() {
    assertThat(
        failure(() -> activity().agg(approxPercentile("item_price", 50), approxPercentile("item_price", 50)).build()),
        is("feature f names two columns item_price_p50: give each aggregation and ratio its own name"));
    assertThat(
        failure(() -> activity().agg(distinctCount("item_id").as("clicks")).build()),
        is("feature f names two columns clicks: give each aggregation and ratio its own name"));
    assertThat(
        failure(() -> TumblingAggregation.named("f").groupBy("user_id").window(minutes(5))
            .agg(distinctCount("item_id"), approxPercentile("item_price", 50)).build()),
        is("feature f needs at least one count() among [distinctCount(item_id) as item_id_distinct,"
            + " approxPercentile(item_price, 50) as item_price_p50]: its table orders the panes of a window by the"
            + " sum of its counts"));
  }

  @Test
  void aWindowedFeatureRejectsTheTumblingKinds() {
    assertThat(
        failure(() -> WindowedAggregation.named("f").groupBy("user_id").window(minutes(1))
            .agg(count(), distinctCount("item_id")).build()),
        is("feature f aggregates distinctCount(item_id) as item_id_distinct: a rolling feature computes count, sum,"
            + " avg, min, max and last; distinctCount() is for tumbling features (TumblingAggregation)"));
    IllegalArgumentException where =
        assertThrows(IllegalArgumentException.class, () -> distinctCount("item_id").where("event_type", "click"));
    assertThat(where.getMessage(), is("where(event_type, click) applies to count() only, not to distinctCount()"));
  }

  @Test
  void aTableRowHoldsTheValuesInColumnOrderBetweenTheWindowAndUpdatedAt() {
    Object[] row = USER_ACTIVITY.tableRow(
        "alice", 300_000L, 600_000L, Arrays.asList(4L, 1L, 3L, 2.5, null, 1.0 / 3), 999L);
    assertThat(Arrays.asList(row),
        contains("alice", 300_000L, 600_000L, 4L, 1L, 3L, 2.5, null, 1.0 / 3, 999L));
    assertThat(row.length, is(USER_ACTIVITY.table().columns().size()));
    assertThat(Arrays.asList(CTR.tableRow("bob", 0L, 300_000L, Arrays.asList(2L, 0L, 0.0), 5L)),
        contains("bob", 0L, 300_000L, 2L, 0L, 0.0, 5L));

    IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
        () -> CTR.tableRow("bob", 0L, 300_000L, List.of(2L, 0L), 5L));
    assertThat(size.getMessage(), is("feature ctr_5min has 3 columns [impressions, clicks, ctr], got 2 values [2, 0]"));
    IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
        () -> USER_ACTIVITY.tableRow("alice", 0L, 300_000L, Arrays.asList(4L, 1L, 3.0, 2.5, null, 1.0), 5L));
    assertThat(type.getMessage(),
        is("feature user_activity_5min: column distinct_items holds a Long, got Double 3.0"));
    IllegalArgumentException nullCount = assertThrows(IllegalArgumentException.class,
        () -> CTR.tableRow("bob", 0L, 300_000L, Arrays.asList(null, 0L, null), 5L));
    assertThat(nullCount.getMessage(), is("feature ctr_5min: column impressions holds a Long, got null"));
  }

  /** A definition with two counts, {@code events} and {@code clicks}, to add aggregations to. */
  private static TumblingAggregation.Builder activity() {
    return TumblingAggregation.named("f").groupBy("user_id").window(minutes(5))
        .agg(count().as("events"), count().where("event_type", "click").as("clicks"));
  }

  private static String failure(Executable build) {
    return assertThrows(IllegalStateException.class, build).getMessage();
  }
}
