package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.Schema.FieldType;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The interval join as click attribution: the latest impression of the same user and item at most 30 minutes before
 * each click, both ends included; out-of-order and late input; state cleared after the gap; both merge modes; and
 * the settings' checks.
 *
 * <p>Impressions and clicks come from one {@link TestStream} of envelopes, split into the two inputs, so their
 * arrival order is the order written here: the Direct runner finishes each step of the stream before the next.
 */
@ExtendWith(TestPipelineExtension.class)
class IntervalJoinTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long BASE = 1_709_294_400_000L;

  private static final long MINUTE = 60_000L;
  private static final Duration TEN_MINUTES = Duration.standardMinutes(10);
  private static final Duration THIRTY_MINUTES = Duration.standardMinutes(30);

  private static final Schema IMPRESSION =
      Schema.builder()
          .addStringField("user_id")
          .addStringField("item_id")
          .addStringField("id")
          .addInt64Field("ts")
          .addInt32Field("position")
          .build();
  private static final Schema CLICK =
      Schema.builder()
          .addStringField("user_id")
          .addStringField("item_id")
          .addStringField("id")
          .addInt64Field("ts")
          .addStringField("device")
          .build();
  /** One impression or one click, so that a single stream orders both. */
  private static final Schema ENVELOPE =
      Schema.builder()
          .addNullableField("impression", FieldType.row(IMPRESSION))
          .addNullableField("click", FieldType.row(CLICK))
          .build();

  /** Every field of both sides, under their prefixes, impression first. */
  private static final Schema ATTRIBUTED =
      Schema.builder()
          .addStringField("impression_user_id")
          .addStringField("impression_item_id")
          .addStringField("impression_id")
          .addInt64Field("impression_ts")
          .addInt32Field("impression_position")
          .addStringField("click_user_id")
          .addStringField("click_item_id")
          .addStringField("click_id")
          .addInt64Field("click_ts")
          .addStringField("click_device")
          .build();
  /** The impression's fields, then the click's own; either side's priority gives this layout. */
  private static final Schema MERGED =
      Schema.builder()
          .addStringField("user_id")
          .addStringField("item_id")
          .addStringField("id")
          .addInt64Field("ts")
          .addInt32Field("position")
          .addStringField("device")
          .build();

  private static IntervalJoin attribution() {
    return IntervalJoin.latestLeftPerRight()
        .withKeyFields("user_id", "item_id")
        .withBounds(Duration.ZERO, THIRTY_MINUTES)
        .withPrefixes("impression_", "click_");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // In order

  @Test
  void aClickIsAttributedToTheLatestImpressionOfItsUserAndItemBeforeIt(TestPipeline pipeline) {
    Row beforeTheGap = impression("a0", "u1", "item1", BASE + 10 * MINUTE - 1, 0);
    Row older = impression("a1", "u1", "item1", BASE + 15 * MINUTE, 1);
    Row latest = impression("a2", "u1", "item1", BASE + 25 * MINUTE, 2);
    Row otherItem = impression("b1", "u1", "item2", BASE + 39 * MINUTE, 3);
    Row otherUser = impression("b2", "u2", "item1", BASE + 39 * MINUTE, 4);
    Row afterTheClick = impression("a3", "u1", "item1", BASE + 41 * MINUTE, 5);
    Row click = click("c1", "u1", "item1", BASE + 40 * MINUTE, "ios");
    TestStream<Row> events =
        TestStream.create(RowCoder.of(ENVELOPE))
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(shown(beforeTheGap), shown(older), shown(latest))
            .advanceWatermarkTo(new Instant(BASE + 39 * MINUTE))
            .addElements(shown(otherItem), shown(otherUser))
            .advanceWatermarkTo(new Instant(BASE + 40 * MINUTE))
            .addElements(clicked(click))
            .advanceWatermarkTo(new Instant(BASE + 41 * MINUTE))
            .addElements(shown(afterTheClick))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = bySide(pipeline.apply(events)).apply(attribution());

    PAssert.that(output.get(IntervalJoin.MATCHED)).containsInAnyOrder(attributed(latest, click));
    PAssert.that(output.get(IntervalJoin.MATCHED).apply("ReadTimestamps", ParDo.of(new TimestampOf())))
        .containsInAnyOrder(BASE + 40 * MINUTE);
    PAssert.that(output.get(IntervalJoin.UNMATCHED)).empty();
    PAssert.that(output.get(IntervalJoin.LATE_LEFT)).empty();
    PAssert.that(output.get(IntervalJoin.LATE_RIGHT)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, IntervalJoin.LEFT_ELEMENTS_IN), equalTo(6L));
    assertThat(counter(result, IntervalJoin.RIGHT_ELEMENTS_IN), equalTo(1L));
    assertThat(counter(result, IntervalJoin.MATCHED_ELEMENTS), equalTo(1L));
    assertThat(counter(result, IntervalJoin.UNMATCHED_ELEMENTS), equalTo(0L));
    assertThat(counter(result, IntervalJoin.LEFTS_EXPIRED), equalTo(6L));
  }

  @Test
  void bothEndsOfTheGapAreIncluded(TestPipeline pipeline) {
    Row exactlyThirtyMinutesBefore = impression("a1", "u1", "item1", BASE + 10 * MINUTE, 1);
    Row clickThirtyMinutesAfter = click("c1", "u1", "item1", BASE + 40 * MINUTE, "ios");
    Row oneMillisecondTooEarly = impression("a2", "u2", "item1", BASE + 10 * MINUTE - 1, 2);
    Row clickJustOutOfReach = click("c2", "u2", "item1", BASE + 40 * MINUTE, "web");
    Row atTheClicksTime = impression("a3", "u3", "item1", BASE + 40 * MINUTE, 3);
    Row clickAtTheSameTime = click("c3", "u3", "item1", BASE + 40 * MINUTE, "android");
    TestStream<Row> events =
        TestStream.create(RowCoder.of(ENVELOPE))
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(shown(exactlyThirtyMinutesBefore), shown(oneMillisecondTooEarly), shown(atTheClicksTime))
            .addElements(clicked(clickThirtyMinutesAfter), clicked(clickJustOutOfReach), clicked(clickAtTheSameTime))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = bySide(pipeline.apply(events)).apply(attribution());

    PAssert.that(output.get(IntervalJoin.MATCHED))
        .containsInAnyOrder(
            attributed(exactlyThirtyMinutesBefore, clickThirtyMinutesAfter),
            attributed(atTheClicksTime, clickAtTheSameTime));
    PAssert.that(output.get(IntervalJoin.UNMATCHED)).containsInAnyOrder(clickJustOutOfReach);
    PAssert.that(output.get(IntervalJoin.LATE_LEFT)).empty();
    PAssert.that(output.get(IntervalJoin.LATE_RIGHT)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, IntervalJoin.MATCHED_ELEMENTS), equalTo(2L));
    assertThat(counter(result, IntervalJoin.UNMATCHED_ELEMENTS), equalTo(1L));
  }

  @Test
  void aClickWithoutAnImpressionInRangeIsUnmatchedAndCounted(TestPipeline pipeline) {
    Row otherItem = impression("a1", "u1", "item2", BASE + 30 * MINUTE, 1);
    Row click = click("c1", "u1", "item1", BASE + 40 * MINUTE, "ios");
    TestStream<Row> events =
        TestStream.create(RowCoder.of(ENVELOPE))
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(shown(otherItem))
            .addElements(clicked(click))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = bySide(pipeline.apply(events)).apply(attribution());

    PAssert.that(output.get(IntervalJoin.MATCHED)).empty();
    PAssert.that(output.get(IntervalJoin.UNMATCHED)).containsInAnyOrder(click);
    PAssert.that(output.get(IntervalJoin.LATE_LEFT)).empty();
    PAssert.that(output.get(IntervalJoin.LATE_RIGHT)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, IntervalJoin.LEFT_ELEMENTS_IN), equalTo(1L));
    assertThat(counter(result, IntervalJoin.RIGHT_ELEMENTS_IN), equalTo(1L));
    assertThat(counter(result, IntervalJoin.MATCHED_ELEMENTS), equalTo(0L));
    assertThat(counter(result, IntervalJoin.UNMATCHED_ELEMENTS), equalTo(1L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Out of order, late but allowed

  @Test
  void aClickThatArrivesBeforeItsImpressionIsStillAttributed(TestPipeline pipeline) {
    Row click = click("c1", "u1", "item1", BASE + 40 * MINUTE, "ios");
    Row impression = impression("a1", "u1", "item1", BASE + 38 * MINUTE, 1);
    TestStream<Row> events =
        TestStream.create(RowCoder.of(ENVELOPE))
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(clicked(click))
            // The watermark moves on, but not past the impression's time: it is still on time.
            .advanceWatermarkTo(new Instant(BASE + 35 * MINUTE))
            .addElements(shown(impression))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = bySide(pipeline.apply(events)).apply(attribution());

    PAssert.that(output.get(IntervalJoin.MATCHED)).containsInAnyOrder(attributed(impression, click));
    PAssert.that(output.get(IntervalJoin.UNMATCHED)).empty();
    PAssert.that(output.get(IntervalJoin.LATE_LEFT)).empty();
    PAssert.that(output.get(IntervalJoin.LATE_RIGHT)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, IntervalJoin.MATCHED_ELEMENTS), equalTo(1L));
  }

  @Test
  void anImpressionExactlyTheAllowedLatenessBehindTheWatermarkIsStillAttributed(TestPipeline pipeline) {
    // Expires when the watermark passes +40 min and 1 ms, which tells the key where the watermark is.
    Row expired = impression("a0", "u1", "item1", BASE, 0);
    Row click = click("c1", "u1", "item1", BASE + 40 * MINUTE, "ios");
    Row lateImpression = impression("a1", "u1", "item1", BASE + 35 * MINUTE, 1);
    TestStream<Row> events =
        TestStream.create(RowCoder.of(ENVELOPE))
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(shown(expired))
            .addElements(clicked(click))
            .advanceWatermarkTo(new Instant(BASE + 45 * MINUTE))
            .addElements(shown(lateImpression))
            .advanceWatermarkToInfinity();

    PCollectionTuple output =
        bySide(pipeline.apply(events)).apply(attribution().withAllowedLateness(TEN_MINUTES));

    PAssert.that(output.get(IntervalJoin.MATCHED)).containsInAnyOrder(attributed(lateImpression, click));
    PAssert.that(output.get(IntervalJoin.UNMATCHED)).empty();
    PAssert.that(output.get(IntervalJoin.LATE_LEFT)).empty();
    PAssert.that(output.get(IntervalJoin.LATE_RIGHT)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, IntervalJoin.MATCHED_ELEMENTS), equalTo(1L));
    assertThat(counter(result, IntervalJoin.LATE_LEFT_ELEMENTS), equalTo(0L));
    assertThat(counter(result, IntervalJoin.LEFTS_EXPIRED), equalTo(2L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Too late, and state cleared after the gap

  @Test
  void impressionsAreClearedOnceTheWatermarkPassesTheGapAndLaterClicksNeverSeeThem(TestPipeline pipeline) {
    Row cleared = impression("a1", "u1", "item1", BASE, 1);
    Row next = impression("a2", "u1", "item1", BASE + 40 * MINUTE, 2);
    // 20 minutes after a1, so in its gap, but it arrives after the watermark passed a1's gap: too late.
    Row tooLate = click("c0", "u1", "item1", BASE + 20 * MINUTE, "ios");
    // On time, 31 minutes after a1: one minute out of its gap.
    Row outOfReach = click("c1", "u1", "item1", BASE + 31 * MINUTE, "ios");
    Row attributedToNext = click("c2", "u1", "item1", BASE + 45 * MINUTE, "ios");
    TestStream<Row> events =
        TestStream.create(RowCoder.of(ENVELOPE))
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(shown(cleared))
            .advanceWatermarkTo(new Instant(BASE + 31 * MINUTE))
            .addElements(shown(next))
            .addElements(clicked(tooLate), clicked(outOfReach))
            .advanceWatermarkTo(new Instant(BASE + 45 * MINUTE))
            .addElements(clicked(attributedToNext))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = bySide(pipeline.apply(events)).apply(attribution());

    PAssert.that(output.get(IntervalJoin.MATCHED)).containsInAnyOrder(attributed(next, attributedToNext));
    PAssert.that(output.get(IntervalJoin.UNMATCHED)).containsInAnyOrder(outOfReach);
    PAssert.that(output.get(IntervalJoin.LATE_RIGHT)).containsInAnyOrder(tooLate);
    PAssert.that(output.get(IntervalJoin.LATE_LEFT)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    // a2 arrived to a key holding one impression, itself: a1 was already gone.
    DistributionResult leftsHeld = distribution(result, IntervalJoin.LEFTS_HELD);
    assertThat(leftsHeld.getCount(), equalTo(2L));
    assertThat(leftsHeld.getMax(), equalTo(1L));
    assertThat(counter(result, IntervalJoin.LEFTS_EXPIRED), equalTo(2L));
    assertThat(counter(result, IntervalJoin.RIGHT_ELEMENTS_IN), equalTo(3L));
    assertThat(counter(result, IntervalJoin.MATCHED_ELEMENTS), equalTo(1L));
    assertThat(counter(result, IntervalJoin.UNMATCHED_ELEMENTS), equalTo(1L));
    assertThat(counter(result, IntervalJoin.LATE_RIGHT_ELEMENTS), equalTo(1L));
  }

  @Test
  void anImpressionThatArrivesAfterItsClickWasOutputIsLate(TestPipeline pipeline) {
    Row click = click("c1", "u1", "item1", BASE + 40 * MINUTE, "ios");
    Row tooLate = impression("a1", "u1", "item1", BASE + 35 * MINUTE, 1);
    TestStream<Row> events =
        TestStream.create(RowCoder.of(ENVELOPE))
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(clicked(click))
            // Past the click: with no allowed lateness it is output, unmatched.
            .advanceWatermarkTo(new Instant(BASE + 41 * MINUTE))
            .addElements(shown(tooLate))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = bySide(pipeline.apply(events)).apply(attribution());

    PAssert.that(output.get(IntervalJoin.MATCHED)).empty();
    PAssert.that(output.get(IntervalJoin.UNMATCHED)).containsInAnyOrder(click);
    PAssert.that(output.get(IntervalJoin.LATE_LEFT)).containsInAnyOrder(tooLate);
    PAssert.that(output.get(IntervalJoin.LATE_RIGHT)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, IntervalJoin.LEFT_ELEMENTS_IN), equalTo(1L));
    assertThat(counter(result, IntervalJoin.LATE_LEFT_ELEMENTS), equalTo(1L));
    assertThat(counter(result, IntervalJoin.UNMATCHED_ELEMENTS), equalTo(1L));
    assertThat(counter(result, IntervalJoin.LEFTS_EXPIRED), equalTo(0L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Merged rows

  @Test
  void prefixesRenameEveryFieldOfBothSides() {
    PCollectionTuple output = builtOnly(attribution());

    assertThat(output.get(IntervalJoin.MATCHED).getSchema(), equalTo(ATTRIBUTED));
    assertThat(output.get(IntervalJoin.UNMATCHED).getSchema(), equalTo(CLICK));
    assertThat(output.get(IntervalJoin.LATE_LEFT).getSchema(), equalTo(IMPRESSION));
    assertThat(output.get(IntervalJoin.LATE_RIGHT).getSchema(), equalTo(CLICK));
    assertThat(output.get(IntervalJoin.MATCHED).getWindowingStrategy().getWindowFn(), equalTo(new GlobalWindows()));
  }

  @Test
  void thePrioritySideWinsEveryFieldBothSidesHave(TestPipeline pipeline) {
    Row impression = impression("a1", "u1", "item1", BASE + 30 * MINUTE, 7);
    Row click = click("c1", "u1", "item1", BASE + 40 * MINUTE, "ios");
    TestStream<Row> events =
        TestStream.create(RowCoder.of(ENVELOPE))
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(shown(impression), clicked(click))
            .advanceWatermarkToInfinity();

    PCollectionTuple sides = bySide(pipeline.apply(events));
    PCollectionTuple clickWins = sides.apply("ClickWins", attribution().withPriority(IntervalJoin.Side.RIGHT));
    PCollectionTuple impressionWins =
        sides.apply("ImpressionWins", attribution().withPriority(IntervalJoin.Side.LEFT));

    PAssert.that(clickWins.get(IntervalJoin.MATCHED))
        .containsInAnyOrder(merged("u1", "item1", "c1", BASE + 40 * MINUTE, 7, "ios"));
    PAssert.that(impressionWins.get(IntervalJoin.MATCHED))
        .containsInAnyOrder(merged("u1", "item1", "a1", BASE + 30 * MINUTE, 7, "ios"));
    for (PCollectionTuple output : List.of(clickWins, impressionWins)) {
      PAssert.that(output.get(IntervalJoin.UNMATCHED)).empty();
      PAssert.that(output.get(IntervalJoin.LATE_LEFT)).empty();
      PAssert.that(output.get(IntervalJoin.LATE_RIGHT)).empty();
    }
    pipeline.run().waitUntilFinish();

    assertThat(clickWins.get(IntervalJoin.MATCHED).getSchema(), equalTo(MERGED));
    assertThat(impressionWins.get(IntervalJoin.MATCHED).getSchema(), equalTo(MERGED));
  }

  @Test
  void prefixesThatMakeTwoFieldsOneNameFailClearly() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> builtOnly(attribution().withPrefixes("", "")));

    assertThat(
        e.getMessage(),
        equalTo(
            "merged field 'user_id' would come from both the left field 'user_id' and the right field 'user_id'; "
                + "choose prefixes that keep left and right field names apart, got leftPrefix='', rightPrefix=''"));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Settings

  @Test
  void aKeyFieldMissingFromEitherInputFailsClearly() {
    IllegalArgumentException missingOnTheLeft =
        assertThrows(
            IllegalArgumentException.class,
            () -> builtOnly(attribution().withKeyFields("user_id", "session_id")));
    assertThat(
        missingOnTheLeft.getMessage(),
        equalTo(
            "key field 'session_id' is missing from the left input, whose fields are [user_id, item_id, id, ts,"
                + " position]; withKeyFields(...) must name fields that both inputs have"));

    IllegalArgumentException missingOnTheRight =
        assertThrows(IllegalArgumentException.class, () -> builtOnly(attribution().withKeyFields("position")));
    assertThat(
        missingOnTheRight.getMessage(),
        equalTo(
            "key field 'position' is missing from the right input, whose fields are [user_id, item_id, id, ts,"
                + " device]; withKeyFields(...) must name fields that both inputs have"));
  }

  @Test
  void aKeyFieldMustHaveTheSameTypeOnBothSides() {
    Schema numericUsers = Schema.builder().addInt64Field("user_id").addInt64Field("ts").build();
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollectionTuple input =
        PCollectionTuple.of(
                IntervalJoin.LEFT,
                pipeline.apply(
                    "Impressions",
                    Create.of(impression("a1", "u1", "item1", BASE, 1)).withRowSchema(IMPRESSION)))
            .and(
                IntervalJoin.RIGHT,
                pipeline.apply(
                    "Clicks",
                    Create.of(Row.withSchema(numericUsers).addValues(1L, BASE).build())
                        .withRowSchema(numericUsers)));

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> input.apply(IntervalJoin.latestLeftPerRight().withKeyFields("user_id")));

    assertThat(
        e.getMessage(),
        equalTo(
            "key field 'user_id' is STRING NOT NULL in the left input but INT64 NOT NULL in the right input; a key"
                + " field must have the same type on both sides"));
  }

  @Test
  void expandWithoutKeyFieldsOrWithoutAnInputFailsClearly() {
    IllegalStateException noKeys =
        assertThrows(IllegalStateException.class, () -> builtOnly(IntervalJoin.latestLeftPerRight()));
    assertThat(noKeys.getMessage(), equalTo("IntervalJoin needs withKeyFields(...)"));

    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollectionTuple onlyImpressions =
        PCollectionTuple.of(
            IntervalJoin.LEFT,
            pipeline.apply(Create.of(impression("a1", "u1", "item1", BASE, 1)).withRowSchema(IMPRESSION)));
    IllegalArgumentException noClicks =
        assertThrows(IllegalArgumentException.class, () -> onlyImpressions.apply(attribution()));
    assertThat(
        noClicks.getMessage(),
        equalTo(
            "IntervalJoin needs its right input in the PCollectionTuple under IntervalJoin.RIGHT, and it is"
                + " missing"));
  }

  @Test
  void settingsCheckTheirArguments() {
    IntervalJoin join = IntervalJoin.latestLeftPerRight();

    assertRejected(() -> join.withKeyFields(), "keyFields must name one or more distinct fields, got []");
    assertRejected(
        () -> join.withKeyFields("user_id", "user_id"),
        "keyFields must name one or more distinct fields, got [user_id, user_id]");
    assertRejected(
        () -> join.withBounds(THIRTY_MINUTES, Duration.ZERO),
        "lowerBound and upperBound must be durations with lowerBound <= upperBound, got lowerBound=PT1800S,"
            + " upperBound=PT0S");
    assertRejected(
        () -> join.withBounds(null, THIRTY_MINUTES),
        "lowerBound and upperBound must be durations with lowerBound <= upperBound, got lowerBound=null,"
            + " upperBound=PT1800S");
    assertRejected(
        () -> join.withAllowedLateness(Duration.millis(-1)),
        "allowedLateness must be zero or positive, got PT-0.001S");
    assertRejected(
        () -> join.withPrefixes("impression_", null),
        "leftPrefix and rightPrefix must be strings (empty for none), got leftPrefix=impression_, rightPrefix=null");
    NullPointerException noSide = assertThrows(NullPointerException.class, () -> join.withPriority(null));
    assertThat(noSide.getMessage(), equalTo("side"));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Fixtures

  private static Row impression(String id, String user, String item, long timestamp, int position) {
    return Row.withSchema(IMPRESSION).addValues(user, item, id, timestamp, position).build();
  }

  private static Row click(String id, String user, String item, long timestamp, String device) {
    return Row.withSchema(CLICK).addValues(user, item, id, timestamp, device).build();
  }

  /** The row {@link #attribution()} outputs for a click and its impression. */
  private static Row attributed(Row impression, Row click) {
    List<Object> values = new ArrayList<>(impression.getValues());
    values.addAll(click.getValues());
    return Row.withSchema(ATTRIBUTED).addValues(values).build();
  }

  private static Row merged(String user, String item, String id, long timestamp, int position, String device) {
    return Row.withSchema(MERGED).addValues(user, item, id, timestamp, position, device).build();
  }

  private static TimestampedValue<Row> shown(Row impression) {
    return TimestampedValue.of(
        Row.withSchema(ENVELOPE).addValues(impression, null).build(), new Instant(impression.getInt64("ts")));
  }

  private static TimestampedValue<Row> clicked(Row click) {
    return TimestampedValue.of(
        Row.withSchema(ENVELOPE).addValues(null, click).build(), new Instant(click.getInt64("ts")));
  }

  /** The envelopes split into the join's two inputs. */
  private static PCollectionTuple bySide(PCollection<Row> envelopes) {
    PCollectionTuple sides =
        envelopes.apply(
            "SplitBySide",
            ParDo.of(new SplitBySide()).withOutputTags(IntervalJoin.LEFT, TupleTagList.of(IntervalJoin.RIGHT)));
    sides.get(IntervalJoin.LEFT).setRowSchema(IMPRESSION);
    sides.get(IntervalJoin.RIGHT).setRowSchema(CLICK);
    return sides;
  }

  /** The join applied to one impression and one click, in a pipeline that is built but not run. */
  private static PCollectionTuple builtOnly(IntervalJoin join) {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    Row impression = impression("a1", "u1", "item1", BASE, 1);
    Row click = click("c1", "u1", "item1", BASE, "ios");
    return bySide(
            pipeline.apply(
                Create.of(shown(impression).getValue(), clicked(click).getValue()).withRowSchema(ENVELOPE)))
        .apply(join);
  }

  static final class SplitBySide extends DoFn<Row, Row> {
    @ProcessElement
    public void processElement(@Element Row envelope, MultiOutputReceiver out) {
      Row impression = envelope.getRow("impression");
      if (impression != null) {
        out.get(IntervalJoin.LEFT).output(impression);
      } else {
        out.get(IntervalJoin.RIGHT).output(envelope.getRow("click"));
      }
    }
  }

  static final class TimestampOf extends DoFn<Row, Long> {
    @ProcessElement
    public void processElement(@Timestamp Instant timestamp, OutputReceiver<Long> out) {
      out.output(timestamp.getMillis());
    }
  }

  private static void assertRejected(Runnable setting, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, setting::run);
    assertThat(e.getMessage(), equalTo(message));
  }

  private static long counter(PipelineResult result, String name) {
    return PipelineCounters.value(result, IntervalJoin.STAGE, name);
  }

  private static DistributionResult distribution(PipelineResult result, String name) {
    for (MetricResult<DistributionResult> distribution :
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder().addNameFilter(MetricNameFilter.named(IntervalJoin.STAGE, name)).build())
            .getDistributions()) {
      return distribution.hasCommitted() ? distribution.getCommitted() : distribution.getAttempted();
    }
    return DistributionResult.IDENTITY_ELEMENT;
  }
}
