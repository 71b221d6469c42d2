package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.DimensionSnapshot;
import dev.clickstream.store.StoreUnavailableException;
import java.util.Locale;
import java.util.Objects;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.PeriodicImpulse;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots of one dimension table from a {@link SnapshotSource}, as a side input for {@link
 * EnrichWithDimensions}: loaded once, or refreshed on a fixed schedule (the windowed {@code PeriodicImpulse}
 * pattern for slowly changing side inputs).
 *
 * <pre>{@code
 * Instant start = Instant.now();
 * PCollection<DimensionSnapshot> users =
 *     pipeline.apply("LoadUsers",
 *         DimensionSnapshots.refreshedEvery(SnapshotSource.jdbc(url, DimensionDefinitions.USERS), FIVE_MINUTES)
 *             .startingAt(start));
 * }</pre>
 *
 * <p><b>Loaded once</b> ({@link #loadedOnce}): one snapshot, read when the pipeline starts, in the global window.
 * The output is bounded, so a bounded pipeline ends; an unbounded one uses that snapshot for as long as it runs.
 *
 * <p><b>Refreshed</b> ({@link #refreshedEvery}): {@code PeriodicImpulse} fires at {@code start}, {@code start +
 * interval}, ... up to and including {@code stop}, and each firing loads the table as it is then. The impulses are
 * windowed into {@code FixedWindows.of(interval)}, which are aligned to the epoch, not to {@code start}: each window
 * holds the one firing that falls into it and its snapshot, timestamped at the firing. A window's snapshot becomes
 * available to a side input when the impulses' watermark passes the window's end, which is when the next firing
 * happens: main-input elements of a window wait in the runner until then (up to one interval). Firings before the
 * current time happen at once, each loading the table as it is now, so choose a start near the pipeline's start:
 * a start a month ago with a five-minute interval loads the table 8,640 times at startup. Without {@link
 * #stoppingAt} the impulses never end and neither does the pipeline; with it, the output ends after the last
 * firing (for tests and backfills).
 *
 * <p><b>Failures.</b> A load never turns into an empty snapshot. A failure that says the database is unreachable
 * or the connection broke (as {@link WriteToOnlineStore} tells them apart: SQLState class 08, a transient or
 * recoverable SQLException, a server shutting down) is retried in place, after 200 ms doubling to at most 5 s,
 * until the retry budget ({@link #withRetryBudget}, {@link #DEFAULT_RETRY_BUDGET} by default) has passed since the
 * first failed attempt; then, and at once for any other failure (a missing table, a malformed file), the load
 * throws and fails its bundle. The runner retries the bundle (Flink from its last checkpoint) or fails the
 * pipeline (the Direct runner, Flink without checkpointing). Meanwhile the side input of the affected window has
 * no snapshot, so its main-input elements wait rather than get defaults.
 *
 * <p><b>Metrics</b>, in the namespace {@code DimensionSnapshots}, named after the dimension of the loaded snapshot:
 * counter {@code <dimension>_loads} (successful loads), gauge {@code <dimension>_rows} (rows of the latest load) and
 * distribution {@code <dimension>_load_ms} (from the first attempt of a load to its success, retries included); and
 * counter {@code load_retries} (failed attempts that were retried; per step, since a failing load has no dimension
 * yet).
 *
 * <p>{@link EnrichWithDimensions} takes this transform itself, not its output, and applies it: it needs the schedule
 * when the graph is built, to route events before the first refresh around the side input.
 */
public final class DimensionSnapshots extends PTransform<PBegin, PCollection<DimensionSnapshot>> {
  /** How long a load keeps retrying failures that say the database is unreachable, from its first failure. */
  public static final Duration DEFAULT_RETRY_BUDGET = Duration.standardMinutes(5);

  static final Duration FIRST_BACKOFF = Duration.millis(200);
  static final Duration MAX_BACKOFF = Duration.standardSeconds(5);

  static final String NAMESPACE = "DimensionSnapshots";
  static final String LOADS = "_loads";
  static final String ROWS = "_rows";
  static final String LOAD_MS = "_load_ms";
  static final String LOAD_RETRIES = "load_retries";

  private final SnapshotSource source;
  private final Schedule schedule;
  private final Instant stop;
  private final Duration retryBudget;
  private final ProcessingClock clock;

  private DimensionSnapshots(
      SnapshotSource source, Schedule schedule, Instant stop, Duration retryBudget, ProcessingClock clock) {
    this.source = source;
    this.schedule = schedule;
    this.stop = stop;
    this.retryBudget = retryBudget;
    this.clock = clock;
  }

  /** One snapshot, loaded when the pipeline starts, in the global window. */
  public static DimensionSnapshots loadedOnce(SnapshotSource source) {
    return new DimensionSnapshots(
        requireNonNull(source, "source"), Schedule.ONCE, null, DEFAULT_RETRY_BUDGET, ProcessingClock.SYSTEM);
  }

  /** A snapshot every {@code interval}, from {@link #startingAt} on; see the class documentation. */
  public static DimensionSnapshots refreshedEvery(SnapshotSource source, Duration interval) {
    if (interval == null || !interval.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("interval must be a positive duration, got " + interval);
    }
    return new DimensionSnapshots(
        requireNonNull(source, "source"),
        new Schedule(interval, null),
        null,
        DEFAULT_RETRY_BUDGET,
        ProcessingClock.SYSTEM);
  }

  /**
   * The first refresh; required for {@link #refreshedEvery}. Snapshots that enrich the same events must start at
   * the same instant (and have the same interval), so compute it once, for example {@code Instant.now()} when the
   * pipeline is built.
   */
  public DimensionSnapshots startingAt(Instant start) {
    requireRefreshed("startingAt");
    if (start == null) {
      throw new IllegalArgumentException("start must be an instant, got null");
    }
    return new DimensionSnapshots(source, new Schedule(schedule.interval(), start), stop, retryBudget, clock);
  }

  /** The last refresh (inclusive): the output ends after it. Without it, the refreshes never end. */
  public DimensionSnapshots stoppingAt(Instant stop) {
    requireRefreshed("stoppingAt");
    if (stop == null) {
      throw new IllegalArgumentException("stop must be an instant, got null");
    }
    return new DimensionSnapshots(source, schedule, stop, retryBudget, clock);
  }

  /**
   * How long a load keeps retrying failures that say the database is unreachable, counted from its first failure
   * ({@link #DEFAULT_RETRY_BUDGET} unless set): the longest outage a load rides out before it fails its bundle.
   */
  public DimensionSnapshots withRetryBudget(Duration budget) {
    if (budget == null || !budget.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("retryBudget must be a positive duration, got " + budget);
    }
    return new DimensionSnapshots(source, schedule, stop, budget, clock);
  }

  /** The clock that gives {@link #loadedOnce}'s impulse time, for tests. */
  DimensionSnapshots withClock(ProcessingClock clock) {
    return new DimensionSnapshots(source, schedule, stop, retryBudget, requireNonNull(clock, "clock"));
  }

  Schedule schedule() {
    return schedule;
  }

  Duration retryBudget() {
    return retryBudget;
  }

  @Override
  public PCollection<DimensionSnapshot> expand(PBegin begin) {
    PCollection<DimensionSnapshot> snapshots;
    long budgetMillis = retryBudget.getMillis();
    if (schedule.isOnce()) {
      snapshots =
          begin
              .apply("Impulse", Impulse.create())
              .apply("LoadSnapshot", ParDo.of(new LoadOnceFn(source, budgetMillis, clock)));
    } else {
      if (schedule.start() == null) {
        throw new IllegalStateException(
            "refreshedEvery(..., " + schedule.interval() + ") needs startingAt(start): EnrichWithDimensions routes"
                + " events before the first refresh around the side input, so the start must be known when the"
                + " graph is built");
      }
      PeriodicImpulse impulses =
          PeriodicImpulse.create().startAt(schedule.start()).withInterval(schedule.interval()).applyWindowing();
      if (stop != null) {
        if (stop.isBefore(schedule.start())) {
          throw new IllegalStateException(
              "stoppingAt(" + stop + ") is before startingAt(" + schedule.start() + "): the last refresh must not"
                  + " come before the first");
        }
        impulses = impulses.stopAt(stop);
      }
      snapshots =
          begin
              .apply("RefreshImpulses", impulses)
              .apply("LoadSnapshot", ParDo.of(new LoadOnRefreshFn(source, budgetMillis)));
    }
    return snapshots.setCoder(DimensionSnapshotCoder.of());
  }

  private void requireRefreshed(String setting) {
    if (schedule.isOnce()) {
      throw new IllegalStateException(
          setting + "(...) applies to refreshedEvery(...) snapshots; loadedOnce(...) loads once when the pipeline"
              + " starts");
    }
  }

  /**
   * When snapshots are loaded: once (in the global window), or every {@code interval} from {@code start} (in
   * {@code FixedWindows.of(interval)}). Two collections with equal schedules have a snapshot in the same windows.
   */
  static final class Schedule {
    static final Schedule ONCE = new Schedule(null, null);

    private final Duration interval;
    private final Instant start;

    private Schedule(Duration interval, Instant start) {
      this.interval = interval;
      this.start = start;
    }

    boolean isOnce() {
      return interval == null;
    }

    Duration interval() {
      return interval;
    }

    Instant start() {
      return start;
    }

    /** The windows the snapshots and the main input are in; only for a refreshed schedule. */
    FixedWindows windowFn() {
      return FixedWindows.of(interval);
    }

    /**
     * The start of the window of the first refresh: main-input elements before it have no snapshot, ever. The
     * windows are aligned to the epoch, so this is {@code start} rounded down to a multiple of the interval.
     */
    Instant firstWindowStart() {
      return new Instant(start.getMillis() - Math.floorMod(start.getMillis(), interval.getMillis()));
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Schedule)) {
        return false;
      }
      Schedule other = (Schedule) o;
      return Objects.equals(interval, other.interval) && Objects.equals(start, other.start);
    }

    @Override
    public int hashCode() {
      return Objects.hash(interval, start);
    }

    @Override
    public String toString() {
      return isOnce() ? "loaded once" : "refreshed every " + interval + " from " + start;
    }
  }

  /** Loads a snapshot with the retries the class documentation describes, and counts it. */
  private static final class Loader {
    private static final Logger LOG = LoggerFactory.getLogger(DimensionSnapshots.class);

    private Loader() {}

    static DimensionSnapshot load(
        SnapshotSource source, Instant impulseTime, long retryBudgetMillis, Counter retries)
        throws InterruptedException {
      long firstAttemptNanos = System.nanoTime();
      long backoffMillis = FIRST_BACKOFF.getMillis();
      int attempts = 0;
      while (true) {
        attempts++;
        DimensionSnapshot snapshot;
        try {
          snapshot = source.load(impulseTime);
        } catch (RuntimeException e) {
          long failedMillis = millisSince(firstAttemptNanos);
          if (!WriteToOnlineStore.isTransient(e)) {
            throw e;
          }
          if (failedMillis >= retryBudgetMillis) {
            throw new StoreUnavailableException(
                "giving up on loading a snapshot from " + source + " for the refresh at " + impulseTime + " after "
                    + attempts + (attempts == 1 ? " attempt" : " attempts") + " over " + seconds(failedMillis)
                    + ", beyond the retry budget of " + seconds(retryBudgetMillis) + "; the runner will retry the"
                    + " bundle or fail the pipeline. Last error: " + WriteToOnlineStore.describe(e),
                e);
          }
          backoffMillis = Math.min(backoffMillis, retryBudgetMillis - failedMillis);
          LOG.warn("loading a snapshot from {} for the refresh at {} failed (attempt {}), retrying in {} ms: {}",
              source, impulseTime, attempts, backoffMillis, WriteToOnlineStore.describe(e));
          retries.inc();
          Thread.sleep(backoffMillis);
          backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF.getMillis());
          continue;
        }
        if (snapshot == null || !snapshot.isLoaded()) {
          throw new IllegalStateException(
              source + " returned " + snapshot + " for the refresh at " + impulseTime + ": a source returns a loaded"
                  + " snapshot (DimensionSnapshot.of, with no rows for an empty table) or throws");
        }
        String dimension = snapshot.dimension().name();
        Metrics.counter(NAMESPACE, dimension + LOADS).inc();
        Metrics.gauge(NAMESPACE, dimension + ROWS).set(snapshot.rowCount());
        Metrics.distribution(NAMESPACE, dimension + LOAD_MS).update(millisSince(firstAttemptNanos));
        return snapshot;
      }
    }

    private static long millisSince(long nanos) {
      return (System.nanoTime() - nanos) / 1_000_000;
    }

    private static String seconds(long millis) {
      return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }
  }

  /** Loads the one snapshot of {@link #loadedOnce}, stamping the load with the processing time as impulse time. */
  static final class LoadOnceFn extends DoFn<byte[], DimensionSnapshot> {
    private final SnapshotSource source;
    private final long retryBudgetMillis;
    private final ProcessingClock clock;
    private final Counter retries = Metrics.counter(NAMESPACE, LOAD_RETRIES);

    LoadOnceFn(SnapshotSource source, long retryBudgetMillis, ProcessingClock clock) {
      this.source = source;
      this.retryBudgetMillis = retryBudgetMillis;
      this.clock = clock;
    }

    @ProcessElement
    public void processElement(OutputReceiver<DimensionSnapshot> out) throws InterruptedException {
      out.output(Loader.load(source, new Instant(clock.nowMillis()), retryBudgetMillis, retries));
    }
  }

  /** Loads one snapshot per refresh impulse; the output keeps the impulse's timestamp and window. */
  static final class LoadOnRefreshFn extends DoFn<Instant, DimensionSnapshot> {
    private final SnapshotSource source;
    private final long retryBudgetMillis;
    private final Counter retries = Metrics.counter(NAMESPACE, LOAD_RETRIES);

    LoadOnRefreshFn(SnapshotSource source, long retryBudgetMillis) {
      this.source = source;
      this.retryBudgetMillis = retryBudgetMillis;
    }

    @ProcessElement
    public void processElement(@Element Instant impulseTime, OutputReceiver<DimensionSnapshot> out)
        throws InterruptedException {
      out.output(Loader.load(source, impulseTime, retryBudgetMillis, retries));
    }
  }
}
