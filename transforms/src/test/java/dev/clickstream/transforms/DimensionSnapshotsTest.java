package dev.clickstream.transforms;

import static dev.clickstream.features.DimensionDefinitions.ITEMS;
import static dev.clickstream.features.DimensionDefinitions.USERS;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.DimensionSnapshot;
import dev.clickstream.store.StoreUnavailableException;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link DimensionSnapshots}: one snapshot in the global window, or one per refresh window through the real {@code
 * PeriodicImpulse}; load metrics; transient failures retried, others and exhausted budgets failing the pipeline
 * rather than producing an empty table; settings; the snapshot coder.
 */
@ExtendWith(TestPipelineExtension.class)
class DimensionSnapshotsTest {
  /** 2024-03-01T12:00:00Z: long past, so every refresh fires at once. */
  private static final Instant T0 = new Instant(1_709_294_400_000L);

  private static final Duration INTERVAL = Duration.standardMinutes(10);
  private static final long LOAD_DELAY_MS = 1_000;

  /** Items as they were at each refresh: two rows each time, so the rows gauge does not depend on order. */
  private static final List<Map<String, List<Object>>> ITEM_VERSIONS =
      List.of(
          rows("i1", Arrays.asList("shoes", "spring", 49.95), "i2", Arrays.asList("hats", "none", null)),
          rows("i1", Arrays.asList("boots", "spring", 59.95), "i2", Arrays.asList("hats", "none", null)),
          rows("i1", Arrays.asList("boots", "summer", 39.95), "i3", Arrays.asList("bags", "none", 5.0)));

  private static final DimensionSnapshot ONCE = DimensionSnapshot.of(ITEMS, T0.getMillis(), ITEM_VERSIONS.get(0));

  /** Attempts of the failing sources below; a test resets the one it uses. */
  private static final AtomicInteger ATTEMPTS = new AtomicInteger();

  // ---------------------------------------------------------------------------------------------------------------
  // Loaded once

