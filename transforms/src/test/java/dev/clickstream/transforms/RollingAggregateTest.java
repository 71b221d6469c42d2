package dev.clickstream.transforms;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.last;
import static dev.clickstream.features.Aggregation.max;
import static dev.clickstream.features.Aggregation.min;
import static dev.clickstream.features.Aggregation.sum;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureWindow;
import dev.clickstream.features.Partial;
import dev.clickstream.features.RollingWindows;
import dev.clickstream.features.WindowedAggregation;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.Values;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
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
 * The per-entity rolling aggregate: exact rows at the window edges, the batch answer whatever the arrival order, one
 * test per lateness case (in order, late but allowed, exactly the allowed lateness, too late), and memory bounded by
 * distinct timestamps.
 */
@ExtendWith(TestPipelineExtension.class)
class RollingAggregateTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long BASE = 1_709_294_400_000L;

  private static final long MINUTE = 60_000L;
  private static final long HOUR = 60 * MINUTE;

  /** Clicks over 1, 10, 30 and 60 minutes. */
  private static final WindowedAggregation CLICK_COUNTS = FeatureDefinitions.CLICK_COUNTS;
  private static final List<FeatureWindow> WINDOWS = CLICK_COUNTS.windows();

  /** The same windows over values, so every component of a partial is checked, not only counts. */
  private static final WindowedAggregation AMOUNTS =
      WindowedAggregation.named("test_amounts")
          .groupBy("user_id")
          .value("amount")
          .window(minutes(1), minutes(10), minutes(30), minutes(60))
          .agg(count(), sum(), min(), max(), last())
          .build();

  private static final Duration THREE_HOURS = Duration.standardHours(3);
  private static final Duration TEN_MINUTES = Duration.standardMinutes(10);

  // ---------------------------------------------------------------------------------------------------------------
  // Settings

  @Test
  void allowedLatenessMustNotBeNegative() {
    RollingAggregate aggregate = RollingAggregate.of(CLICK_COUNTS);

    IllegalArgumentException negative =
        assertThrows(IllegalArgumentException.class, () -> aggregate.withAllowedLateness(Duration.millis(-1)));
    assertThat(negative.getMessage(), equalTo("allowedLateness must be zero or positive, got PT-0.001S"));
    IllegalArgumentException missing =
        assertThrows(IllegalArgumentException.class, () -> aggregate.withAllowedLateness(null));
    assertThat(missing.getMessage(), equalTo("allowedLateness must be zero or positive, got null"));
  }

  @Test
  void theFeatureIsRequired() {
    NullPointerException e = assertThrows(NullPointerException.class, () -> RollingAggregate.of(null));

    assertThat(e.getMessage(), equalTo("feature"));
  }

  @Test
  void outputsHaveExplicitCodersAndStayInTheGlobalWindow() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollectionTuple output =
        pipeline
            .apply(Create.of(click("e1", "u1", BASE)).withCoder(FeatureEvent.Coder.of()))
            .apply(RollingAggregate.of(CLICK_COUNTS));

    assertThat(output.get(RollingAggregate.ROWS).getCoder(), equalTo(EntityPartials.Coder.of()));
    assertThat(output.get(RollingAggregate.TOO_LATE).getCoder(), equalTo(FeatureEvent.Coder.of()));
    assertThat(
        output.get(RollingAggregate.ROWS).getWindowingStrategy().getWindowFn(), equalTo(new GlobalWindows()));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // In order

  @Test
  void inOrderEventsEmitOneRowPerEventWithBothWindowEndsIncluded(TestPipeline pipeline) {
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            // L - 60 min - 1 ms for u1's latest event: outside its 60-minute window in the end.
            .advanceWatermarkTo(new Instant(BASE - 1))
            .addElements(stamped(click("a1", "u1", BASE - 1)))
            // Exactly L - 60 min: inside.
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(stamped(click("a2", "u1", BASE)))
            .advanceWatermarkTo(new Instant(BASE + 10 * MINUTE))
            .addElements(stamped(click("b1", "u2", BASE + 10 * MINUTE)))
            // Exactly 10 minutes after b1: b1 is on the edge of b2's 10-minute window, so inside.
            .advanceWatermarkTo(new Instant(BASE + 20 * MINUTE))
            .addElements(stamped(click("b2", "u2", BASE + 20 * MINUTE)))
            // Two clicks in the same millisecond, exactly L - 10 min.
            .advanceWatermarkTo(new Instant(BASE + 50 * MINUTE))
            .addElements(
                stamped(click("a3", "u1", BASE + 50 * MINUTE)), stamped(click("a4", "u1", BASE + 50 * MINUTE)))
            .advanceWatermarkTo(new Instant(BASE + 60 * MINUTE))
            .addElements(stamped(click("a5", "u1", BASE + 60 * MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(RollingAggregate.of(CLICK_COUNTS));

    PCollection<EntityPartials> rows = output.get(RollingAggregate.ROWS);
    PAssert.that(rows)
        .containsInAnyOrder(
            countRow("u1", BASE - 1, 1, 1, 1, 1),
            // a1 is 1 ms before: inside the 1-minute window.
            countRow("u1", BASE, 2, 2, 2, 2),
            // The first click of the millisecond, then the second; 60 minutes back reaches a1.
            countRow("u1", BASE + 50 * MINUTE, 1, 1, 1, 3),
            countRow("u1", BASE + 50 * MINUTE, 2, 2, 2, 4),
            // 10 minutes back reaches a3 and a4 exactly; 60 minutes back reaches a2 exactly, and not a1.
            countRow("u1", BASE + 60 * MINUTE, 1, 3, 3, 4),
            countRow("u2", BASE + 10 * MINUTE, 1, 1, 1, 1),
            countRow("u2", BASE + 20 * MINUTE, 1, 2, 2, 2));
    PAssert.that(latestRowPerEntity(rows))
        .containsInAnyOrder(
            countRow("u1", BASE + 60 * MINUTE, 1, 3, 3, 4), countRow("u2", BASE + 20 * MINUTE, 1, 2, 2, 2));
    PAssert.that(output.get(RollingAggregate.TOO_LATE)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, RollingAggregate.EVENTS_APPLIED), equalTo(7L));
    assertThat(counter(result, RollingAggregate.EVENTS_BEFORE_LONGEST_WINDOW), equalTo(0L));
    assertThat(counter(result, RollingAggregate.EVENTS_TOO_LATE), equalTo(0L));
  }

  @Test
  void theHandWrittenFinalRowsAreTheBatchAnswer() {
    List<FeatureEvent> u1 =
        List.of(
            click("a1", "u1", BASE - 1),
            click("a2", "u1", BASE),
            click("a3", "u1", BASE + 50 * MINUTE),
            click("a4", "u1", BASE + 50 * MINUTE),
            click("a5", "u1", BASE + 60 * MINUTE));

    assertThat(batchRows(WINDOWS, u1), equalTo(List.of(countRow("u1", BASE + 60 * MINUTE, 1, 3, 3, 4))));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Out of order, late but allowed

  @Test
  void shuffledLateEventsGiveTheBatchAnswer(TestPipeline pipeline) {
    List<FeatureEvent> generated = randomEvents(new Random(20240301L), 300, List.of("u1", "u2", "u3"), 3 * HOUR);
    List<FeatureEvent> shuffled = new ArrayList<>(generated);
    Collections.shuffle(shuffled, new Random(7L));

    // The watermark follows the latest event seen so far, so most events arrive behind it (up to 3 hours late),
    // all within the allowed lateness.
    TestStream.Builder<FeatureEvent> stream =
        TestStream.create(FeatureEvent.Coder.of()).advanceWatermarkTo(new Instant(BASE));
    long watermark = BASE;
    for (List<FeatureEvent> chunk : chunks(shuffled, 20)) {
      stream = stream.addElements(stamped(chunk.get(0)), stampedAll(chunk.subList(1, chunk.size())));
      long latestSeen = chunk.stream().mapToLong(FeatureEvent::timestamp).max().getAsLong();
      if (latestSeen > watermark) {
        watermark = latestSeen;
        stream = stream.advanceWatermarkTo(new Instant(watermark));
      }
    }

    PCollectionTuple output =
        pipeline
            .apply(stream.advanceWatermarkToInfinity())
            .apply(RollingAggregate.of(AMOUNTS).withAllowedLateness(THREE_HOURS));

    PAssert.that(latestRowPerEntity(output.get(RollingAggregate.ROWS)))
        .containsInAnyOrder(batchRows(AMOUNTS.windows(), generated));
    PAssert.that(output.get(RollingAggregate.TOO_LATE)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(
        counter(result, RollingAggregate.EVENTS_APPLIED)
            + counter(result, RollingAggregate.EVENTS_BEFORE_LONGEST_WINDOW),
        equalTo(300L));
    assertThat(counter(result, RollingAggregate.EVENTS_TOO_LATE), equalTo(0L));
  }

  @Test
  void anEventExactlyTheAllowedLatenessBehindTheWatermarkIsStillApplied(TestPipeline pipeline) {
    long latest = BASE + 30 * MINUTE;
    // Its 60-minute window reaches back to the latest event, which must therefore still be held.
    long late = latest + 60 * MINUTE;
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(latest))
            .addElements(stamped(click("e1", "u1", latest)))
            .advanceWatermarkTo(new Instant(late).plus(TEN_MINUTES))
            .addElements(stamped(click("e2", "u1", late)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output =
        pipeline.apply(events).apply(RollingAggregate.of(CLICK_COUNTS).withAllowedLateness(TEN_MINUTES));

    PAssert.that(output.get(RollingAggregate.ROWS))
        .containsInAnyOrder(
            countRow("u1", latest, 1, 1, 1, 1),
            new EntityPartials(
                "u1", late, Partial.ofCount(1, late), Partial.ofCount(1, late), Partial.ofCount(1, late),
                Partial.ofCount(2, late)));
    PAssert.that(output.get(RollingAggregate.TOO_LATE)).empty();
    pipeline.run().waitUntilFinish();
  }

  @Test
  void anEntityIsHeldUntilTheLongestWindowAfterItsLatestEventHasPassed(TestPipeline pipeline) {
    long latest = BASE + 50 * MINUTE;
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(stamped(click("e1", "u1", BASE)))
            .addElements(stamped(click("e2", "u1", latest)))
            // Past e1's time + 60 min, not past L + 60 min: the events are still held.
            .advanceWatermarkTo(new Instant(BASE + 70 * MINUTE))
            // 50 minutes behind the watermark, with no allowed lateness, yet still inside L's window: applied.
            .addElements(stamped(click("e3", "u1", latest - 30 * MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(RollingAggregate.of(CLICK_COUNTS));

    PAssert.that(output.get(RollingAggregate.ROWS))
        .containsInAnyOrder(
            countRow("u1", BASE, 1, 1, 1, 1),
            countRow("u1", latest, 1, 1, 1, 2),
            countRow("u1", latest, 1, 1, 2, 3));
    PAssert.that(output.get(RollingAggregate.TOO_LATE)).empty();
    pipeline.run().waitUntilFinish();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Too late

  @Test
  void eventsAfterTheEntityWasClearedGoToTooLateAndOlderOnesAreOnlyCounted(TestPipeline pipeline) {
    long latest = BASE + 30 * MINUTE;
    FeatureEvent tooLate = click("late", "u1", BASE + 10 * MINUTE);
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(stamped(click("e1", "u1", BASE)))
            .addElements(stamped(click("e2", "u1", latest)))
            // Past L + 60 min with no allowed lateness: u1's events are cleared.
            .advanceWatermarkTo(new Instant(latest + 61 * MINUTE))
            // Inside [L - 60 min, L]: its row would need the cleared events.
            .addElements(stamped(tooLate))
            // Before L - 60 min: it changes no row as of L or later.
            .addElements(stamped(click("old", "u1", latest - 60 * MINUTE - 1)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(RollingAggregate.of(CLICK_COUNTS));

    PAssert.that(output.get(RollingAggregate.ROWS))
        .containsInAnyOrder(countRow("u1", BASE, 1, 1, 1, 1), countRow("u1", latest, 1, 1, 2, 2));
    PAssert.that(output.get(RollingAggregate.TOO_LATE)).containsInAnyOrder(tooLate);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, RollingAggregate.EVENTS_TOO_LATE), equalTo(1L));
    assertThat(counter(result, RollingAggregate.EVENTS_BEFORE_LONGEST_WINDOW), equalTo(1L));
    assertThat(counter(result, RollingAggregate.EVENTS_APPLIED), equalTo(2L));
  }

  @Test
  void aClearedEntityStartsAfreshOnlyOnceItsWindowNoLongerReachesTheClearedEvents(TestPipeline pipeline) {
    long latest = BASE + 30 * MINUTE;
    // Later than L, but its 60-minute window holds L, which was cleared.
    FeatureEvent tooLate = click("late", "u1", latest + 10 * MINUTE);
    long back = latest + 65 * MINUTE;
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(BASE))
            .addElements(stamped(click("e1", "u1", latest)))
            .advanceWatermarkTo(new Instant(latest + 61 * MINUTE))
            .addElements(stamped(tooLate))
            .addElements(stamped(click("e2", "u1", back)))
            .addElements(stamped(click("e3", "u1", back + 1)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(RollingAggregate.of(CLICK_COUNTS));

    PAssert.that(output.get(RollingAggregate.ROWS))
        .containsInAnyOrder(
            countRow("u1", latest, 1, 1, 1, 1), countRow("u1", back, 1, 1, 1, 1), countRow("u1", back + 1, 2, 2, 2, 2));
    PAssert.that(output.get(RollingAggregate.TOO_LATE)).containsInAnyOrder(tooLate);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(counter(result, RollingAggregate.EVENTS_TOO_LATE), equalTo(1L));
    assertThat(counter(result, RollingAggregate.EVENTS_APPLIED), equalTo(3L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Memory

  @Test
  void memoryIsBoundedByDistinctTimestampsInTheLongestWindowNotByEvents(TestPipeline pipeline) {
    Random random = new Random(42L);
    // 1,500 distinct milliseconds over 10 hours, about three events each.
    List<Long> instants = new ArrayList<>(new TreeSet<>(randomTimestamps(random, 1_500, 10 * HOUR)));
    List<FeatureEvent> events = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      events.add(click("e" + i, "u1", instants.get(random.nextInt(instants.size()))));
    }
    events.sort(Comparator.comparingLong(FeatureEvent::timestamp));
    long bound = maxDistinctTimestampsInAnyWindow(events, 60 * MINUTE);
    long last = events.get(events.size() - 1).timestamp();
    long heldAtTheEnd =
        events.stream().mapToLong(FeatureEvent::timestamp).filter(t -> t >= last - 60 * MINUTE).distinct().count();

    // As a stream: 20 steps of about 30 minutes each, in any order within a step, so L moves on through the 10
    // hours and every event is applied.
    TestStream.Builder<FeatureEvent> stream = TestStream.create(FeatureEvent.Coder.of());
    for (List<FeatureEvent> chunk : chunks(events, 250)) {
      stream =
          stream
              .advanceWatermarkTo(new Instant(chunk.get(0).timestamp()))
              .addElements(stamped(chunk.get(0)), stampedAll(chunk.subList(1, chunk.size())));
    }

    PCollectionTuple output =
        pipeline.apply(stream.advanceWatermarkToInfinity()).apply(RollingAggregate.of(CLICK_COUNTS));

    PAssert.that(latestRowPerEntity(output.get(RollingAggregate.ROWS)))
        .containsInAnyOrder(batchRows(WINDOWS, events));
    PAssert.that(output.get(RollingAggregate.TOO_LATE)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    long held = maxTimestampsHeld(result);
    assertThat(held, greaterThanOrEqualTo(heldAtTheEnd));
    assertThat(held, lessThanOrEqualTo(bound));
    assertThat(bound, lessThan(5_000L / 10));
    assertThat(counter(result, RollingAggregate.EVENTS_APPLIED), equalTo(5_000L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Fixtures

  private static FeatureEvent click(String id, String user, long timestamp) {
    return new FeatureEvent(id, user, timestamp, null);
  }

  private static TimestampedValue<FeatureEvent> stamped(FeatureEvent event) {
    return TimestampedValue.of(event, new Instant(event.timestamp()));
  }

  private static List<TimestampedValue<FeatureEvent>> stampedList(List<FeatureEvent> events) {
    List<TimestampedValue<FeatureEvent>> stamped = new ArrayList<>();
    events.forEach(event -> stamped.add(stamped(event)));
    return stamped;
  }

  @SuppressWarnings("unchecked")
  private static TimestampedValue<FeatureEvent>[] stampedAll(List<FeatureEvent> events) {
    return stampedList(events).toArray(new TimestampedValue[0]);
  }

  /** A row whose every window holds its latest event, as of that event: counts only. */
  private static EntityPartials countRow(String user, long asOf, long... counts) {
    Partial[] partials = new Partial[counts.length];
    for (int i = 0; i < counts.length; i++) {
      partials[i] = Partial.ofCount(counts[i], asOf);
    }
    return new EntityPartials(user, asOf, partials);
  }

  /** The batch answer: per entity, {@link RollingWindows#aggregate} over all its events, as of its latest. */
  private static List<EntityPartials> batchRows(List<FeatureWindow> windows, List<FeatureEvent> events) {
    Map<String, NavigableMap<Long, Partial>> byEntity = new TreeMap<>();
    for (FeatureEvent event : events) {
      byEntity
          .computeIfAbsent(event.entity(), entity -> new TreeMap<>())
          .merge(event.timestamp(), Partial.of(event.timestamp(), event.value()), Partial::merge);
    }
    List<EntityPartials> rows = new ArrayList<>();
    byEntity.forEach(
        (entity, byTimestamp) -> {
          long latest = byTimestamp.lastKey();
          rows.add(new EntityPartials(entity, latest, RollingWindows.aggregate(windows, byTimestamp, latest)));
        });
    return rows;
  }

  /**
   * Random events of {@code users} over {@code spanMillis} from BASE: whole seconds, so several share a
   * millisecond, and every tenth event repeats the previous one's time; a quarter carry no value, the others
   * whole numbers, so sums are exact in any order.
   */
  private static List<FeatureEvent> randomEvents(Random random, int count, List<String> users, long spanMillis) {
    List<FeatureEvent> events = new ArrayList<>();
    long previous = BASE;
    for (int i = 0; i < count; i++) {
      long timestamp = i % 10 == 9 ? previous : BASE + random.nextInt((int) (spanMillis / 1000)) * 1000L;
      Double value = random.nextInt(4) == 0 ? null : (double) random.nextInt(100);
      events.add(new FeatureEvent("e" + i, users.get(random.nextInt(users.size())), timestamp, value));
      previous = timestamp;
    }
    return events;
  }

  private static List<Long> randomTimestamps(Random random, int count, long spanMillis) {
    List<Long> timestamps = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      timestamps.add(BASE + (long) (random.nextDouble() * spanMillis));
    }
    return timestamps;
  }

  /** The most distinct timestamps of {@code events} in any {@code [t - window, t]}, t an event's timestamp. */
  private static long maxDistinctTimestampsInAnyWindow(List<FeatureEvent> events, long windowMillis) {
    long[] distinct =
        events.stream().mapToLong(FeatureEvent::timestamp).distinct().sorted().toArray();
    long most = 0;
    int start = 0;
    for (int end = 0; end < distinct.length; end++) {
      while (distinct[start] < distinct[end] - windowMillis) {
        start++;
      }
      most = Math.max(most, end - start + 1);
    }
    return most;
  }

  private static <T> List<List<T>> chunks(List<T> items, int size) {
    List<List<T>> chunks = new ArrayList<>();
    for (int i = 0; i < items.size(); i += size) {
      chunks.add(items.subList(i, Math.min(items.size(), i + size)));
    }
    return chunks;
  }

  /** Per entity, the row a sink keeps: the greatest time, then the greatest longest-window count. */
  private static PCollection<EntityPartials> latestRowPerEntity(PCollection<EntityPartials> rows) {
    return rows.apply(
            "KeyRowsByEntity",
            MapElements.into(
                    TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptor.of(EntityPartials.class)))
                .via((EntityPartials row) -> KV.of(row.entity(), row)))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), EntityPartials.Coder.of()))
        // Rows stay in the global window; on a stream, combine them once, at the end of the input.
        .apply(
            "FireAtEndOfInput",
            Window.<KV<String, EntityPartials>>into(new GlobalWindows())
                .triggering(AfterWatermark.pastEndOfWindow())
                .withAllowedLateness(Duration.ZERO)
                .discardingFiredPanes())
        .apply("KeepLatestRow", Combine.perKey(new LatestRow()))
        .apply("DropKeys", Values.create());
  }

  static final class LatestRow implements SerializableFunction<Iterable<EntityPartials>, EntityPartials> {
    @Override
    public EntityPartials apply(Iterable<EntityPartials> rows) {
      EntityPartials latest = null;
      for (EntityPartials row : rows) {
        if (latest == null || isLater(row, latest)) {
          latest = row;
        }
      }
      return latest;
    }

    private static boolean isLater(EntityPartials row, EntityPartials than) {
      if (row.time() != than.time()) {
        return row.time() > than.time();
      }
      Partial[] partials = row.partials();
      Partial[] thanPartials = than.partials();
      return partials[partials.length - 1].count() > thanPartials[thanPartials.length - 1].count();
    }
  }

  private static long counter(PipelineResult result, String name) {
    return PipelineCounters.value(result, RollingAggregate.STAGE, name);
  }

  private static long maxTimestampsHeld(PipelineResult result) {
    long max = 0;
    for (MetricResult<DistributionResult> distribution :
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder()
                    .addNameFilter(MetricNameFilter.named(RollingAggregate.STAGE, RollingAggregate.TIMESTAMPS_HELD))
                    .build())
            .getDistributions()) {
      DistributionResult value = distribution.hasCommitted() ? distribution.getCommitted() : distribution.getAttempted();
      max = Math.max(max, value.getMax());
    }
    return max;
  }
}
