package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.DimensionDefinitions;
import dev.clickstream.features.DriftRecord;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.store.DimensionTables;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every pipeline over one shuffled file of events the pipelines have never seen (random users, items, times and
 * types; clicks that follow impressions, clicks that follow none; users active enough for one session and users
 * with half-hour silences) and one pair of dimension tables (with a user and an item left out), on each runner: the
 * attribution, session, CTR drift, enriched CTR and user activity rows in the online store, and the enrichment's
 * miss counts, must equal a plain-Java computation over the same events and tables.
 */
class FeaturePipelinesEndToEndTest {
  private static final long START = 1_763_800_000_000L;
  private static final long MINUTE = 60_000L;
  private static final long WINDOW = 5 * MINUTE;
  private static final long ATTRIBUTION_GAP = 30 * MINUTE;
  private static final long SESSION_GAP = 30 * MINUTE;
  private static final int BUSY_USERS = 12;
  private static final int QUIET_USERS = 6;
  private static final int ITEMS = 8;

  /** The users table: u5 is left out, so its events get the defaults. */
  private static final List<Object[]> USERS_TABLE = new ArrayList<>();
  /** The items table: item3 is left out. */
  private static final List<Object[]> ITEMS_TABLE = new ArrayList<>();
  private static final String[] SEGMENTS = {"new", "casual", "premium"};
  private static final String[] CATEGORIES = {"sports", "books", "home"};

  static {
    for (int user = 0; user < BUSY_USERS + QUIET_USERS; user++) {
      if (user != 5) {
        USERS_TABLE.add(new Object[] {"u" + user, "de", SEGMENTS[user % SEGMENTS.length], 1_700_000_000_000L});
      }
    }
    for (int item = 0; item < ITEMS; item++) {
      if (item != 3) {
        ITEMS_TABLE.add(new Object[] {"item" + item, CATEGORIES[item % CATEGORIES.length], "brand", price(item)});
      }
    }
  }

  private static double price(int item) {
    return 10.0 + item * 2.5;
  }

  private static String segment(String user) {
    int index = Integer.parseInt(user.substring(1));
    return index == 5 ? "unknown" : SEGMENTS[index % SEGMENTS.length];
  }

  private static String category(String item) {
    int index = Integer.parseInt(item.substring(4));
    return index == 3 ? "unknown" : CATEGORIES[index % CATEGORIES.length];
  }

  private static Double knownPrice(String item) {
    int index = Integer.parseInt(item.substring(4));
    return index == 3 ? null : price(index);
  }

  /** One valid event of the file. */
  private record Event(String id, String user, String type, String item, long timestamp) {}

