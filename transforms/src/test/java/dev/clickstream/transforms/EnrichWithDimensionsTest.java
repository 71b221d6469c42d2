package dev.clickstream.transforms;

import static dev.clickstream.features.DimensionDefinitions.ITEMS;
import static dev.clickstream.features.DimensionDefinitions.USERS;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.DimensionSnapshot;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.EnrichedClickEvent;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link EnrichWithDimensions}: a refresh mid-stream is used from its window on (and a late event still gets the
 * snapshot of its own time); unknown users and items get the declared defaults and are counted; an event without an
 * item; snapshots loaded once; the real {@code PeriodicImpulse} path with an unaligned start, an event before the
 * first refresh and one after the last; schedules that do not match, rejected while the graph is built.
 */
@ExtendWith(TestPipelineExtension.class)
class EnrichWithDimensionsTest {
  /** 2024-03-01T12:00:00Z: long past, so every refresh fires at once. */
  private static final Instant T0 = new Instant(1_709_294_400_000L);

  private static final long MINUTE = 60_000L;
  private static final Duration INTERVAL = Duration.standardMinutes(10);
  private static final long LOAD_DELAY_MS = 1_000;
  /** When every lookup happens, by the test clock: an hour after T0. */
  private static final long NOW = T0.getMillis() + 60 * MINUTE;

  private static final ProcessingClock CLOCK = () -> NOW;
  private static final AvroCoder<ClickEvent> EVENT_CODER = AvroCoder.of(ClickEvent.class);
  private static final long SIGNUP = 1_700_000_000_000L;

  /** Users at each refresh: u1 moves from segment free to premium, then to country at. */
  private static final List<Map<String, List<Object>>> USER_VERSIONS =
      List.of(
          rows("u1", Arrays.asList("de", "free", SIGNUP), "u2", Arrays.asList("fr", "premium", null)),
          rows("u1", Arrays.asList("de", "premium", SIGNUP), "u2", Arrays.asList("fr", "premium", null)),
          rows("u1", Arrays.asList("at", "premium", SIGNUP), "u2", Arrays.asList("fr", "premium", null)));

  /** Items at each refresh: i1 moves from category shoes to boots, then to a summer campaign at a lower price. */
  private static final List<Map<String, List<Object>>> ITEM_VERSIONS =
      List.of(
          rows("i1", Arrays.asList("shoes", "spring", 49.95), "i2", Arrays.asList("hats", "none", null)),
          rows("i1", Arrays.asList("boots", "spring", 49.95), "i2", Arrays.asList("hats", "none", null)),
          rows("i1", Arrays.asList("boots", "summer", 39.95), "i2", Arrays.asList("hats", "none", null)));

  // ---------------------------------------------------------------------------------------------------------------
  // Refreshes

