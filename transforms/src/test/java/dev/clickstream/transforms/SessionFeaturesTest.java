package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.SessionAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.EnrichedClickEvent;
import dev.clickstream.transforms.SessionFeatures.SessionStats;
import java.util.Arrays;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.Reify;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Sessions;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Per-user sessions: exact stats, the gap boundary (checked against Beam's own session windows), merges, and one
 * test per lateness case (on time, late but allowed, late merging sessions, too late); and sessions per item,
 * counting impressions, as a declaration outside the registry asks.
 */
@ExtendWith(TestPipelineExtension.class)
class SessionFeaturesTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long BASE = 1_709_294_400_000L;

  private static final long MINUTE = 60_000L;
  private static final long HOUR = 60 * MINUTE;
  private static final long GAP = 30 * MINUTE;

  private static final AvroCoder<ClickEvent> EVENT_CODER = AvroCoder.of(ClickEvent.class);

  /** Not in the registry: per item, sessions of events less than 10 minutes apart, counting impressions. */
  private static final SessionAggregation ITEM_SESSIONS =
      SessionAggregation.named("item_sessions")
          .groupBy("item_id")
          .gap(java.time.Duration.ofMinutes(10))
          .countWhere("event_type", "impression")
          .build();

  // ---------------------------------------------------------------------------------------------------------------
  // Settings

  @Test
  void gapMustBePositive() {
    assertRejected(() -> SessionFeatures.perUser().withGap(null), "gap must be a positive duration, got null");
    assertRejected(
        () -> SessionFeatures.perUser().withGap(Duration.ZERO), "gap must be a positive duration, got PT0S");
    assertRejected(
        () -> SessionFeatures.perUser().withGap(Duration.millis(-1)), "gap must be a positive duration, got PT-0.001S");
  }

  @Test
  void allowedLatenessMustNotBeNegative() {
    assertRejected(
        () -> SessionFeatures.perUser().withAllowedLateness(null),
        "allowedLateness must be zero or positive, got null");
    assertRejected(
        () -> SessionFeatures.perUser().withAllowedLateness(Duration.standardMinutes(-5)),
        "allowedLateness must be zero or positive, got PT-300S");
  }

  @Test
  void defaultsAreAThirtyMinuteGapAndNoLatenessAndSettingsLeaveTheOriginalUnchanged() {
    SessionFeatures<ClickEvent> defaults = SessionFeatures.perUser();
    SessionFeatures<ClickEvent> changed =
        defaults.withGap(Duration.standardMinutes(5)).withAllowedLateness(Duration.millis(7));

    assertThat(defaults.gap(), equalTo(Duration.standardMinutes(30)));
    assertThat(defaults.allowedLateness(), equalTo(Duration.ZERO));
    assertThat(changed.gap(), equalTo(Duration.standardMinutes(5)));
    assertThat(changed.allowedLateness(), equalTo(Duration.millis(7)));
  }

  @Test
  void sessionStatsRejectImpossibleValues() {
    assertRejected(
        () -> new SessionStats(BASE, BASE - 1, 1, 0),
        "end must not be before start, got start=2024-03-01T12:00:00.000Z, end=2024-03-01T11:59:59.999Z");
    assertRejected(() -> new SessionStats(BASE, BASE, 0, 0), "events must be at least 1, got 0");
    assertRejected(() -> new SessionStats(BASE, BASE, 2, 3), "clicks must be between 0 and events (2), got 3");
    assertRejected(() -> new SessionStats(BASE, BASE, 2, -1), "clicks must be between 0 and events (2), got -1");
  }

  @Test
  void sessionStatsHaveValueSemanticsAndADeterministicCoder() throws Exception {
    SessionStats stats = new SessionStats(BASE, BASE + 45 * MINUTE, 3, 2);

    assertThat(stats.lengthMillis(), equalTo(45 * MINUTE));
    assertThat(stats, equalTo(new SessionStats(BASE, BASE + 45 * MINUTE, 3, 2)));
    assertThat(stats.hashCode(), equalTo(new SessionStats(BASE, BASE + 45 * MINUTE, 3, 2).hashCode()));
    assertThat(
        stats.toString(),
        equalTo(
            "SessionStats(2024-03-01T12:00:00.000Z to 2024-03-01T12:45:00.000Z, 2700000 ms, 3 events, 2 clicks)"));
    CoderProperties.coderDecodeEncodeEqual(SessionStats.Coder.of(), stats);
    CoderProperties.coderDecodeEncodeEqual(SessionStats.Coder.of(), new SessionStats(-5, -5, 1, 1));
    CoderProperties.coderDeterministic(
        SessionStats.Coder.of(), stats, new SessionStats(BASE, BASE + 45 * MINUTE, 3, 2));
    SessionStats.Coder.of().verifyDeterministic();
  }

  @Test
  void outputsHaveExplicitCodersAndStayInTheGlobalWindow() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollectionTuple output =
        pipeline
            .apply(Create.of(event("e1", "u1", "click", BASE)).withCoder(EVENT_CODER))
            .apply(SessionFeatures.perUser());

    assertThat(
        output.get(SessionFeatures.SESSIONS).getCoder(),
        equalTo(KvCoder.of(StringUtf8Coder.of(), SessionStats.Coder.of())));
    assertThat(output.get(SessionFeatures.TOO_LATE).getCoder(), equalTo(EVENT_CODER));
    assertThat(
        output.get(SessionFeatures.SESSIONS).getWindowingStrategy().getWindowFn(), equalTo(new GlobalWindows()));
  }

  @Test
  void anotherRecordClassTakesItsOwnCoderAndTooLateTag() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    SessionFeatures<EnrichedClickEvent> sessions = SessionFeatures.of(ITEM_SESSIONS, EnrichedClickEvent.class);
    PCollectionTuple output =
        pipeline
            .apply(Create.empty(AvroCoder.of(EnrichedClickEvent.class)))
            .apply(sessions);

    assertThat(output.get(sessions.tooLate()).getCoder(), equalTo(AvroCoder.of(EnrichedClickEvent.class)));
    assertThat(sessions.tooLate(), equalTo(SessionFeatures.TOO_LATE));
    assertThat(sessions.gap(), equalTo(Duration.standardMinutes(10)));
  }

  @Test
  void aFeatureReadingAFieldTheEventsLackIsRefusedWhenTheGraphIsBuilt() {
    SessionAggregation perCountry =
        SessionAggregation.named("country_sessions")
            .groupBy("user_country")
            .gap(java.time.Duration.ofMinutes(30))
            .countWhere("event_type", "click")
            .build();

    assertRejected(
        () -> SessionFeatures.of(perCountry),
        "SessionFeatures cannot compute feature country_sessions over ClickEvent: it reads the fields [user_country],"
            + " which ClickEvent does not have; its fields: [event_id, user_id, event_type, item_id, session_id,"
            + " timestamp]");
    assertDoesNotThrow(() -> SessionFeatures.of(perCountry, EnrichedClickEvent.class));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // On time

  @Test
  void anotherDeclarationSessionizesPerItsEntityAndCountsItsCondition(TestPipeline pipeline) {
    PCollection<ClickEvent> events =
        pipeline.apply(
            allAtOnce(
                    // i1: 5 and 9 minutes apart, one session; then exactly the 10-minute gap: another.
                    stamped(itemEvent("a1", "u1", "i1", "impression", BASE)),
                    stamped(itemEvent("a2", "u2", "i1", "click", BASE + 5 * MINUTE)),
                    stamped(itemEvent("a3", "u1", "i1", "impression", BASE + 14 * MINUTE)),
                    stamped(itemEvent("a4", "u3", "i1", "impression", BASE + 24 * MINUTE)),
                    // i2: one click, within a minute of i1's events, never merged with them.
                    stamped(itemEvent("b1", "u1", "i2", "click", BASE + MINUTE)),
                    // No item: skipped and counted.
                    stamped(itemEvent("c1", "u1", null, "impression", BASE + 2 * MINUTE))));

    PCollectionTuple output = events.apply(SessionFeatures.of(ITEM_SESSIONS));

    // The second count is of impressions here: 2 in i1's first session, 1 in its second, none in i2's.
    PAssert.that(output.get(SessionFeatures.SESSIONS))
        .containsInAnyOrder(
            session("i1", BASE, BASE + 14 * MINUTE, 3, 2),
            session("i1", BASE + 24 * MINUTE, BASE + 24 * MINUTE, 1, 1),
            session("i2", BASE + MINUTE, BASE + MINUTE, 1, 0));
    PAssert.that(output.get(SessionFeatures.TOO_LATE)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 5, 3, 0);
    assertThat(
        PipelineCounters.value(result, SessionFeatures.STAGE, SessionFeatures.EVENTS_WITHOUT_ENTITY), equalTo(1L));
  }

  @Test
  void twoUsersSessionsSplitByGapsLongerThanTheGap(TestPipeline pipeline) {
    PCollection<ClickEvent> events =
        pipeline.apply(
            allAtOnce(
                    // u1: 20 and 25 minutes apart, one session; then 75 minutes and 60 minutes of silence.
                    stamped(event("a1", "u1", "click", BASE)),
                    stamped(event("a2", "u1", "impression", BASE + 20 * MINUTE)),
                    stamped(event("a3", "u1", "click", BASE + 45 * MINUTE)),
                    stamped(event("a4", "u1", "impression", BASE + 2 * HOUR)),
                    stamped(event("a5", "u1", "click", BASE + 3 * HOUR)),
                    stamped(event("a6", "u1", "click", BASE + 3 * HOUR + 29 * MINUTE)),
                    // u2: interleaved with u1 in time, never merged with it.
                    stamped(event("b1", "u2", "impression", BASE + 5 * MINUTE)),
                    stamped(event("b2", "u2", "scroll", BASE + 6 * MINUTE)),
                    stamped(event("b3", "u2", "click", BASE + HOUR))));

    PCollectionTuple output = events.apply(SessionFeatures.perUser());

    PAssert.that(output.get(SessionFeatures.SESSIONS))
        .containsInAnyOrder(
            session("u1", BASE, BASE + 45 * MINUTE, 3, 2),
            session("u1", BASE + 2 * HOUR, BASE + 2 * HOUR, 1, 0),
            session("u1", BASE + 3 * HOUR, BASE + 3 * HOUR + 29 * MINUTE, 2, 2),
            session("u2", BASE + 5 * MINUTE, BASE + 6 * MINUTE, 2, 0),
            session("u2", BASE + HOUR, BASE + HOUR, 1, 1));
    PAssert.that(output.get(SessionFeatures.TOO_LATE)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 9, 5, 0);
  }

  @Test
  void eventsExactlyTheGapApartStartTwoSessionsAsInBeamsSessionWindows(TestPipeline pipeline) {
    PCollection<ClickEvent> events =
        pipeline.apply(
            allAtOnce(
                    stamped(event("e1", "exact", "click", BASE)),
                    stamped(event("e2", "exact", "click", BASE + GAP)),
                    stamped(event("o1", "over", "click", BASE)),
                    stamped(event("o2", "over", "impression", BASE + GAP + 1)),
                    stamped(event("u1", "under", "click", BASE)),
                    stamped(event("u2", "under", "impression", BASE + GAP - 1))));

    PAssert.that(events.apply(SessionFeatures.perUser()).get(SessionFeatures.SESSIONS))
        .containsInAnyOrder(
            session("exact", BASE, BASE, 1, 1),
            session("exact", BASE + GAP, BASE + GAP, 1, 1),
            session("over", BASE, BASE, 1, 1),
            session("over", BASE + GAP + 1, BASE + GAP + 1, 1, 0),
            session("under", BASE, BASE + GAP - 1, 2, 1));

    // Beam's own session windows on the same events: each event covers [t, t + gap), so 30 minutes apart is apart.
    PCollection<KV<String, Long>> beamSessions =
        events
            .apply(
                "KeyByUserForBeam",
                MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptor.of(ClickEvent.class)))
                    .via((ClickEvent event) -> KV.of(event.getUserId(), event)))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), EVENT_CODER))
            .apply(Window.into(Sessions.withGapDuration(Duration.millis(GAP))))
            .apply(Count.perKey());
    PAssert.that(beamSessions)
        .inWindow(window(BASE, BASE + GAP))
        .containsInAnyOrder(KV.of("exact", 1L), KV.of("over", 1L));
    PAssert.that(beamSessions).inWindow(window(BASE + GAP, BASE + 2 * GAP)).containsInAnyOrder(KV.of("exact", 1L));
    PAssert.that(beamSessions)
        .inWindow(window(BASE + GAP + 1, BASE + 2 * GAP + 1))
        .containsInAnyOrder(KV.of("over", 1L));
    PAssert.that(beamSessions).inWindow(window(BASE, BASE + 2 * GAP - 1)).containsInAnyOrder(KV.of("under", 2L));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void anOutOfOrderEventBridgingTwoSessionsMergesThem(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(EVENT_CODER)
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(
                stamped(event("a1", "u1", "click", BASE)), stamped(event("a2", "u1", "impression", BASE + 50 * MINUTE)))
            // Within the gap of both: [25 min, 55 min) overlaps [0, 30 min) and [50 min, 80 min).
            .advanceWatermarkTo(new Instant(BASE + MINUTE))
            .addElements(stamped(event("a3", "u1", "click", BASE + 25 * MINUTE)))
            // Same time, another user: a session of its own.
            .addElements(stamped(event("b1", "u2", "click", BASE + 25 * MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(SessionFeatures.perUser());

    PAssert.that(output.get(SessionFeatures.SESSIONS))
        .containsInAnyOrder(
            session("u1", BASE, BASE + 50 * MINUTE, 3, 2),
            session("u2", BASE + 25 * MINUTE, BASE + 25 * MINUTE, 1, 1));
    PAssert.that(output.get(SessionFeatures.TOO_LATE)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 4, 2, 0);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Late but allowed

  @Test
  void aLateEventWithinTheAllowedLatenessEmitsALatePane(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(EVENT_CODER)
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(
                stamped(event("a1", "u1", "click", BASE)), stamped(event("a2", "u1", "impression", BASE + 10 * MINUTE)))
            // Past the session's window end, 40 minutes: the on-time pane.
            .advanceWatermarkTo(new Instant(BASE + 45 * MINUTE))
            .addElements(stamped(event("a3", "u1", "click", BASE + 5 * MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output =
        pipeline
            .apply(events)
            .apply(SessionFeatures.perUser().withAllowedLateness(Duration.standardHours(1)));

    // Both panes are timestamped at the window's last millisecond, as Beam's end-of-window output time.
    PAssert.that(output.get(SessionFeatures.SESSIONS).apply(Reify.timestamps()))
        .containsInAnyOrder(
            TimestampedValue.of(session("u1", BASE, BASE + 10 * MINUTE, 2, 1), new Instant(BASE + 40 * MINUTE - 1)),
            TimestampedValue.of(session("u1", BASE, BASE + 10 * MINUTE, 3, 2), new Instant(BASE + 40 * MINUTE - 1)));
    PAssert.that(output.get(SessionFeatures.TOO_LATE)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 3, 2, 0);
  }

  @Test
  void lateEventsThatBridgeOrPrecedeEmittedSessionsMergeThemAndMoveTheStart(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(EVENT_CODER)
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(
                stamped(event("a1", "u1", "click", BASE)),
                stamped(event("a2", "u1", "impression", BASE + 10 * MINUTE)),
                stamped(event("a3", "u1", "impression", BASE + 50 * MINUTE)))
            // Both sessions' windows have ended: rows (u1, BASE) and (u1, BASE + 50 min).
            .advanceWatermarkTo(new Instant(BASE + 90 * MINUTE))
            .addElements(stamped(event("a4", "u1", "click", BASE + 30 * MINUTE)))
            // One merged row (u1, BASE) supersedes both; then one before it moves its start.
            .advanceWatermarkTo(new Instant(BASE + 95 * MINUTE))
            .addElements(stamped(event("a5", "u1", "impression", BASE - 20 * MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output =
        pipeline
            .apply(events)
            .apply(SessionFeatures.perUser().withAllowedLateness(Duration.standardHours(2)));

    PAssert.that(output.get(SessionFeatures.SESSIONS))
        .containsInAnyOrder(
            session("u1", BASE, BASE + 10 * MINUTE, 2, 1),
            session("u1", BASE + 50 * MINUTE, BASE + 50 * MINUTE, 1, 0),
            session("u1", BASE, BASE + 50 * MINUTE, 4, 2),
            session("u1", BASE - 20 * MINUTE, BASE + 50 * MINUTE, 5, 2));
    PAssert.that(output.get(SessionFeatures.TOO_LATE)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 5, 4, 0);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Too late

  @Test
  void eventsLaterThanTheAllowedLatenessGoToTooLate(TestPipeline pipeline) {
    // The session [0, 5 min] expires when the watermark passes 5 + 30 + 10 minutes - 1 ms.
    long expiry = BASE + 45 * MINUTE - 1;
    ClickEvent exactlyAtTheLateness = event("a3", "u1", "click", BASE + 5 * MINUTE);
    ClickEvent afterExpiry = event("a4", "u1", "impression", BASE + 5 * MINUTE);
    ClickEvent withinAGapOfTheClearedSession = event("a5", "u1", "impression", BASE + 34 * MINUTE);
    TestStream<ClickEvent> events =
        TestStream.create(EVENT_CODER)
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(
                stamped(event("a1", "u1", "click", BASE)), stamped(event("a2", "u1", "impression", BASE + 5 * MINUTE)))
            // The on-time pane has fired; the session is still held.
            .advanceWatermarkTo(new Instant(expiry))
            .addElements(stamped(exactlyAtTheLateness))
            // The session is cleared.
            .advanceWatermarkTo(new Instant(expiry + 1))
            .addElements(stamped(afterExpiry))
            .addElements(stamped(withinAGapOfTheClearedSession))
            // Exactly a gap after the cleared session's last event: a new session.
            .addElements(stamped(event("a6", "u1", "click", BASE + 35 * MINUTE)))
            // No timer of u2's has fired, so however far behind the watermark, its event is applied, not lost.
            .addElements(stamped(event("b1", "u2", "impression", BASE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output =
        pipeline
            .apply(events)
            .apply(SessionFeatures.perUser().withAllowedLateness(Duration.standardMinutes(10)));

    PAssert.that(output.get(SessionFeatures.SESSIONS))
        .containsInAnyOrder(
            session("u1", BASE, BASE + 5 * MINUTE, 2, 1),
            session("u1", BASE, BASE + 5 * MINUTE, 3, 2),
            session("u1", BASE + 35 * MINUTE, BASE + 35 * MINUTE, 1, 1),
            session("u2", BASE, BASE, 1, 0));
    PAssert.that(output.get(SessionFeatures.TOO_LATE)).containsInAnyOrder(afterExpiry, withinAGapOfTheClearedSession);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 7, 4, 2);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Fixtures

  private static ClickEvent event(String id, String user, String type, long timestamp) {
    return ClickEvent.newBuilder()
        .setEventId(id)
        .setUserId(user)
        .setEventType(type)
        .setTimestamp(timestamp)
        .build();
  }

  private static ClickEvent itemEvent(String id, String user, String item, String type, long timestamp) {
    return ClickEvent.newBuilder(event(id, user, type, timestamp)).setItemId(item).build();
  }

  /**
   * All events in one bundle, then the watermark to infinity. Not {@code Create}: on the Direct runner its watermark
   * can advance before all of its elements are processed, which would fire the user's timers in between.
   */
  @SafeVarargs
  private static TestStream<ClickEvent> allAtOnce(TimestampedValue<ClickEvent>... events) {
    return TestStream.create(EVENT_CODER)
        .addElements(events[0], Arrays.copyOfRange(events, 1, events.length))
        .advanceWatermarkToInfinity();
  }

  private static TimestampedValue<ClickEvent> stamped(ClickEvent event) {
    return TimestampedValue.of(event, new Instant(event.getTimestamp()));
  }

  private static KV<String, SessionStats> session(String user, long start, long end, long events, long clicks) {
    return KV.of(user, new SessionStats(start, end, events, clicks));
  }

  private static IntervalWindow window(long start, long end) {
    return new IntervalWindow(new Instant(start), new Instant(end));
  }

  private static void assertCounters(PipelineResult result, long eventsIn, long sessionsEmitted, long tooLate) {
    assertThat(PipelineCounters.value(result, SessionFeatures.STAGE, SessionFeatures.EVENTS_IN), equalTo(eventsIn));
    assertThat(
        PipelineCounters.value(result, SessionFeatures.STAGE, SessionFeatures.SESSIONS_EMITTED),
        equalTo(sessionsEmitted));
    assertThat(
        PipelineCounters.value(result, SessionFeatures.STAGE, SessionFeatures.EVENTS_TOO_LATE), equalTo(tooLate));
  }

  private static void assertRejected(Runnable setting, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, setting::run);
    assertThat(e.getMessage(), equalTo(message));
  }
}