  static List<String> runners() {
    return TestRunners.names();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runners")
  void storedRowsEqualAnIndependentComputation(String runner, @TempDir Path dir) throws Exception {
    List<Event> events = hiddenEvents(new Random(2026));
    List<String> lines = new ArrayList<>();
    for (Event event : events) {
      lines.add("{\"event_id\":\"" + event.id() + "\",\"user_id\":\"" + event.user() + "\",\"event_type\":\""
          + event.type() + "\",\"item_id\":\"" + event.item() + "\",\"timestamp\":" + event.timestamp() + "}");
    }
    Collections.shuffle(lines, new Random(11));
    Path input = dir.resolve("events.jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);

    FeaturePipelineOptions options = TestRunners.options(runner, FeaturePipelineOptions.class);
    options.setInput(input.toString());
    options.setOnlineStore(StoreFixtures.freshH2Url());
    OnlineStore store = OnlineStore.forUrl(options.getOnlineStore());
    DimensionTables.write(store, DimensionDefinitions.USERS, USERS_TABLE);
    DimensionTables.write(store, DimensionDefinitions.ITEMS, ITEMS_TABLE);
    options.setOfflineStore(dir.resolve("offline").toString());
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());
    Pipeline pipeline = Pipeline.create(options);
    FeaturePipeline.build(pipeline, TestRunners.features(options, "all"), () -> 1L);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    // The hidden events exercise what they should: attributed and unattributed clicks, and split sessions.
    assertThat(attributedClicks(events, true) > 0 && attributedClicks(events, false) > 0, equalTo(true));
    assertThat(usersWithSeveralSessions(events) > 0, equalTo(true));

    assertThat(
        stored(store, FeatureTables.ITEM_ATTRIBUTION_5MIN,
            "window_start", "window_end", "impressions", "clicks", "attributed_clicks", "unattributed_clicks",
            "attributed_ctr", "mean_time_to_click_ms"),
        equalTo(attributionPerItem(events)));
    assertThat(
        stored(store, FeatureTables.USER_SESSIONS,
            "session_start", "session_end", "session_length_ms", "events", "clicks"),
        equalTo(latestSessionPerUser(events)));
    assertThat(
        stored(store, FeatureTables.FEATURE_DRIFT,
            "window_start", "window_end", "reference_count", "recent_count", "psi", "ks", "drift_status"),
        equalTo(Map.of(FeatureDefinitions.CTR_DRIFT.name(), latestCtrDrift(events))));
    assertThat(
        stored(store, FeatureTables.CTR_BY_SEGMENT_5MIN, "window_start", "window_end", "impressions", "clicks", "ctr"),
        equalTo(ctrPerLatestWindow(events, event -> segment(event.user()))));
    assertThat(
        stored(store, FeatureTables.CTR_BY_CATEGORY_5MIN, "window_start", "window_end", "impressions", "clicks", "ctr"),
        equalTo(ctrPerLatestWindow(events, event -> category(event.item()))));
    assertThat(
        stored(store, FeatureTables.USER_ACTIVITY_5MIN, "window_start", "window_end", "events", "clicks",
            "distinct_items", "price_p50", "price_p90", "clicks_avg_15min"),
        equalTo(userActivity(events)));
    assertThat(PipelineCountersReader.counter(result, "EnrichWithDimensions", "users_miss"),
        equalTo(events.stream().filter(event -> segment(event.user()).equals("unknown")).count()));
    assertThat(PipelineCountersReader.counter(result, "EnrichWithDimensions", "items_miss"),
        equalTo(events.stream().filter(event -> category(event.item()).equals("unknown")).count()));
    assertThat(Files.exists(dir.resolve("dead-letters.jsonl"))
        ? Files.readAllLines(dir.resolve("dead-letters.jsonl")).size() : 0, equalTo(0));
  }

  /**
   * Busy users click a fifth of the time, mostly an item they saw within the last few minutes; quiet users show up
   * a few times over three hours, so some of their events are half an hour or more apart.
   */
  private static List<Event> hiddenEvents(Random random) {
    List<Event> events = new ArrayList<>();
    int id = 0;
    for (int user = 0; user < BUSY_USERS + QUIET_USERS; user++) {
      boolean busy = user < BUSY_USERS;
      int count = busy ? 60 + random.nextInt(40) : 4 + random.nextInt(6);
      long span = busy ? 90 * MINUTE : 180 * MINUTE;
      String lastImpression = null;
      List<Long> times = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        times.add(START + (long) (random.nextDouble() * span));
      }
      Collections.sort(times);
      for (long timestamp : times) {
        int kind = random.nextInt(10);
        String type = kind < 2 ? "click" : kind < 9 ? "impression" : "page_view";
        String item = "item" + random.nextInt(ITEMS);
        if (type.equals("click") && lastImpression != null && random.nextInt(4) > 0) {
          item = lastImpression;
        }
        if (type.equals("impression")) {
          lastImpression = item;
        }
        events.add(new Event("e" + id++, "u" + user, type, item, timestamp));
      }
    }
    return events;
  }

