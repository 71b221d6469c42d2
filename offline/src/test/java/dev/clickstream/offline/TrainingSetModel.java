package dev.clickstream.offline;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An independent, plain-Java statement of the point-in-time rules of docs/features.md for four views, from the
 * events alone: what a training set must hold for a user at time T.
 */
public final class TrainingSetModel {
  static final long FIVE_MINUTES = 300_000L;
  static final long SESSION_GAP = 30 * 60_000L;
  static final long[] WINDOWS = {60_000L, 600_000L, 1_800_000L, 3_600_000L};
  static final String[] WINDOW_NAMES = {"1_min", "10_min", "30_min", "1_hour"};

  /** One event: its user, type and time. */
  public record Event(String user, String type, long time) {}

  /** Per user: window start → {impressions, clicks}. */
  private final Map<String, TreeMap<Long, long[]>> windows = new HashMap<>();
  /** Per user: click times, sorted. */
  private final Map<String, List<Long>> clicks = new HashMap<>();
  /** Per user: sessions {start, end, events, clicks}, by end. */
  private final Map<String, List<long[]>> sessions = new HashMap<>();

  public TrainingSetModel(List<Event> events) {
    List<Event> sorted = new ArrayList<>(events);
    sorted.sort(Comparator.comparingLong(Event::time));
    for (Event event : sorted) {
      boolean click = event.type().equals("click");
      if (click || event.type().equals("impression")) {
        long[] counts = windows.computeIfAbsent(event.user(), unused -> new TreeMap<>())
            .computeIfAbsent(Math.floorDiv(event.time(), FIVE_MINUTES) * FIVE_MINUTES, unused -> new long[2]);
        counts[click ? 1 : 0]++;
      }
      if (click) {
        clicks.computeIfAbsent(event.user(), unused -> new ArrayList<>()).add(event.time());
      }
      List<long[]> userSessions = sessions.computeIfAbsent(event.user(), unused -> new ArrayList<>());
      long[] last = userSessions.isEmpty() ? null : userSessions.get(userSessions.size() - 1);
      if (last == null || event.time() - last[1] >= SESSION_GAP) {
        userSessions.add(new long[] {event.time(), event.time(), 1, click ? 1 : 0});
      } else {
        last[1] = event.time();
        last[2]++;
        last[3] += click ? 1 : 0;
      }
    }
  }

  /** Every column of ctr_5min, click_counts, click_counts_on_demand and user_sessions for {@code user} at {@code t}. */
  public Map<String, Object> at(String user, long t) {
    Map<String, Object> row = new LinkedHashMap<>();
    Map.Entry<Long, long[]> window = null;
    for (Map.Entry<Long, long[]> candidate : windows.getOrDefault(user, new TreeMap<>()).entrySet()) {
      if (candidate.getKey() + FIVE_MINUTES <= t) {
        window = candidate;
      }
    }
    row.put("ctr_5min__window_start", window == null ? null : window.getKey());
    row.put("ctr_5min__window_end", window == null ? null : window.getKey() + FIVE_MINUTES);
    row.put("ctr_5min__impressions", window == null ? null : window.getValue()[0]);
    row.put("ctr_5min__clicks", window == null ? null : window.getValue()[1]);
    row.put("ctr_5min__ctr", window == null || window.getValue()[0] == 0 ? null
        : (double) window.getValue()[1] / window.getValue()[0]);

    List<Long> userClicks = clicks.getOrDefault(user, List.of());
    Long latest = null;
    for (long click : userClicks) {
      if (click <= t) {
        latest = click;
      }
    }
    row.put("click_counts__event_time", latest);
    for (int w = 0; w < WINDOWS.length; w++) {
      row.put("click_counts__click_count_" + WINDOW_NAMES[w],
          latest == null ? null : count(userClicks, latest - WINDOWS[w], latest));
    }
    boolean inLastHour = latest != null && latest >= t - WINDOWS[WINDOWS.length - 1];
    row.put("click_counts_on_demand__event_time", inLastHour ? latest : null);
    for (int w = 0; w < WINDOWS.length; w++) {
      row.put("click_counts_on_demand__click_count_" + WINDOW_NAMES[w], count(userClicks, t - WINDOWS[w], t));
    }

    long[] session = null;
    for (long[] candidate : sessions.getOrDefault(user, List.of())) {
      if (candidate[1] <= t) {
        session = candidate;
      }
    }
    row.put("user_sessions__session_start", session == null ? null : session[0]);
    row.put("user_sessions__session_end", session == null ? null : session[1]);
    row.put("user_sessions__session_length_ms", session == null ? null : session[1] - session[0]);
    row.put("user_sessions__events", session == null ? null : session[2]);
    row.put("user_sessions__clicks", session == null ? null : session[3]);
    return row;
  }

  /** The ends of every window and session of {@code user}: where the answers change. */
  public List<Long> boundaries(String user) {
    List<Long> times = new ArrayList<>();
    windows.getOrDefault(user, new TreeMap<>()).keySet().forEach(start -> times.add(start + FIVE_MINUTES));
    sessions.getOrDefault(user, List.of()).forEach(session -> times.add(session[1]));
    times.addAll(clicks.getOrDefault(user, List.of()));
    return times;
  }

  private static long count(List<Long> times, long from, long to) {
    return times.stream().filter(time -> time >= from && time <= to).count();
  }
}
