package dev.clickstream.features;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.sum;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.sameInstance;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.store.FeatureTable;
import dev.clickstream.store.FeatureTables;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class TumblingAggregationTest {
  private static final TumblingAggregation CTR = FeatureDefinitions.CTR_5MIN;

  /** {@code ctr_5min} as it was declared by hand before CTR had a definition. */
  private static final FeatureTable HAND_WRITTEN_CTR_5MIN =
      FeatureTable.builder("ctr_5min", "user_id")
          .time("window_start")
          .time("window_end")
          .longFeature("impressions")
          .longFeature("clicks")
          .nullableDoubleFeature("ctr")
          .time("updated_at")
          .replaceWhen(
              "NEW.window_start > OLD.window_start OR (NEW.window_start = OLD.window_start"
                  + " AND NEW.impressions + NEW.clicks > OLD.impressions + OLD.clicks)")
          .build();

  @Test
  void ctrDerivesTheTableItWasWrittenToBefore() {
    assertThat(describe(CTR.table()), is(describe(HAND_WRITTEN_CTR_5MIN)));
    assertThat(CTR.table().replaceCondition(),
        is("NEW.window_start > OLD.window_start OR (NEW.window_start = OLD.window_start"
            + " AND NEW.impressions + NEW.clicks > OLD.impressions + OLD.clicks)"));
    assertThat(FeatureTables.CTR_5MIN, is(sameInstance(CTR.table())));
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
    assertThat(FeatureDefinitions.tumbling(), contains(CTR));
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
            "replace when NEW.window_start > OLD.window_start OR (NEW.window_start = OLD.window_start"
                + " AND NEW.events + NEW.views + NEW.purchases > OLD.events + OLD.views + OLD.purchases)"));
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
        is("feature f names two columns clicks: give each count and ratio its own name"));
    assertThat(
        failure(() -> TumblingAggregation.named("f").groupBy("user_id").window(minutes(5))
            .agg(count().where("event_type", "view"), count().where("event_type", "click"))
            .build()),
        is("feature f names two columns count: give each count and ratio its own name"));
  }

  @Test
  void onlyCountsAreSupportedSoFar() {
    assertThat(
        failure(() -> TumblingAggregation.named("f").groupBy("user_id").window(minutes(5)).agg(count(), sum()).build()),
        is("feature f aggregates sum() as sum: a tumbling feature only counts so far"));
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
    assertThat(e.getMessage(), is("feature ctr_5min has no count named views: it has [impressions, clicks]"));
  }

  private static String failure(Executable build) {
    return assertThrows(IllegalStateException.class, build).getMessage();
  }

  /** Everything that decides a table's SQL: name, columns in order with type, role and nullability, keys, rule. */
  private static List<String> describe(FeatureTable table) {
    List<String> description =
        table.columns().stream()
            .map(c -> c.name() + " " + c.type() + " " + c.role() + (c.nullable() ? " nullable" : ""))
            .collect(Collectors.toList());
    description.add(0, table.name());
    description.add("key " + table.keyColumns().stream().map(FeatureTable.Column::name).collect(Collectors.toList()));
    description.add("indexes " + table.indexes());
    description.add("replace when " + table.replaceCondition());
    return description;
  }
}