  /** item -> its latest window's counts, attributing each click to the latest impression of its user and item. */
  private static Map<String, String> attributionPerItem(List<Event> events) {
    Map<String, TreeMap<Long, long[]>> windows = new TreeMap<>(); // {impressions, clicks, attributed, sum ttc}
    for (Event event : events) {
      if (event.type().equals("page_view")) {
        continue;
      }
      long[] counts = windows.computeIfAbsent(event.item(), i -> new TreeMap<>())
          .computeIfAbsent(event.timestamp() - Math.floorMod(event.timestamp(), WINDOW), s -> new long[4]);
      if (event.type().equals("impression")) {
        counts[0]++;
        continue;
      }
      counts[1]++;
      long latest = Long.MIN_VALUE;
      for (Event impression : events) {
        if (impression.type().equals("impression") && impression.user().equals(event.user())
            && impression.item().equals(event.item()) && impression.timestamp() <= event.timestamp()
            && impression.timestamp() >= event.timestamp() - ATTRIBUTION_GAP) {
          latest = Math.max(latest, impression.timestamp());
        }
      }
      if (latest != Long.MIN_VALUE) {
        counts[2]++;
        counts[3] += event.timestamp() - latest;
      }
    }
    Map<String, String> latest = new TreeMap<>();
    windows.forEach((item, byStart) -> {
      long start = byStart.lastKey();
      long[] c = byStart.lastEntry().getValue();
      Double ctr = c[0] == 0 ? null : (double) c[2] / c[0];
      Double meanTimeToClick = c[2] == 0 ? null : (double) c[3] / c[2];
      latest.put(item, start + " " + (start + WINDOW) + " " + c[0] + " " + c[1] + " " + c[2] + " " + (c[1] - c[2])
          + " " + ctr + " " + meanTimeToClick);
    });
    return latest;
  }

  /** user -> its last session's start, end, length, events and clicks; events less than the gap apart share one. */
  private static Map<String, String> latestSessionPerUser(List<Event> events) {
    Map<String, List<Event>> byUser = new TreeMap<>();
    events.forEach(event -> byUser.computeIfAbsent(event.user(), u -> new ArrayList<>()).add(event));
    Map<String, String> latest = new TreeMap<>();
    byUser.forEach((user, own) -> {
      own.sort((a, b) -> Long.compare(a.timestamp(), b.timestamp()));
      int first = own.size() - 1;
      while (first > 0 && own.get(first).timestamp() - own.get(first - 1).timestamp() < SESSION_GAP) {
        first--;
      }
      List<Event> session = own.subList(first, own.size());
      long start = session.get(0).timestamp();
      long end = session.get(session.size() - 1).timestamp();
      long clicks = session.stream().filter(e -> e.type().equals("click")).count();
      latest.put(user, start + " " + end + " " + (end - start) + " " + session.size() + " " + clicks);
    });
    return latest;
  }

  /** entity -> its latest window's impressions, clicks and CTR, the entity of an event given by {@code entityOf}. */
  private static Map<String, String> ctrPerLatestWindow(List<Event> events, Function<Event, String> entityOf) {
    Map<String, TreeMap<Long, long[]>> windows = new TreeMap<>();
    for (Event event : events) {
      if (!event.type().equals("page_view")) {
        windows.computeIfAbsent(entityOf.apply(event), e -> new TreeMap<>())
            .computeIfAbsent(windowStart(event), s -> new long[2])[event.type().equals("click") ? 1 : 0]++;
      }
    }
    Map<String, String> latest = new TreeMap<>();
    windows.forEach((entity, byStart) -> {
      long[] c = byStart.lastEntry().getValue();
      latest.put(entity, byStart.lastKey() + " " + (byStart.lastKey() + WINDOW) + " " + c[0] + " " + c[1] + " "
          + (c[0] == 0 ? null : (double) c[1] / c[0]));
    });
    return latest;
  }

  /**
   * user -> its latest window's events, clicks, distinct items, nearest-rank p50 and p90 of the known item prices,
   * and its clicks averaged over that window and the two before it.
   */
  private static Map<String, String> userActivity(List<Event> events) {
    Map<String, TreeMap<Long, List<Event>>> windows = new TreeMap<>();
    events.forEach(event -> windows.computeIfAbsent(event.user(), u -> new TreeMap<>())
        .computeIfAbsent(windowStart(event), s -> new ArrayList<>()).add(event));
    Map<String, String> latest = new TreeMap<>();
    windows.forEach((user, byStart) -> {
      long start = byStart.lastKey();
      List<Event> own = byStart.get(start);
      long clicks = own.stream().filter(e -> e.type().equals("click")).count();
      long distinctItems = own.stream().map(Event::item).distinct().count();
      List<Double> prices = new ArrayList<>();
      own.forEach(e -> {
        if (knownPrice(e.item()) != null) {
          prices.add(knownPrice(e.item()));
        }
      });
      Collections.sort(prices);
      long recentClicks = 0;
      for (long s = start - 2 * WINDOW; s <= start; s += WINDOW) {
        recentClicks += byStart.getOrDefault(s, List.of()).stream().filter(e -> e.type().equals("click")).count();
      }
      latest.put(user, start + " " + (start + WINDOW) + " " + own.size() + " " + clicks + " " + distinctItems + " "
          + nearestRank(prices, 50) + " " + nearestRank(prices, 90) + " " + recentClicks / 3.0);
    });
    return latest;
  }

