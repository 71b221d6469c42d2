package dev.clickstream.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongUnaryOperator;

/**
 * When the rows of one table showed up in the store, per value of its time column (a window's end, a session's end):
 * fed with the row counts per time of successive polls, it counts each new row once, at the first poll that saw it.
 * A row that a later window replaced before any poll saw it is not counted; a count that falls (the next window
 * replaced rows) counts nothing.
 */
final class RowArrivals {
  /** The most rows seen per time. */
  private final Map<Long, Long> seen = new HashMap<>();
  /** {time, poll nanos, new rows} per poll that saw new rows. */
  private final List<long[]> arrivals = new ArrayList<>();

  /** The rows per time one poll saw, the poll having started at {@code pollNanos}. */
  synchronized void observe(long pollNanos, Map<Long, Long> rowsPerTime) {
    rowsPerTime.forEach((time, rows) -> {
      long before = seen.getOrDefault(time, 0L);
      if (rows > before) {
        seen.put(time, rows);
        arrivals.add(new long[] {time, pollNanos, rows - before});
      }
    });
  }

  /** The latencies of the rows whose time came due within [{@code fromNanos}, {@code toNanos}], and their times. */
  synchronized Latencies latencies(LongUnaryOperator dueNanosOfTime, long fromNanos, long toNanos) {
    List<Long> values = new ArrayList<>();
    Set<Long> times = new HashSet<>();
    for (long[] arrival : arrivals) {
      long due = dueNanosOfTime.applyAsLong(arrival[0]);
      if (due >= fromNanos && due <= toNanos) {
        times.add(arrival[0]);
        for (long row = 0; row < arrival[2]; row++) {
          values.add(arrival[1] - due);
        }
      }
    }
    long[] sorted = values.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(sorted);
    return new Latencies(sorted, times.size());
  }

  /** Sorted latencies in nanoseconds, one per row, and how many distinct times (windows, sessions) they cover. */
  record Latencies(long[] sortedNanos, int times) {}
}
