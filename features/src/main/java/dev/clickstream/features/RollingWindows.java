package dev.clickstream.features;

import java.util.List;
import java.util.Map;
import java.util.NavigableMap;

/** Evaluates the windows of a {@link WindowedAggregation} over partials held in memory, one per timestamp. */
public final class RollingWindows {
  private RollingWindows() {}

  /**
   * One merged partial per window (in {@code windows} order, shortest first) over the entries of {@code
   * byTimestamp} with a timestamp in {@code [asOf - window, asOf]}. Reads each entry once.
   */
  public static Partial[] aggregate(
      List<FeatureWindow> windows, NavigableMap<Long, Partial> byTimestamp, long asOf) {
    Partial[] result = new Partial[windows.size()];
    Partial running = new Partial();
    FeatureWindow longest = windows.get(windows.size() - 1);
    int next = 0;
    // Newest first: each window is the running merge once the next entry falls before its start.
    for (Map.Entry<Long, Partial> entry :
        byTimestamp.headMap(asOf, true).tailMap(longest.startAsOf(asOf), true).descendingMap().entrySet()) {
      while (next < windows.size() && entry.getKey() < windows.get(next).startAsOf(asOf)) {
        result[next++] = running.copy();
      }
      running.merge(entry.getValue());
    }
    while (next < windows.size()) {
      result[next++] = running.copy();
    }
    return result;
  }
}
