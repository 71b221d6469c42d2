package dev.clickstream.offline;

import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.Partial;
import dev.clickstream.features.PointInTime;
import dev.clickstream.features.ReplaceRule;
import dev.clickstream.features.RollingWindows;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.features.WindowedAggregation;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The point-in-time answers of one {@link TrainingView} for one entity: {@link #over} the entity's history rows (or
 * raw events), then {@link Answers#at} each time of the spine. Plain Java, so that the pipeline's join step and
 * anything else ask the same question the same way.
 *
 * <p>With a maximum age, a value whose row is older than that at {@code T} ({@code T − time > maxAge}, the time
 * being the row's {@link PointInTime#knownAtColumn}, or the latest event's for {@link TrainingView.Source#LATEST_EVENT})
 * is null. An on-demand view is computed at {@code T} itself, so it is never too old.
 */
public final class AsOfJoin implements Serializable {
  private static final long serialVersionUID = 1L;

  private final TrainingView view;
  private final Long maxAgeMillis;

  private AsOfJoin(TrainingView view, Long maxAgeMillis) {
    this.view = view;
    this.maxAgeMillis = maxAgeMillis;
  }

  /** Answers for {@code view}, values of any age. */
  public static AsOfJoin of(TrainingView view) {
    return new AsOfJoin(view, null);
  }

  /** Values whose row is older than {@code maxAgeMillis} at the spine's time are null. */
  public AsOfJoin withMaxAge(long maxAgeMillis) {
    if (maxAgeMillis < 0) {
      throw new IllegalArgumentException("maxAge must not be negative, got " + maxAgeMillis + " ms");
    }
    return new AsOfJoin(view, maxAgeMillis);
  }

  public TrainingView view() {
    return view;
  }

  /** The values of one entity at given times, in the order of {@link TrainingView#columns()}; null for none. */
  public interface Answers {
    Object[] at(long time);
  }

  /**
   * The entity's answers from its history rows (values in {@link TrainingView#table()} column order) for a {@link
   * TrainingView.Source#HISTORY} view, or from its raw events ({@code timestamp → partial}, filtered as the feature
   * declares) otherwise.
   */
  public Answers over(List<Object[]> historyRows, NavigableMap<Long, Partial> events) {
    switch (view.source()) {
      case HISTORY:
        return overHistory(historyRows);
      case LATEST_EVENT:
        return time -> asOfLatestEvent(events, time);
      case ON_DEMAND:
        return time -> onDemand(events, time);
      default:
        throw new IllegalStateException("no answers for views of source " + view.source());
    }
  }

  private Answers overHistory(List<Object[]> rows) {
    FeatureTable table = view.table();
    List<String> names = table.columnNames();
    int knownAt = names.indexOf(PointInTime.knownAtColumn(table));
    List<Object[]> current = view.versionsByInterval() ? latestSessions(rows, table) : latestVersions(rows, table);
    current.sort(Comparator.comparingLong(row -> (Long) row[knownAt]));
    long[] times = new long[current.size()];
    for (int i = 0; i < times.length; i++) {
      times[i] = (Long) current.get(i)[knownAt];
    }
    int[] output = outputIndexes();
    return time -> {
      int found = lastAtOrBefore(times, time);
      if (found < 0 || tooOld(time, times[found])) {
        return null;
      }
      Object[] row = current.get(found);
      Object[] values = new Object[output.length];
      for (int i = 0; i < output.length; i++) {
        values[i] = row[output[i]];
      }
      return values;
    };
  }

  private Object[] asOfLatestEvent(NavigableMap<Long, Partial> events, long time) {
    Long latest = events.floorKey(time);
    if (latest == null || tooOld(time, latest)) {
      return null;
    }
    return rollingValues(latest, RollingWindows.aggregate(view.rolling().windows(), events, latest));
  }

  private Object[] onDemand(NavigableMap<Long, Partial> events, long time) {
    WindowedAggregation rolling = view.rolling();
    Long latest = events.floorKey(time);
    boolean inWindow = latest != null && latest >= rolling.longestWindow().startAsOf(time);
    return rollingValues(inWindow ? latest : null, RollingWindows.aggregate(rolling.windows(), events, time));
  }

  /** {@code event_time} and the features, in the pre-computed table's column order. */
  private Object[] rollingValues(Long eventTime, Partial[] perWindow) {
    List<Object> values = new ArrayList<>();
    values.add(eventTime);
    values.addAll(view.rolling().features(perWindow).values());
    return values.toArray();
  }

  private boolean tooOld(long time, long rowTime) {
    return maxAgeMillis != null && time - rowTime > maxAgeMillis;
  }

  private int[] outputIndexes() {
    List<String> names = view.table().columnNames();
    return view.columns().stream().mapToInt(column -> names.indexOf(column.name())).toArray();
  }

  /** The index of the last of the sorted {@code times} at or before {@code time}, or -1. */
  static int lastAtOrBefore(long[] times, long time) {
    int found = Arrays.binarySearch(times, time);
    if (found >= 0) {
      while (found + 1 < times.length && times[found + 1] == time) {
        found++;
      }
      return found;
    }
    return -(found + 1) - 1;
  }

  /**
   * One version per row identity (the entity's value of the replace rule's time column, such as a window's start),
   * the one the online store would keep: the most progress (the rule's growing columns, such as a window's counts),
   * then the latest written. A late pane of a window therefore replaces its on-time row.
   */
  static List<Object[]> latestVersions(List<Object[]> rows, FeatureTable table) {
    List<String> names = table.columnNames();
    ReplaceRule rule = table.replaceRule();
    int identity = names.indexOf(
        rule.timeColumn() != null ? rule.timeColumn() : PointInTime.knownAtColumn(table));
    Comparator<Object[]> newer = newer(table);
    Map<Object, Object[]> kept = new HashMap<>();
    for (Object[] row : rows) {
      kept.merge(row[identity], row, (a, b) -> newer.compare(a, b) >= 0 ? a : b);
    }
    return new ArrayList<>(kept.values());
  }

  /**
   * Sessions merge and grow as late events arrive, so an earlier version may have another start or end than the
   * session that replaced it, but always lies within it and has fewer events. Keeps, newest version first, each
   * session that overlaps none already kept: the sessions a caught-up store would have written.
   */
  static List<Object[]> latestSessions(List<Object[]> rows, FeatureTable table) {
    List<String> names = table.columnNames();
    int start = names.indexOf(SessionAggregation.SESSION_START);
    int end = names.indexOf(SessionAggregation.SESSION_END);
    List<Object[]> newestFirst = new ArrayList<>(rows);
    newestFirst.sort(newer(table).reversed());
    TreeMap<Long, Long> keptIntervals = new TreeMap<>();
    List<Object[]> kept = new ArrayList<>();
    for (Object[] row : newestFirst) {
      long from = (Long) row[start];
      long to = (Long) row[end];
      Map.Entry<Long, Long> before = keptIntervals.floorEntry(to);
      if (before != null && before.getValue() >= from) {
        continue; // overlaps a kept session that started at or before this one's end
      }
      keptIntervals.put(from, to);
      kept.add(row);
    }
    return kept;
  }

  /** Orders versions of one row: more progress is newer, then a later write. */
  private static Comparator<Object[]> newer(FeatureTable table) {
    List<String> names = table.columnNames();
    int[] progress = table.replaceRule().progressColumns().stream().mapToInt(names::indexOf).toArray();
    int written = names.indexOf(WindowedAggregation.UPDATED_AT);
    Comparator<Object[]> byProgress = Comparator.comparingDouble(row -> {
      double sum = 0;
      for (int column : progress) {
        sum += row[column] == null ? 0 : ((Number) row[column]).doubleValue();
      }
      return sum;
    });
    return written < 0 ? byProgress : byProgress.thenComparingLong(row -> (Long) row[written]);
  }
}