  /** The value at rank ceil(p/100 * n) of sorted {@code values}; null for none. */
  private static Double nearestRank(List<Double> values, int percentile) {
    if (values.isEmpty()) {
      return null;
    }
    int rank = (int) Math.ceil(percentile / 100.0 * values.size());
    return values.get(Math.max(rank, 1) - 1);
  }

  private static long windowStart(Event event) {
    return event.timestamp() - Math.floorMod(event.timestamp(), WINDOW);
  }

  /**
   * The drift evaluation of the latest window holding a CTR value: per user and 5-minute window with impressions,
   * clicks / impressions; the window's values against those of the three windows before it.
   */
  private static String latestCtrDrift(List<Event> events) {
    Map<Long, Map<String, long[]>> perWindow = new TreeMap<>();
    for (Event event : events) {
      if (!event.type().equals("page_view")) {
        long start = event.timestamp() - Math.floorMod(event.timestamp(), WINDOW);
        perWindow.computeIfAbsent(start, s -> new TreeMap<>()).computeIfAbsent(event.user(), u -> new long[2])
            [event.type().equals("click") ? 1 : 0]++;
      }
    }
    Map<Long, List<Double>> ctrs = new TreeMap<>();
    perWindow.forEach((start, users) -> users.values().stream()
        .filter(counts -> counts[0] > 0)
        .forEach(counts -> ctrs.computeIfAbsent(start, s -> new ArrayList<>()).add((double) counts[1] / counts[0])));
    long latest = ((TreeMap<Long, List<Double>>) ctrs).lastKey();
    List<Double> reference = new ArrayList<>();
    ctrs.forEach((start, values) -> {
      if (start >= latest - 3 * WINDOW && start < latest) {
        reference.addAll(values);
      }
    });
    DriftRecord record = FeatureDefinitions.CTR_DRIFT.evaluate(
        latest,
        reference.stream().mapToDouble(Double::doubleValue).toArray(),
        ctrs.get(latest).stream().mapToDouble(Double::doubleValue).toArray());
    return record.windowStart() + " " + record.windowEnd() + " " + record.referenceCount() + " "
        + record.recentCount() + " " + record.psi() + " " + record.ks() + " " + record.status().label();
  }

  private static long attributedClicks(List<Event> events, boolean attributed) {
    return events.stream()
        .filter(click -> click.type().equals("click"))
        .filter(click -> attributed == events.stream().anyMatch(impression ->
            impression.type().equals("impression") && impression.user().equals(click.user())
                && impression.item().equals(click.item()) && impression.timestamp() <= click.timestamp()
                && impression.timestamp() >= click.timestamp() - ATTRIBUTION_GAP))
        .count();
  }

  private static long usersWithSeveralSessions(List<Event> events) {
    Map<String, List<Long>> times = new TreeMap<>();
    events.forEach(event -> times.computeIfAbsent(event.user(), u -> new ArrayList<>()).add(event.timestamp()));
    return times.values().stream()
        .filter(own -> {
          Collections.sort(own);
          for (int i = 1; i < own.size(); i++) {
            if (own.get(i) - own.get(i - 1) >= SESSION_GAP) {
              return true;
            }
          }
          return false;
        })
        .count();
  }

  /** key -> the named columns of its stored row, space-separated. */
  private static Map<String, String> stored(OnlineStore store, FeatureTable table, String... columns) {
    Map<String, String> rows = new TreeMap<>();
    for (Map<String, Object> row : store.readTable(table)) {
      StringBuilder values = new StringBuilder();
      for (String column : columns) {
        values.append(values.length() == 0 ? "" : " ").append(row.get(column));
      }
      rows.put((String) row.get(table.key().name()), values.toString());
    }
    return rows;
  }
}
