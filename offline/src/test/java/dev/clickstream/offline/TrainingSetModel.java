package dev.clickstream.offline;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * An independent, plain-Java statement of the point-in-time rules of docs/features.md, from the events and the
 * dimension tables alone: what a training set must hold for its entities at time T. Every view the project joins
 * after {@code run all}: the tumbling views (per user, segment and category), the click counts pre-computed, on
 * demand and tiled, the user's activity, the item's attribution and the user's sessions.
 */
public final class TrainingSetModel {
  static final long FIVE_MINUTES = 300_000L;
  static final long SESSION_GAP = 30 * 60_000L;
  static final long ATTRIBUTION_GAP = 30 * 60_000L;
  static final long[] WINDOWS = {60_000L, 600_000L, 1_800_000L, 3_600_000L};
  static final String[] WINDOW_NAMES = {"1_min", "10_min", "30_min", "1_hour"};
  static final String UNKNOWN = "unknown";

  /** One valid event: its user, type, item (or null) and time. */
  public record Event(String user, String type, String item, long time) {
    public Event(String user, String type, long time) {
      this(user, type, null, time);
    }
  }

  /** The dimension tables: a user's segment, an item's category and price (null: none); absent keys are unknown. */
  public record Dimensions(Map<String, String> segments, Map<String, String> categories, Map<String, Double> prices) {
    static final Dimensions NONE = new Dimensions(Map.of(), Map.of(), Map.of());
  }

  /** Per user: window start → {impressions, clicks}. */
  private final Map<String, TreeMap<Long, long[]>> ctr = new HashMap<>();
  private final Map<String, TreeMap<Long, long[]>> ctrBySegment = new HashMap<>();
  private final Map<String, TreeMap<Long, long[]>> ctrByCategory = new HashMap<>();
  /** Per user: window start → the window's events. */
  private final Map<String, TreeMap<Long, List<Event>>> activity = new HashMap<>();
  /** Per item: window start → {impressions, clicks, attributed clicks, sum of times to click}. */
  private final Map<String, TreeMap<Long, long[]>> attribution = new HashMap<>();
  /** Per user: click times, sorted. */
  private final Map<String, List<Long>> clicks = new HashMap<>();
  /** Per user: sessions {start, end, events, clicks}, by end. */
  private final Map<String, List<long[]>> sessions = new HashMap<>();
  private final Dimensions dimensions;

  public TrainingSetModel(List<Event> events) {
    this(events, Dimensions.NONE);
  }

  public TrainingSetModel(List<Event> events, Dimensions dimensions) {
    this.dimensions = dimensions;
    List<Event> sorted = new ArrayList<>(events);
    sorted.sort(Comparator.comparingLong(Event::time));
    for (Event event : sorted) {
      boolean click = event.type().equals("click");
      long window = Math.floorDiv(event.time(), FIVE_MINUTES) * FIVE_MINUTES;
      if (click || event.type().equals("impression")) {
        countCtr(ctr, event.user(), window, click);
        countCtr(ctrBySegment, dimensions.segments().getOrDefault(event.user(), UNKNOWN), window, click);
        countCtr(ctrByCategory, event.item() == null ? UNKNOWN
            : dimensions.categories().getOrDefault(event.item(), UNKNOWN), window, click);
      }
      activity.computeIfAbsent(event.user(), unused -> new TreeMap<>())
          .computeIfAbsent(window, unused -> new ArrayList<>()).add(event);
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
    attribute(sorted);
  }

  private static void countCtr(
      Map<String, TreeMap<Long, long[]>> perEntity, String entity, long window, boolean click) {
    perEntity.computeIfAbsent(entity, unused -> new TreeMap<>())
        .computeIfAbsent(window, unused -> new long[2])[click ? 1 : 0]++;
  }

  /** Each click of an item to the same user's latest impression of it at most 30 minutes before, both ends in. */
  private void attribute(List<Event> sorted) {
    for (Event event : sorted) {
      boolean click = event.type().equals("click");
      if (event.item() == null || !(click || event.type().equals("impression"))) {
        continue;
      }
      long[] counts = attribution.computeIfAbsent(event.item(), unused -> new TreeMap<>())
          .computeIfAbsent(Math.floorDiv(event.time(), FIVE_MINUTES) * FIVE_MINUTES, unused -> new long[4]);
      if (!click) {
        counts[0]++;
        continue;
      }
      counts[1]++;
      Long impression = null;
      for (Event other : sorted) {
        if (other.type().equals("impression") && other.user().equals(event.user())
            && event.item().equals(other.item()) && other.time() <= event.time()
            && other.time() >= event.time() - ATTRIBUTION_GAP) {
          impression = other.time();
        }
      }
      if (impression != null) {
        counts[2]++;
        counts[3] += event.time() - impression;
      }
    }
  }

  /** Every column of ctr_5min, click_counts, click_counts_on_demand and user_sessions for {@code user} at {@code t}. */
  public Map<String, Object> at(String user, long t) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.putAll(ctr("ctr_5min", ctr, user, t));
    row.putAll(clickCounts(user, t));
    row.putAll(onDemand("click_counts_on_demand", user, t));
    row.putAll(sessions(user, t));
    return row;
  }

