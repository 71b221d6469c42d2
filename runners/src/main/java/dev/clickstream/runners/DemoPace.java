package dev.clickstream.runners;

import dev.clickstream.features.FeatureTable;
import dev.clickstream.store.OnlineStore;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Whether the demo's job kept up with its producer, against the two bars of keeping up: its first live rows are
 * servable within {@link #FIRST_ROWS_TARGET} of the first event, and the job ends within {@link #END_TARGET} of the
 * last event produced. Times are taken on one monotonic clock; the first rows are watched for on a thread of their
 * own, polling the store every {@link #POLL}.
 */
final class DemoPace {
  static final Duration FIRST_ROWS_TARGET = Duration.ofSeconds(2);
  static final Duration END_TARGET = Duration.ofSeconds(5);
  static final Duration POLL = Duration.ofMillis(50);

  private final LongSupplier nanoClock;
  private long producingStarted = -1;
  private volatile long firstRowsSeen = -1;
  private long producerEnded = -1;
  private long jobEnded = -1;
  private Thread watcher;

  DemoPace(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  /** Marks the first event's send and watches {@code table} of {@code store} for its first row. */
  void producingStarts(OnlineStore store, FeatureTable table) {
    String timeColumn = table.replaceRule().timeColumn();
    producingStarts(() -> store.newest(table, timeColumn).isPresent());
  }

  /** Marks the first event's send and polls {@code hasRows} until it answers true. */
  void producingStarts(BooleanSupplier hasRows) {
    producingStarted = nanoClock.getAsLong();
    watcher = new Thread(() -> watch(hasRows), "demo-first-rows");
    watcher.setDaemon(true);
    watcher.start();
  }

  private void watch(BooleanSupplier hasRows) {
    while (!Thread.currentThread().isInterrupted()) {
      try {
        if (hasRows.getAsBoolean()) {
          firstRowsSeen = nanoClock.getAsLong();
          return;
        }
      } catch (RuntimeException e) {
        // The store may not have created the table yet; it is asked again at the next poll.
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** Whether the first rows have been seen (and their time taken). */
  boolean hasSeenFirstRows() {
    return firstRowsSeen >= 0;
  }

  void producerEnded() {
    producerEnded = nanoClock.getAsLong();
  }

  /** Marks the job's end and stops watching; call it once the job has ended, whatever its outcome. */
  void jobEnded() {
    jobEnded = nanoClock.getAsLong();
    if (watcher != null) {
      watcher.interrupt();
    }
  }

  /** The verdict, one line per bar, with the figures: what a newcomer reads to see whether the job kept up. */
  void print(String tableName, PrintStream out) {
    out.println(verdict(tableName, firstRowsSeen < 0 ? null : nanosToDuration(firstRowsSeen - producingStarted),
        nanosToDuration(jobEnded - producerEnded)));
  }

  /** The verdict for a job whose first rows came {@code firstRows} after the first event (null: never seen). */
  static String verdict(String tableName, Duration firstRows, Duration endAfterProducer) {
    String first = firstRows == null
        ? String.format(Locale.ROOT, "no %s row was seen while the job ran: behind (target %s)", tableName,
            seconds(FIRST_ROWS_TARGET))
        : String.format(Locale.ROOT, "the first %s rows were servable %s after the first event: %s (target %s)",
            tableName, seconds(firstRows), firstRows.compareTo(FIRST_ROWS_TARGET) <= 0 ? "kept up" : "behind",
            seconds(FIRST_ROWS_TARGET));
    String end = String.format(Locale.ROOT,
        "the job ended %s after the last event was produced, every window closed and written: %s (target %s)",
        seconds(endAfterProducer), endAfterProducer.compareTo(END_TARGET) <= 0 ? "kept up" : "behind",
        seconds(END_TARGET));
    boolean keptUp = firstRows != null && firstRows.compareTo(FIRST_ROWS_TARGET) <= 0
        && endAfterProducer.compareTo(END_TARGET) <= 0;
    return "Pace: " + first + ";\n      " + end + "."
        + (keptUp ? "" : "\n      A busy machine slows the job: see docs/benchmarks.md (the demo) for its figures,"
            + " or lower --rate.");
  }

  private static Duration nanosToDuration(long nanos) {
    return Duration.ofNanos(Math.max(0, nanos));
  }

  private static String seconds(Duration duration) {
    return String.format(Locale.ROOT, "%.1f s", duration.toMillis() / 1000.0);
  }
}