  @Test
  void aRefreshMidStreamIsUsedFromItsWindowOnAndALateEventGetsTheSnapshotOfItsTime(TestPipeline pipeline) {
    Instant stop = T0.plus(INTERVAL);
    DimensionSnapshots users = refreshed(new VersionedUsers(), T0, stop);
    DimensionSnapshots items = refreshed(new VersionedItems(), T0, stop);
    ClickEvent e1 = event("e1", "u1", "i1", T0.getMillis() + MINUTE);
    ClickEvent e2 = event("e2", "u2", "i2", T0.getMillis() + 5 * MINUTE);
    ClickEvent e3 = event("e3", "u1", "i1", T0.getMillis() + 12 * MINUTE);
    ClickEvent e4 = event("e4", "u2", "i1", T0.getMillis() + 15 * MINUTE);
    ClickEvent late = event("late", "u1", "i1", T0.getMillis() + 9 * MINUTE);
    TestStream<ClickEvent> stream =
        TestStream.create(EVENT_CODER)
            .advanceWatermarkTo(T0)
            .addElements(stamped(e1), stamped(e2))
            // The first interval is over; the refresh at T0 + 10 min is in effect from here on.
            .advanceWatermarkTo(T0.plus(INTERVAL))
            .addElements(stamped(e3), stamped(e4))
            // Behind the watermark, but of the first interval: the first snapshot.
            .addElements(stamped(late))
            .advanceWatermarkToInfinity();

    PCollection<EnrichedClickEvent> enriched =
        pipeline.apply(stream).apply(EnrichWithDimensions.of(users, items).withClock(CLOCK));

    PAssert.that(enriched)
        .containsInAnyOrder(
            enriched(e1, "de", "free", SIGNUP, "shoes", "spring", 49.95),
            enriched(e2, "fr", "premium", null, "hats", "none", null),
            enriched(e3, "de", "premium", SIGNUP, "boots", "spring", 49.95),
            enriched(e4, "fr", "premium", null, "boots", "spring", 49.95),
            enriched(late, "de", "free", SIGNUP, "shoes", "spring", 49.95));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 5, 0, 5, 0, 0, 0, 0);
    // Three lookups in the first snapshot (loaded at T0 + 1 s), two in the second (T0 + 10 min + 1 s).
    long firstAge = NOW - (T0.getMillis() + LOAD_DELAY_MS);
    long secondAge = firstAge - 10 * MINUTE;
    List<Long> ages = List.of(5L, 3 * firstAge + 2 * secondAge, secondAge, firstAge);
    assertThat(PipelineMetrics.distribution(result, "EnrichWithDimensions", "users_snapshot_age_ms"), is(ages));
    assertThat(PipelineMetrics.distribution(result, "EnrichWithDimensions", "items_snapshot_age_ms"), is(ages));
  }

  @Test
  void theRealPeriodicImpulsePathServesEachWindowItsVersionAndDefaultsWhereThereIsNone(TestPipeline pipeline) {
    // Not aligned to the interval: refreshes at T0 + 3, 13 and 23 minutes, in the windows starting at T0, T0 + 10
    // and T0 + 20 minutes.
    Instant start = T0.plus(Duration.standardMinutes(3));
    Instant stop = start.plus(INTERVAL.multipliedBy(2));
    DimensionSnapshots users = refreshed(new VersionedUsers(), start, stop);
    DimensionSnapshots items = refreshed(new VersionedItems(), start, stop);
    ClickEvent beforeFirstWindow = event("before", "u1", "i1", T0.getMillis() - 1);
    ClickEvent beforeStartInFirstWindow = event("first", "u1", "i1", T0.getMillis() + MINUTE);
    ClickEvent second = event("second", "u1", "i1", T0.getMillis() + 15 * MINUTE);
    ClickEvent third = event("third", "u1", "i1", T0.getMillis() + 29 * MINUTE);
    ClickEvent afterLastWindow = event("after", "u1", "i1", T0.getMillis() + 30 * MINUTE);

    PCollection<EnrichedClickEvent> enriched =
        pipeline
            .apply(
                "Events",
                Create.timestamped(
                        stamped(beforeFirstWindow),
                        stamped(beforeStartInFirstWindow),
                        stamped(second),
                        stamped(third),
                        stamped(afterLastWindow))
                    .withCoder(EVENT_CODER))
            .apply(EnrichWithDimensions.of(users, items).withClock(CLOCK));

    PAssert.that(enriched)
        .containsInAnyOrder(
            defaults(beforeFirstWindow),
            enriched(beforeStartInFirstWindow, "de", "free", SIGNUP, "shoes", "spring", 49.95),
            enriched(second, "de", "premium", SIGNUP, "boots", "spring", 49.95),
            enriched(third, "at", "premium", SIGNUP, "boots", "summer", 39.95),
            defaults(afterLastWindow));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 3, 1, 3, 1, 0, 1, 1);
    long firstAge = NOW - (start.getMillis() + LOAD_DELAY_MS);
    assertThat(
        PipelineMetrics.distribution(result, "EnrichWithDimensions", "users_snapshot_age_ms"),
        is(List.of(3L, 3 * firstAge - 30 * MINUTE, firstAge - 20 * MINUTE, firstAge)));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Defaults

  @Test
  void unknownUsersAndItemsGetTheDeclaredDefaultsAndAreCounted(TestPipeline pipeline) {
    DimensionSnapshots users = loadedOnce(USERS, USER_VERSIONS.get(0));
    DimensionSnapshots items = loadedOnce(ITEMS, ITEM_VERSIONS.get(0));
    ClickEvent known = event("known", "u1", "i1", T0.getMillis());
    ClickEvent unknownUser = event("unknown-user", "u9", "i2", T0.getMillis() + 1);
    ClickEvent unknownItem = event("unknown-item", "u2", "i9", T0.getMillis() + 2);
    ClickEvent unknownBoth = event("unknown-both", "u8", "i8", T0.getMillis() + 3);

    PCollection<EnrichedClickEvent> enriched =
        pipeline
            .apply("Events", Create.timestamped(
                    stamped(known), stamped(unknownUser), stamped(unknownItem), stamped(unknownBoth))
                .withCoder(EVENT_CODER))
            .apply(EnrichWithDimensions.of(users, items).withClock(CLOCK));

    PAssert.that(enriched)
        .containsInAnyOrder(
            enriched(known, "de", "free", SIGNUP, "shoes", "spring", 49.95),
            expected(unknownUser, "unknown", "unknown", null, false, "hats", "none", null, true),
            expected(unknownItem, "fr", "premium", null, true, "unknown", "none", null, false),
            defaults(unknownBoth));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 2, 2, 2, 2, 0, 0, 0);
    long age = NOW - (T0.getMillis() + LOAD_DELAY_MS);
    assertThat(
        PipelineMetrics.distribution(result, "EnrichWithDimensions", "items_snapshot_age_ms"),
        is(List.of(4L, 4 * age, age, age)));
  }

  @Test
  void anEventWithoutAnItemGetsTheItemDefaultsAndIsCountedAsAbsent(TestPipeline pipeline) {
    DimensionSnapshots users = loadedOnce(USERS, USER_VERSIONS.get(0));
    DimensionSnapshots items = loadedOnce(ITEMS, ITEM_VERSIONS.get(0));
    ClickEvent knownUser = event("page-view", "u1", null, T0.getMillis());
    ClickEvent unknownUser = event("scroll", "u9", null, T0.getMillis() + 1);

    PCollection<EnrichedClickEvent> enriched =
        pipeline
            .apply("Events", Create.timestamped(stamped(knownUser), stamped(unknownUser)).withCoder(EVENT_CODER))
            .apply(EnrichWithDimensions.of(users, items));

    PAssert.that(enriched)
        .containsInAnyOrder(
            expected(knownUser, "de", "free", SIGNUP, true, "unknown", "none", null, false),
            defaults(unknownUser));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 1, 1, 0, 0, 2, 0, 0);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Loaded once

  @Test
  void aSnapshotLoadedOnceServesEventsOfAnyTimeInAnyWindowingAndTheOutputIsInTheGlobalWindow(
      TestPipeline pipeline) {
    DimensionSnapshots users = loadedOnce(USERS, USER_VERSIONS.get(1));
    DimensionSnapshots items = loadedOnce(ITEMS, ITEM_VERSIONS.get(2));
    ClickEvent longBefore = event("long-before", "u1", "i1", T0.getMillis() - 365L * 24 * 60 * MINUTE);
    ClickEvent atStart = event("at-start", "u2", "i2", T0.getMillis());
    ClickEvent longAfter = event("long-after", "u1", "i2", T0.getMillis() + 365L * 24 * 60 * MINUTE);

    PCollection<EnrichedClickEvent> enriched =
        pipeline
            .apply("Events", Create.timestamped(stamped(longBefore), stamped(atStart), stamped(longAfter))
                .withCoder(EVENT_CODER))
            .apply("WindowIntoMinutes", Window.into(FixedWindows.of(Duration.standardMinutes(1))))
            .apply(EnrichWithDimensions.of(users, items));

    PAssert.that(enriched)
        .containsInAnyOrder(
            enriched(longBefore, "de", "premium", SIGNUP, "boots", "summer", 39.95),
            enriched(atStart, "fr", "premium", null, "hats", "none", null),
            enriched(longAfter, "de", "premium", SIGNUP, "hats", "none", null));
    assertThat(enriched.getWindowingStrategy().getWindowFn(), equalTo(new GlobalWindows()));
    assertThat(enriched.getCoder(), equalTo(AvroCoder.of(EnrichedClickEvent.class)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 3, 0, 3, 0, 0, 0, 0);
  }

  @Test
  void swappedSnapshotsFailTheLookupSayingWhichWasExpected(TestPipeline pipeline) {
    DimensionSnapshots users = loadedOnce(USERS, USER_VERSIONS.get(0));
    DimensionSnapshots items = loadedOnce(ITEMS, ITEM_VERSIONS.get(0));
    pipeline
        .apply("Events", Create.timestamped(stamped(event("e1", "u1", "i1", T0.getMillis()))).withCoder(EVENT_CODER))
        .apply(EnrichWithDimensions.of(items, users));

    RuntimeException e = assertThrows(RuntimeException.class, pipeline::run);

    assertThat(cause(e, IllegalStateException.class).getMessage(),
        is("the users side input holds a snapshot of " + ITEMS + ", expected " + USERS + ": pass"
            + " EnrichWithDimensions.of(usersSnapshots, itemsSnapshots) in that order, each loaded with its"
            + " DimensionDefinitions declaration"));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Schedules that do not match

  @Test
  void snapshotsOnDifferentSchedulesAreRejectedWhileTheGraphIsBuilt() {
    Instant stop = T0.plus(INTERVAL);
    DimensionSnapshots once = loadedOnce(USERS, USER_VERSIONS.get(0));
    DimensionSnapshots refreshed = refreshed(new VersionedItems(), T0, stop);
    DimensionSnapshots otherInterval =
        DimensionSnapshots.refreshedEvery(new VersionedItems(), Duration.standardMinutes(5)).startingAt(T0);
    DimensionSnapshots otherStart = refreshed(new VersionedUsers(), T0.plus(1), stop);

    assertRejected(() -> EnrichWithDimensions.of(once, refreshed),
        "users and items snapshots must be on one schedule, so that every event's window has a snapshot of both:"
            + " users are loaded once, items are refreshed every PT600S from 2024-03-01T12:00:00.000Z. Make both"
            + " with DimensionSnapshots.loadedOnce(...), or both with refreshedEvery(...) at the same interval and"
            + " startingAt(...) the same instant");
    assertRejected(() -> EnrichWithDimensions.of(otherInterval, refreshed),
        "users and items snapshots must be on one schedule, so that every event's window has a snapshot of both:"
            + " users are refreshed every PT300S from 2024-03-01T12:00:00.000Z, items are refreshed every PT600S"
            + " from 2024-03-01T12:00:00.000Z. Make both with DimensionSnapshots.loadedOnce(...), or both with"
            + " refreshedEvery(...) at the same interval and startingAt(...) the same instant");
    assertRejected(() -> EnrichWithDimensions.of(otherStart, refreshed),
        "users and items snapshots must be on one schedule, so that every event's window has a snapshot of both:"
            + " users are refreshed every PT600S from 2024-03-01T12:00:00.001Z, items are refreshed every PT600S"
            + " from 2024-03-01T12:00:00.000Z. Make both with DimensionSnapshots.loadedOnce(...), or both with"
            + " refreshedEvery(...) at the same interval and startingAt(...) the same instant");
  }

  @Test
  void theRefreshedOutputIsInTheGlobalWindowWithAnAvroCoder() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    Instant stop = T0.plus(INTERVAL);
    DimensionSnapshots users = refreshed(new VersionedUsers(), T0, stop);
    DimensionSnapshots items = refreshed(new VersionedItems(), T0, stop);

    PCollection<EnrichedClickEvent> enriched =
        pipeline
            .apply(Create.of(event("e1", "u1", "i1", T0.getMillis())).withCoder(EVENT_CODER))
            .apply(EnrichWithDimensions.of(users, items));

    assertThat(enriched.getWindowingStrategy().getWindowFn(), equalTo(new GlobalWindows()));
    assertThat(enriched.getCoder(), equalTo(AvroCoder.of(EnrichedClickEvent.class)));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Fixtures: static, so that the test class is not serialized.

  private static DimensionSnapshots refreshed(SnapshotSource source, Instant start, Instant stop) {
    return DimensionSnapshots.refreshedEvery(source, INTERVAL).startingAt(start).stoppingAt(stop);
  }

  private static DimensionSnapshots loadedOnce(
      dev.clickstream.features.Dimension dimension, Map<String, List<Object>> rows) {
    return DimensionSnapshots.loadedOnce(new ConstantSource(
        DimensionSnapshot.of(dimension, T0.getMillis() + LOAD_DELAY_MS, rows)));
  }

  /** The version in effect at {@code refresh}: one per interval since T0, the last one from then on. */
  private static int versionAt(Instant refresh) {
    return (int) Math.min(2, Math.floorDiv(new Duration(T0, refresh).getMillis(), INTERVAL.getMillis()));
  }

  /** The users as they were at each refresh, loaded {@link #LOAD_DELAY_MS} after it. */
  static final class VersionedUsers implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant refresh) {
      return DimensionSnapshot.of(USERS, refresh.getMillis() + LOAD_DELAY_MS, USER_VERSIONS.get(versionAt(refresh)));
    }
  }

  /** The items as they were at each refresh, loaded {@link #LOAD_DELAY_MS} after it. */
  static final class VersionedItems implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant refresh) {
      return DimensionSnapshot.of(ITEMS, refresh.getMillis() + LOAD_DELAY_MS, ITEM_VERSIONS.get(versionAt(refresh)));
    }
  }

  static final class ConstantSource implements SnapshotSource {
    private final DimensionSnapshot snapshot;

    ConstantSource(DimensionSnapshot snapshot) {
      this.snapshot = snapshot;
    }

    @Override
    public DimensionSnapshot load(Instant impulseTime) {
      return snapshot;
    }
  }

  private static ClickEvent event(String id, String user, String item, long time) {
    return ClickEvent.newBuilder()
        .setEventId(id)
        .setUserId(user)
        .setEventType("click")
        .setItemId(item)
        .setSessionId("s-" + user)
        .setTimestamp(time)
        .build();
  }

  private static TimestampedValue<ClickEvent> stamped(ClickEvent event) {
    return TimestampedValue.of(event, new Instant(event.getTimestamp()));
  }

  /** The event with a known user and a known item. */
  private static EnrichedClickEvent enriched(
      ClickEvent event, String country, String segment, Long signup, String category, String campaign,
      Double price) {
    return expected(event, country, segment, signup, true, category, campaign, price, true);
  }

  /** The event with the declared defaults of both dimensions, written out: unknown, unknown, null; unknown, none. */
  private static EnrichedClickEvent defaults(ClickEvent event) {
    return expected(event, "unknown", "unknown", null, false, "unknown", "none", null, false);
  }

  private static EnrichedClickEvent expected(
      ClickEvent event, String country, String segment, Long signup, boolean userKnown, String category,
      String campaign, Double price, boolean itemKnown) {
    return EnrichedClickEvent.newBuilder()
        .setEventId(event.getEventId())
        .setUserId(event.getUserId())
        .setEventType(event.getEventType())
        .setItemId(event.getItemId())
        .setSessionId(event.getSessionId())
        .setTimestamp(event.getTimestamp())
        .setUserCountry(country)
        .setUserSegment(segment)
        .setUserSignupTime(signup)
        .setUserKnown(userKnown)
        .setItemCategory(category)
        .setItemCampaign(campaign)
        .setItemPrice(price)
        .setItemKnown(itemKnown)
        .build();
  }

  /** Every counter of the transform, in the order the class documentation lists them. */
  private static void assertCounters(
      PipelineResult result, long usersHit, long usersMiss, long itemsHit, long itemsMiss, long itemsAbsent,
      long beforeFirstSnapshot, long withoutSnapshot) {
    String[] names = {
      "users_hit", "users_miss", "items_hit", "items_miss", "items_absent", "before_first_snapshot", "without_snapshot"
    };
    Long[] actual = new Long[names.length];
    for (int i = 0; i < names.length; i++) {
      actual[i] = PipelineCounters.value(result, "EnrichWithDimensions", names[i]);
    }
    assertThat(
        Arrays.toString(names) + " = " + Arrays.toString(actual),
        Arrays.asList(actual),
        is(List.of(usersHit, usersMiss, itemsHit, itemsMiss, itemsAbsent, beforeFirstSnapshot, withoutSnapshot)));
  }

  private static void assertRejected(org.junit.jupiter.api.function.Executable executable, String message) {
    assertThat(assertThrows(IllegalArgumentException.class, executable).getMessage(), is(message));
  }

  private static <T extends Throwable> T cause(Throwable e, Class<T> type) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (type.isInstance(cause)) {
        return type.cast(cause);
      }
    }
    throw new AssertionError("no " + type.getSimpleName() + " in " + e, e);
  }

  private static Map<String, List<Object>> rows(Object... keysAndValues) {
    Map<String, List<Object>> rows = new HashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      @SuppressWarnings("unchecked")
      List<Object> values = (List<Object>) keysAndValues[i + 1];
      rows.put((String) keysAndValues[i], values);
    }
    return rows;
  }
}