  /**
   * Every column of every view at {@code t}, for the entities named in {@code keys} ({@code user_id}, {@code
   * item_id}, {@code user_segment}, {@code item_category}); a null or empty key gets nulls for its views.
   */
  public Map<String, Object> at(Map<String, String> keys, long t) {
    String user = entity(keys, "user_id");
    String item = entity(keys, "item_id");
    Map<String, Object> row = new LinkedHashMap<>();
    row.putAll(ctr("ctr_5min", ctr, user, t));
    row.putAll(clickCounts(user, t));
    row.putAll(onDemand("click_counts_on_demand", user, t));
    row.putAll(onDemand("click_counts_tiled", user, t));
    row.putAll(ctr("ctr_by_segment_5min", ctrBySegment, entity(keys, "user_segment"), t));
    row.putAll(ctr("ctr_by_category_5min", ctrByCategory, entity(keys, "item_category"), t));
    row.putAll(userActivity(user, t));
    row.putAll(attribution(item, t));
    row.putAll(sessions(user, t));
    return row;
  }

  private static String entity(Map<String, String> keys, String field) {
    String key = keys.get(field);
    return key == null || key.isEmpty() ? null : key;
  }

  /** The latest window of {@code windows} (by start) that has closed at {@code t}, or null. */
  private static <V> Map.Entry<Long, V> closedBy(TreeMap<Long, V> windows, long t) {
    return windows == null ? null : windows.floorEntry(t - FIVE_MINUTES);
  }

  private static Map<String, Object> ctr(String view, Map<String, TreeMap<Long, long[]>> perEntity, String entity,
      long t) {
    Map.Entry<Long, long[]> window = entity == null ? null : closedBy(perEntity.get(entity), t);
    Map<String, Object> row = new LinkedHashMap<>();
    row.put(view + "__window_start", window == null ? null : window.getKey());
    row.put(view + "__window_end", window == null ? null : window.getKey() + FIVE_MINUTES);
    row.put(view + "__impressions", window == null ? null : window.getValue()[0]);
    row.put(view + "__clicks", window == null ? null : window.getValue()[1]);
    row.put(view + "__ctr", window == null || window.getValue()[0] == 0 ? null
        : (double) window.getValue()[1] / window.getValue()[0]);
    return row;
  }

  private Map<String, Object> clickCounts(String user, long t) {
    Map<String, Object> row = new LinkedHashMap<>();
    List<Long> userClicks = user == null ? List.of() : clicks.getOrDefault(user, List.of());
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
    return row;
  }

  /** The counts over {@code [t − W, t]}; the latest click of the last hour. Nulls only without an entity. */
  private Map<String, Object> onDemand(String view, String user, long t) {
    Map<String, Object> row = new LinkedHashMap<>();
    List<Long> userClicks = clicks.getOrDefault(user, List.of());
    Long latest = null;
    for (long click : userClicks) {
      if (click <= t && click >= t - WINDOWS[WINDOWS.length - 1]) {
        latest = click;
      }
    }
    row.put(view + "__event_time", latest);
    for (int w = 0; w < WINDOWS.length; w++) {
      row.put(view + "__click_count_" + WINDOW_NAMES[w], user == null ? null : count(userClicks, t - WINDOWS[w], t));
    }
    return row;
  }