  @Test
  void loadedOnceEmitsTheSourcesSnapshotInTheGlobalWindowAndCountsTheLoad(TestPipeline pipeline) {
    // Stamped with the impulse time it is given: the processing time of the load.
    SnapshotSource source = impulseTime -> DimensionSnapshot.of(ITEMS, impulseTime.getMillis(), ITEM_VERSIONS.get(0));

    PCollection<DimensionSnapshot> snapshots =
        pipeline.apply(DimensionSnapshots.loadedOnce(source).withClock(() -> T0.getMillis()));

    PAssert.that(snapshots).inWindow(GlobalWindow.INSTANCE).containsInAnyOrder(ONCE);
    assertThat(snapshots.getWindowingStrategy().getWindowFn(), equalTo(new GlobalWindows()));
    assertThat(snapshots.getCoder(), equalTo(DimensionSnapshotCoder.of()));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, "DimensionSnapshots", "items_loads"), is(1L));
    assertThat(PipelineCounters.value(result, "DimensionSnapshots", "load_retries"), is(0L));
    assertThat(PipelineMetrics.gauges(result, "DimensionSnapshots", "items_rows"), is(List.of(2L)));
    assertThat(PipelineMetrics.distribution(result, "DimensionSnapshots", "items_load_ms").get(0), is(1L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Refreshed

  @Test
  void refreshedEveryLoadsOncePerIntervalUpToTheStopEachInItsOwnWindow(TestPipeline pipeline) {
    PCollection<DimensionSnapshot> snapshots =
        pipeline.apply(
            DimensionSnapshots.refreshedEvery(new VersionedItems(), INTERVAL)
                .startingAt(T0)
                .stoppingAt(T0.plus(INTERVAL.multipliedBy(2))));

    for (int version = 0; version < 3; version++) {
      Instant refresh = T0.plus(INTERVAL.multipliedBy(version));
      PAssert.that(snapshots)
          .inWindow(new IntervalWindow(refresh, INTERVAL))
          .containsInAnyOrder(versionAt(refresh));
    }
    assertThat(snapshots.getWindowingStrategy().getWindowFn(), equalTo(FixedWindows.of(INTERVAL)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, "DimensionSnapshots", "items_loads"), is(3L));
    assertThat(PipelineMetrics.gauges(result, "DimensionSnapshots", "items_rows"), is(List.of(2L)));
    assertThat(PipelineMetrics.distribution(result, "DimensionSnapshots", "items_load_ms").get(0), is(3L));
  }

  @Test
  void theFirstWindowStartsAtTheStartRoundedDownToTheInterval() {
    SnapshotSource source = new VersionedItems();
    Instant unaligned = T0.plus(Duration.standardMinutes(3));
    Instant beforeEpoch = new Instant(-1);

    assertThat(refreshedFrom(source, unaligned).firstWindowStart(), is(T0));
    assertThat(refreshedFrom(source, T0).firstWindowStart(), is(T0));
    assertThat(refreshedFrom(source, beforeEpoch).firstWindowStart(), is(new Instant(-INTERVAL.getMillis())));
    assertThat(refreshedFrom(source, unaligned).toString(),
        is("refreshed every PT600S from 2024-03-01T12:03:00.000Z"));
    assertThat(DimensionSnapshots.loadedOnce(source).schedule().toString(), is("loaded once"));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Failures

  @Test
  void aLoadThatFailsTransientlyIsRetriedUntilItSucceeds(TestPipeline pipeline) {
    ATTEMPTS.set(0);
    PCollection<DimensionSnapshot> snapshots =
        pipeline.apply(
            DimensionSnapshots.loadedOnce(new UnreachableTwice()).withRetryBudget(Duration.standardSeconds(30)));

    PAssert.that(snapshots).containsInAnyOrder(ONCE);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(ATTEMPTS.get(), is(3));
    assertThat(PipelineCounters.value(result, "DimensionSnapshots", "load_retries"), is(2L));
    assertThat(PipelineCounters.value(result, "DimensionSnapshots", "items_loads"), is(1L));
    // Retries included: 200 ms, then 400 ms of backoff.
    assertThat(PipelineMetrics.distribution(result, "DimensionSnapshots", "items_load_ms").get(2),
        greaterThanOrEqualTo(600L));
  }

  @Test
  void aLoadThatStaysUnreachableBeyondTheBudgetFailsThePipeline(TestPipeline pipeline) {
    ATTEMPTS.set(0);
    pipeline.apply(DimensionSnapshots.loadedOnce(new AlwaysUnreachable()).withRetryBudget(Duration.millis(300)));

    RuntimeException e = assertThrows(RuntimeException.class, pipeline::run);

    // Attempts at about 0, 200 and 300 ms: the last wait is cut short so the last attempt starts at the budget.
    assertThat(cause(e, StoreUnavailableException.class).getMessage(),
        matchesPattern(Pattern.quote("giving up on loading a snapshot from always-unreachable for the refresh at ")
            + "\\S+" + Pattern.quote(" after 3 attempts over ") + "0\\.\\d s"
            + Pattern.quote(", beyond the retry budget of 0.3 s; the runner will retry the bundle or fail the"
                + " pipeline. Last error: SQLException [SQLState 08001]: Connection refused")));
    assertThat(ATTEMPTS.get(), is(3));
  }

  @Test
  void aLoadThatFailsForAnyOtherReasonFailsThePipelineAtOnce(TestPipeline pipeline) {
    ATTEMPTS.set(0);
    pipeline.apply(DimensionSnapshots.loadedOnce(new MalformedFile()));

    RuntimeException e = assertThrows(RuntimeException.class, pipeline::run);

    assertThat(cause(e, IllegalArgumentException.class).getMessage(),
        is("dimension file /dimensions/items.jsonl, line 7: missing key item_id"));
    assertThat(ATTEMPTS.get(), is(1));
  }

  @Test
  void aSourceThatReturnsNoLoadedSnapshotFailsThePipeline(TestPipeline pipeline) {
    pipeline.apply(DimensionSnapshots.loadedOnce(new NeverLoaded()));

    RuntimeException e = assertThrows(RuntimeException.class, pipeline::run);

    assertThat(cause(e, IllegalStateException.class).getMessage(),
        matchesPattern(Pattern.quote("never-loaded returned DimensionSnapshot(items, never loaded) for the refresh at ")
            + "\\S+" + Pattern.quote(": a source returns a loaded snapshot (DimensionSnapshot.of, with no rows for an"
                + " empty table) or throws")));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Settings

  @Test
  void settingsAreCheckedAndNameWhatIsWrong() {
    SnapshotSource source = new VersionedItems();
    DimensionSnapshots refreshed = DimensionSnapshots.refreshedEvery(source, INTERVAL);

    assertRejected(IllegalArgumentException.class, () -> DimensionSnapshots.refreshedEvery(source, Duration.ZERO),
        "interval must be a positive duration, got PT0S");
    assertRejected(IllegalArgumentException.class, () -> DimensionSnapshots.refreshedEvery(source, null),
        "interval must be a positive duration, got null");
    assertRejected(IllegalArgumentException.class, () -> refreshed.startingAt(null),
        "start must be an instant, got null");
    assertRejected(IllegalArgumentException.class, () -> refreshed.stoppingAt(null),
        "stop must be an instant, got null");
    assertRejected(IllegalArgumentException.class, () -> refreshed.withRetryBudget(Duration.millis(-1)),
        "retryBudget must be a positive duration, got PT-0.001S");
    assertRejected(IllegalStateException.class, () -> DimensionSnapshots.loadedOnce(source).startingAt(T0),
        "startingAt(...) applies to refreshedEvery(...) snapshots; loadedOnce(...) loads once when the pipeline"
            + " starts");
    assertRejected(IllegalStateException.class, () -> DimensionSnapshots.loadedOnce(source).stoppingAt(T0),
        "stoppingAt(...) applies to refreshedEvery(...) snapshots; loadedOnce(...) loads once when the pipeline"
            + " starts");
    assertThat(refreshed.retryBudget(), is(Duration.standardMinutes(5)));
    assertThat(refreshed.withRetryBudget(Duration.standardSeconds(3)).retryBudget(), is(Duration.standardSeconds(3)));
  }

  @Test
  void aRefreshNeedsAStartAndAStopNotBeforeIt() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    SnapshotSource source = new VersionedItems();

    assertRejected(IllegalStateException.class,
        () -> pipeline.apply("NoStart", DimensionSnapshots.refreshedEvery(source, INTERVAL)),
        "refreshedEvery(..., PT600S) needs startingAt(start): EnrichWithDimensions routes events before the first"
            + " refresh around the side input, so the start must be known when the graph is built");
    assertRejected(IllegalStateException.class,
        () -> pipeline.apply("StopBeforeStart",
            DimensionSnapshots.refreshedEvery(source, INTERVAL).stoppingAt(T0.minus(1)).startingAt(T0)),
        "stoppingAt(2024-03-01T11:59:59.999Z) is before startingAt(2024-03-01T12:00:00.000Z): the last refresh must"
            + " not come before the first");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Coder

  @Test
  void theCoderRoundTripsSnapshotsWithNullsAndUnloadedOnesAndIsDeterministic() throws Exception {
    DimensionSnapshot users =
        DimensionSnapshot.of(USERS, -7, rows("u1", Arrays.asList("de", "premium", Long.MIN_VALUE),
            "u2", Arrays.asList("", "\u00fc", null)));
    Map<String, List<Object>> reversed = new LinkedHashMap<>();
    reversed.put("i2", ITEM_VERSIONS.get(0).get("i2"));
    reversed.put("i1", ITEM_VERSIONS.get(0).get("i1"));

    for (DimensionSnapshot snapshot :
        List.of(ONCE, users, DimensionSnapshot.empty(USERS), DimensionSnapshot.of(ITEMS, 0, Map.of()))) {
      CoderProperties.coderDecodeEncodeEqual(DimensionSnapshotCoder.of(), snapshot);
    }
    CoderProperties.coderDeterministic(
        DimensionSnapshotCoder.of(), ONCE, DimensionSnapshot.of(ITEMS, T0.getMillis(), reversed));
    CoderProperties.coderSerializable(DimensionSnapshotCoder.of());
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Fixtures: static, so that the test class is not serialized.

  /** The version of the items at {@code refresh}, loaded {@link #LOAD_DELAY_MS} after it. */
  static DimensionSnapshot versionAt(Instant refresh) {
    int version = (int) Math.min(2, new Duration(T0, refresh).getMillis() / INTERVAL.getMillis());
    return DimensionSnapshot.of(ITEMS, refresh.getMillis() + LOAD_DELAY_MS, ITEM_VERSIONS.get(version));
  }

  /** The items as they were at each refresh. */
  static final class VersionedItems implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant impulseTime) {
      return versionAt(impulseTime);
    }
  }

  /** A database down for the first two attempts: a connection failure, as pgjdbc reports it. */
  static final class UnreachableTwice implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant impulseTime) {
      if (ATTEMPTS.incrementAndGet() <= 2) {
        throw connectionRefused();
      }
      return ONCE;
    }
  }

  static final class AlwaysUnreachable implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant impulseTime) {
      ATTEMPTS.incrementAndGet();
      throw connectionRefused();
    }

    @Override
    public String toString() {
      return "always-unreachable";
    }
  }

  static final class MalformedFile implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant impulseTime) {
      ATTEMPTS.incrementAndGet();
      throw new IllegalArgumentException("dimension file /dimensions/items.jsonl, line 7: missing key item_id");
    }
  }

  static final class NeverLoaded implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant impulseTime) {
      return DimensionSnapshot.empty(ITEMS);
    }

    @Override
    public String toString() {
      return "never-loaded";
    }
  }

  private static StoreUnavailableException connectionRefused() {
    return new StoreUnavailableException(
        "cannot load dimension items", new SQLException("Connection refused", "08001"));
  }

  private static DimensionSnapshots.Schedule refreshedFrom(SnapshotSource source, Instant start) {
    return DimensionSnapshots.refreshedEvery(source, INTERVAL).startingAt(start).schedule();
  }

  private static <T extends Throwable> T cause(Throwable e, Class<T> type) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (type.isInstance(cause)) {
        return type.cast(cause);
      }
    }
    throw new AssertionError("no " + type.getSimpleName() + " in " + e, e);
  }

  private static <T extends Throwable> void assertRejected(
      Class<T> type, org.junit.jupiter.api.function.Executable executable, String message) {
    assertThat(assertThrows(type, executable).getMessage(), is(message));
  }

  static Map<String, List<Object>> rows(Object... keysAndValues) {
    Map<String, List<Object>> rows = new HashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      @SuppressWarnings("unchecked")
      List<Object> values = (List<Object>) keysAndValues[i + 1];
      rows.put((String) keysAndValues[i], values);
    }
    return rows;
  }
}
