package dev.clickstream.transforms;

import static dev.clickstream.features.Aggregation.approxPercentile;
import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.distinctCount;
import static dev.clickstream.features.Aggregation.movingAverage;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.transforms.TumblingFeaturesCombineFn.Accumulator;
import dev.clickstream.transforms.TumblingFeaturesCombineFn.EventFields;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.CombineFnTester;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.util.CoderUtils;
import org.junit.jupiter.api.Test;

/**
 * The combine of {@link TumblingFeatures} without a pipeline: which percentile it returns, that any split and merge
 * order gives the same values, and that its coders keep everything.
 */
class TumblingFeaturesCombineFnTest {
  /** p50 and p90 of one field, p100 of another: two sketches. */
  private static final TumblingAggregation PRICES =
      TumblingAggregation.named("prices")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().as("events"),
              approxPercentile("price", 50).as("p50"),
              approxPercentile("price", 90).as("p90"),
              approxPercentile("discount", 100).as("max_discount"))
          .build();

  /** Every kind, with moving averages over three windows. */
  private static final TumblingAggregation EVERY_KIND =
      TumblingAggregation.named("every_kind")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().as("events"),
              count().where("event_type", "click").as("clicks"),
              distinctCount("item_id").as("items"),
              approxPercentile("price", 50).as("p50"),
              movingAverage("clicks", 3).as("clicks_avg_3"))
          .ratio("click_share", "clicks", "events")
          .build();

  @Test
  void aPercentileIsTheNearestRankOneWhileTheSketchHoldsEveryValue() {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(percentile());
    Random random = new Random(7);
    for (int n : List.of(1, 2, 3, 4, 5, 7, 10, 11, 99, 100, 101, 199, 1_000, 1_907, 40_046)) {
      // The values 1 to n, shuffled: the value at rank r is r.
      List<Double> values = oneToShuffled(n, random);
      Accumulator accumulator = fn.createAccumulator();
      for (double value : values) {
        accumulator = fn.addInput(accumulator, new EventFields(0, 1L, new String[0], new Double[] {value}));
      }
      List<Object> all = allPercentiles(fn, accumulator);
      for (int p = 1; p <= 100; p++) {
        double nearestRank = Math.ceil(p * n / 100.0);
        assertThat("p" + p + " of " + n + " values", all.get(p - 1), equalTo(nearestRank));
      }
    }
  }

  @Test
  void beyondWhatTheSketchHoldsAPercentileIsWithinOnePercentOfTheRank() {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(percentile());
    int n = 200_000;
    List<Double> values = oneToShuffled(n, new Random(11));
    Accumulator accumulator = fn.createAccumulator();
    for (double value : values) {
      accumulator = fn.addInput(accumulator, new EventFields(0, 1L, new String[0], new Double[] {value}));
    }
    List<Object> all = allPercentiles(fn, accumulator);
    for (int p = 1; p <= 100; p++) {
      double error = Math.abs((Double) all.get(p - 1) - Math.ceil(p * n / 100.0));
      assertThat("p" + p, error, lessThanOrEqualTo(n / 101.0));
    }
  }

  @Test
  void percentilesOfTwoFieldsAndNoValueAtAll() {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(PRICES);
    // CombineFnTester shuffles its input: the lists must be mutable.
    List<EventFields> events = new ArrayList<>(List.of(
        numbers(5.0, null), numbers(1.0, 0.5), numbers(3.0, null), numbers(2.0, 0.25), numbers(4.0, null)));
    CombineFnTester.testCombineFn(fn, events, Arrays.<Object>asList(5L, 3.0, 5.0, 0.5));
    CombineFnTester.testCombineFn(
        fn, new ArrayList<>(List.of(numbers(null, null), numbers(null, null))),
        Arrays.<Object>asList(2L, null, null, null));
  }

  @Test
  void everySplitAndMergeOrderGivesTheSameValues() {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(EVERY_KIND);
    List<EventFields> events = new ArrayList<>();
    // Latest window: 3 clicks and 2 views over items a, b, c; prices 10 to 50.
    events.add(fields(0, "click", "a", 10.0));
    events.add(fields(0, "click", "b", 50.0));
    events.add(fields(0, "view", "a", 30.0));
    events.add(fields(0, "click", "c", 20.0));
    events.add(fields(0, "view", null, 40.0));
    // One window before: 2 clicks; two windows before: 1 click and a view. Only the moving average reads them.
    events.add(fields(1, "click", "z", 99.0));
    events.add(fields(1, "click", "y", 98.0));
    events.add(fields(2, "click", "x", 97.0));
    events.add(fields(2, "view", "w", 96.0));

    // events, clicks, items, p50, clicks_avg_3, click_share
    CombineFnTester.testCombineFn(fn, events, Arrays.<Object>asList(5L, 3L, 3L, 30.0, (3 + 2 + 1) / 3.0, 0.6));
  }

  @Test
  void aWindowWhoseLatestPartHasNoEventHasNoRow() {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(EVERY_KIND);
    CombineFnTester.testCombineFn(
        fn, new ArrayList<>(List.of(fields(1, "click", "a", 1.0), fields(2, "click", "b", 2.0))),
        TumblingFeaturesCombineFn.NO_ROW);
    CombineFnTester.testCombineFn(fn, new ArrayList<>(), TumblingFeaturesCombineFn.NO_ROW);
  }

  @Test
  void readsWhatTheAggregationsNeedAndNothingElse() {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(FeatureDefinitions.CTR_5MIN);
    Map<String, Object> click = Map.of("user_id", "u1", "event_type", "click", "item_id", "a");
    Map<String, Object> view = Map.of("user_id", "u1", "event_type", "view");

    // CTR counts impressions (count 0) and clicks (count 1).
    assertThat(fn.read(click::get), equalTo(new EventFields(0, 0b10L, new String[0], new Double[0])));
    assertThat(fn.read(view::get), equalTo(null));

    TumblingFeaturesCombineFn every = new TumblingFeaturesCombineFn(EVERY_KIND);
    Map<String, Object> priced = Map.of("event_type", "view", "item_id", "a", "price", 7);
    assertThat(every.read(priced::get), equalTo(new EventFields(0, 0b01L, new String[] {"a"}, new Double[] {7.0})));
  }

  @Test
  void aValueThatIsNotFiniteIsReadAsMissingSoEveryRowFitsItsTable() {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(PRICES);
    Map<String, Object> nan = Map.of("price", Double.NaN, "discount", Double.POSITIVE_INFINITY);
    Map<String, Object> infinite = Map.of("price", Double.NEGATIVE_INFINITY, "discount", 0.5);

    // Counted as an event (the count has no condition), with no price and no discount.
    assertThat(fn.read(nan::get), equalTo(new EventFields(0, 0b1L, new String[0], new Double[] {null, null})));
    assertThat(fn.read(infinite::get), equalTo(new EventFields(0, 0b1L, new String[0], new Double[] {null, 0.5})));
    Accumulator accumulator = fn.createAccumulator();
    for (Map<String, Object> event : List.of(nan, infinite, Map.<String, Object>of("price", 4.0))) {
      accumulator = fn.addInput(accumulator, fn.read(event::get));
    }
    // events, p50, p90, max_discount: the only finite price is 4.0.
    assertThat(fn.extractOutput(accumulator), equalTo(Arrays.<Object>asList(3L, 4.0, 4.0, 0.5)));
  }

  @Test
  void theAccumulatorSurvivesItsCoder() throws Exception {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(EVERY_KIND);
    Coder<Accumulator> coder = fn.getAccumulatorCoder(CoderRegistry.createDefault(), null);
    Accumulator first = fn.createAccumulator();
    for (EventFields event : List.of(
        fields(0, "click", "a", 10.0), fields(0, "view", "b", 30.0), fields(2, "click", "x", 1.0))) {
      first = fn.addInput(first, event);
    }
    Accumulator second = fn.addInput(fn.createAccumulator(), fields(0, "click", "c", 20.0));
    // An accumulator that has seen no price yet has no sketch.
    Accumulator older = fn.addInput(fn.createAccumulator(), fields(1, "click", null, null));

    Accumulator merged = fn.mergeAccumulators(List.of(
        CoderUtils.clone(coder, first), CoderUtils.clone(coder, second), CoderUtils.clone(coder, older)));

    // events, clicks, items, p50, clicks_avg_3, click_share
    assertThat(fn.extractOutput(merged), equalTo(Arrays.<Object>asList(3L, 2L, 3L, 20.0, 4.0 / 3, 2.0 / 3)));
  }

  /**
   * Beam's sketch coder gives a decoded sketch the number of buffers it held as the most it may hold (2.62), so a
   * sketch decoded with none failed at its first full buffer: what a checkpointed job's state went through.
   */
  @Test
  void aDecodedAccumulatorKeepsTakingValuesAsTheOriginalWould() throws Exception {
    TumblingFeaturesCombineFn fn = new TumblingFeaturesCombineFn(percentile());
    Coder<Accumulator> coder = fn.getAccumulatorCoder(CoderRegistry.createDefault(), null);
    int n = 200_000;
    List<Double> values = oneToShuffled(n, new Random(13));
    Accumulator original = fn.createAccumulator();
    Accumulator decoded = fn.createAccumulator();
    for (int i = 0; i < n; i++) {
      EventFields event = new EventFields(0, 1L, new String[0], new Double[] {values.get(i)});
      original = fn.addInput(original, event);
      decoded = fn.addInput(decoded, event);
      // Through the coder with no full buffer yet, with one, and with several.
      if (i == 10 || i == 60_000 || i == 150_000) {
        decoded = CoderUtils.clone(coder, decoded);
      }
    }

    assertThat(allPercentiles(fn, decoded), equalTo(allPercentiles(fn, original)));
  }

  @Test
  void rowsAndEventFieldsSurviveTheirCoders() throws Exception {
    CoderProperties.coderDecodeEncodeEqual(
        TumblingFeatures.Row.Coder.of(),
        new TumblingFeatures.Row(
            "alice", 1_709_294_400_000L, 1_709_294_700_000L, Arrays.asList(6L, 0L, null, 2.5, -1.0 / 3),
            PaneInfo.Timing.LATE, 3));
    CoderProperties.coderDecodeEncodeEqual(
        TumblingFeatures.Row.Coder.of(),
        new TumblingFeatures.Row("", 0L, 300_000L, List.of(), PaneInfo.Timing.UNKNOWN, 0));
    CoderProperties.coderDeterministic(
        TumblingFeaturesCombineFn.ValuesCoder.of(), Arrays.asList(1L, null, 2.0), Arrays.asList(1L, null, 2.0));
    CoderProperties.coderDecodeEncodeEqual(
        TumblingFeaturesCombineFn.EventFieldsCoder.of(),
        new EventFields(2, Long.MIN_VALUE | 1L, new String[] {"a", null, "ü"}, new Double[] {null, 1.5}));
  }

  /** A feature with every percentile of one field, so a test can read them all. */
  private static TumblingAggregation percentile() {
    TumblingAggregation.Builder builder =
        TumblingAggregation.named("percentiles").groupBy("user_id").window(minutes(5));
    for (int p = 1; p <= 100; p++) {
      builder.agg(approxPercentile("price", p));
    }
    return builder.agg(count().as("events")).build();
  }

  /** p1 to p100, from a {@link #percentile()} accumulator. */
  /** The values 1 to {@code n} in the order {@code random} shuffles them into. */
  private static List<Double> oneToShuffled(int n, Random random) {
    List<Double> values = new ArrayList<>();
    for (int v = 1; v <= n; v++) {
      values.add((double) v);
    }
    Collections.shuffle(values, random);
    return values;
  }

  private static List<Object> allPercentiles(TumblingFeaturesCombineFn fn, Accumulator accumulator) {
    return fn.extractOutput(accumulator).subList(0, 100);
  }

  private static EventFields numbers(Double price, Double discount) {
    return new EventFields(0, 1L, new String[0], new Double[] {price, discount});
  }

  /** An {@link #EVERY_KIND} event of {@code type} in window part {@code part}. */
  private static EventFields fields(int part, String type, String item, Double price) {
    long clicks = type.equals("click") ? 0b10L : 0L;
    return new EventFields(part, 0b01L | clicks, new String[] {item}, new Double[] {price});
  }
}