  /**
   * Events, clicks and distinct items of the latest closed window with events; the nearest-rank median and 90th
   * percentile of its items' known prices; its clicks and the two windows' before, over three.
   */
  private Map<String, Object> userActivity(String user, long t) {
    TreeMap<Long, List<Event>> windows = user == null ? null : activity.get(user);
    Map.Entry<Long, List<Event>> window = closedBy(windows, t);
    Map<String, Object> row = new LinkedHashMap<>();
    String view = "user_activity_5min__";
    if (window == null) {
      for (String column : List.of("window_start", "window_end", "events", "clicks", "distinct_items", "price_p50",
          "price_p90", "clicks_avg_15min")) {
        row.put(view + column, null);
      }
      return row;
    }
    List<Event> events = window.getValue();
    Set<String> items = new HashSet<>();
    List<Double> prices = new ArrayList<>();
    for (Event event : events) {
      if (event.item() != null) {
        items.add(event.item());
        Double price = dimensions.prices().get(event.item());
        if (price != null) {
          prices.add(price);
        }
      }
    }
    prices.sort(null);
    long start = window.getKey();
    long recentClicks = 0;
    for (int back = 0; back < 3; back++) {
      recentClicks += clicksIn(windows.get(start - back * FIVE_MINUTES));
    }
    row.put(view + "window_start", start);
    row.put(view + "window_end", start + FIVE_MINUTES);
    row.put(view + "events", (long) events.size());
    row.put(view + "clicks", clicksIn(events));
    row.put(view + "distinct_items", (long) items.size());
    row.put(view + "price_p50", nearestRank(prices, 50));
    row.put(view + "price_p90", nearestRank(prices, 90));
    row.put(view + "clicks_avg_15min", recentClicks / 3.0);
    return row;
  }

  private static long clicksIn(List<Event> events) {
    return events == null ? 0 : events.stream().filter(event -> event.type().equals("click")).count();
  }

  /** The value at rank ⌈p/100 · n⌉ of the sorted values, or null without any. */
  private static Double nearestRank(List<Double> sorted, int p) {
    if (sorted.isEmpty()) {
      return null;
    }
    int rank = (p * sorted.size() + 99) / 100;
    return sorted.get(rank - 1);
  }

  private Map<String, Object> attribution(String item, long t) {
    Map.Entry<Long, long[]> window = item == null ? null : closedBy(attribution.get(item), t);
    long[] counts = window == null ? null : window.getValue();
    Map<String, Object> row = new LinkedHashMap<>();
    String view = "item_attribution_5min__";
    row.put(view + "window_start", window == null ? null : window.getKey());
    row.put(view + "window_end", window == null ? null : window.getKey() + FIVE_MINUTES);
    row.put(view + "impressions", counts == null ? null : counts[0]);
    row.put(view + "clicks", counts == null ? null : counts[1]);
    row.put(view + "attributed_clicks", counts == null ? null : counts[2]);
    row.put(view + "unattributed_clicks", counts == null ? null : counts[1] - counts[2]);
    row.put(view + "attributed_ctr", counts == null || counts[0] == 0 ? null : (double) counts[2] / counts[0]);
    row.put(view + "mean_time_to_click_ms", counts == null || counts[2] == 0 ? null : (double) counts[3] / counts[2]);
    return row;
  }

  private Map<String, Object> sessions(String user, long t) {
    long[] session = null;
    for (long[] candidate : user == null ? List.<long[]>of() : sessions.getOrDefault(user, List.of())) {
      if (candidate[1] <= t) {
        session = candidate;
      }
    }
    Map<String, Object> row = new LinkedHashMap<>();
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
    ctr.getOrDefault(user, new TreeMap<>()).keySet().forEach(start -> times.add(start + FIVE_MINUTES));
    sessions.getOrDefault(user, List.of()).forEach(session -> times.add(session[1]));
    times.addAll(clicks.getOrDefault(user, List.of()));
    return times;
  }

  private static long count(List<Long> times, long from, long to) {
    return times.stream().filter(time -> time >= from && time <= to).count();
  }
}
