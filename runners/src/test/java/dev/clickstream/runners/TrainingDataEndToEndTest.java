package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.offline.TrainingSetModel;
import dev.clickstream.offline.TrainingView;
import dev.clickstream.pipelines.ClickCounter;
import dev.clickstream.pipelines.FeatureSelection;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end through the launcher, on embedded Flink: a shuffled file of events (with malformed lines, clicks
 * following impressions of the same item, sessions with gaps and events exactly at window and gap boundaries) and
 * the users and items dimension tables, run through every feature ({@code run all}); then {@code training-data}
 * joins every view that has offline history onto a shuffled spine of 10,000 rows keyed by user, item, segment and
 * category: each column equals {@link TrainingSetModel}, in spine order. Then {@code backfill --online} from the
 * offline events writes the same online rows as the run did, for every feature.
 */
class TrainingDataEndToEndTest {
  /** 2025-11-22T08:25:00Z, a window start. */
  private static final long START = 1_763_799_900_000L;
  private static final long MINUTE = 60_000L;
  private static final long FIVE_MINUTES = 5 * MINUTE;
  private static final int USERS = 30;
  private static final int ITEMS = 10;
  private static final int EVENTS = 1_000;
  private static final int SPINE_ROWS = 10_000;
  private static final List<String> SEGMENTS = List.of("new", "loyal", "casual");
  private static final List<String> CATEGORIES = List.of("shoes", "books", "toys");
  private static final List<String> SPINE_COLUMNS =
      List.of("user_id", "item_id", "user_segment", "item_category", "timestamp", "label");
  private static final FeatureSelection ALL =
      FeatureSelection.of(FeatureDefinitions.REGISTRY, List.of("all"), ClickCounter.STATEFUL);

  @Test
  void aTrainingSetOfEveryViewEqualsTheModelAndABackfillEqualsTheRun(@TempDir Path dir) throws Exception {
    Random random = new Random(19);
    Path dimensions = Files.createDirectories(dir.resolve("dimensions"));
    TrainingSetModel.Dimensions tables = writeDimensions(dimensions);
    List<TrainingSetModel.Event> events = new ArrayList<>();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < EVENTS; i++) {
      // Bursts with gaps, so users have several sessions; some events exactly at a window's start.
      long time = START + random.nextInt(4) * 40 * MINUTE + (long) (random.nextDouble() * 25 * MINUTE);
      time = random.nextInt(8) == 0 ? time - time % FIVE_MINUTES : time;
      int roll = random.nextInt(10);
      String type = roll < 6 ? "impression" : roll < 9 ? "click" : "page_view";
      String item = random.nextInt(10) == 0 ? null : "i" + random.nextInt(ITEMS);
      lines.add(event(events, "e" + i, "u" + random.nextInt(USERS), type, item, time));
    }
    // An impression clicked exactly 30 minutes later is attributed, one clicked a millisecond after is not; a
    // user's events exactly a gap apart are two sessions.
    long boundary = START + 60 * MINUTE;
    lines.add(event(events, "edge1", "u1", "impression", "i1", boundary));
    lines.add(event(events, "edge2", "u1", "click", "i1", boundary + 30 * MINUTE));
    lines.add(event(events, "edge3", "u2", "impression", "i2", boundary));
    lines.add(event(events, "edge4", "u2", "click", "i2", boundary + 30 * MINUTE + 1));
    lines.add(event(events, "edge5", "u29", "page_view", null, START + 200 * MINUTE));
    lines.add(event(events, "edge6", "u29", "click", "i3", START + 230 * MINUTE));
    List<String> malformed = List.of("not json", "", "{\"event_id\":\"m1\",\"user_id\":\"u1\"}",
        "{\"event_id\":\"m2\",\"user_id\":\"\",\"event_type\":\"click\",\"item_id\":\"i1\",\"timestamp\":"
            + boundary + "}",
        "{\"event_id\":\"m3\",\"user_id\":\"u1\",\"event_type\":\"click\",\"item_id\":\"\",\"timestamp\":"
            + boundary + "}");
    lines.addAll(malformed);
    Collections.shuffle(lines, random);
    Path input = dir.resolve("events.jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);
    String offline = "--offlineStore=" + dir.resolve("offline");
    String dimensionTables = "--dimensions=" + dimensions;
    // The run and the backfill on one slot: on two cores a second slot of every feature's job saved no time, and
    // whether the two write the same rows does not depend on it; the training set keeps the default, as users run it.
    String oneSlot = "--parallelism=1";
    String runStore = StoreFixtures.freshH2Url();
    Launcher launcher = new Launcher();
    assertThat(launcher.stderr(), launcher.run("run", "all", "--input=" + input, "--onlineStore=" + runStore,
        offline, dimensionTables, oneSlot, "--deadLetter=" + dir.resolve("dead-letters.jsonl")), equalTo(0));
    assertThat(Files.readAllLines(dir.resolve("dead-letters.jsonl")).size(), equalTo(malformed.size()));

    // Every view with offline history after run all: the history of each table it wrote, or its raw events.
    List<String> views = TrainingView.names(FeatureDefinitions.REGISTRY).stream()
        .filter(name -> {
          TrainingView view = TrainingView.of(FeatureDefinitions.REGISTRY, name);
          return view.source() != TrainingView.Source.HISTORY || ALL.tables().contains(view.table());
        })
        .collect(Collectors.toList());
    List<Long> eventTimes = events.stream().map(TrainingSetModel.Event::time).collect(Collectors.toList());
    List<String> spine = new ArrayList<>();
    for (int i = 0; i < SPINE_ROWS; i++) {
      // Users and items without events, the default segment and category, and one of each without events.
      spine.add(String.join(",", pick(random, "u", USERS + 2, 30), pick(random, "i", ITEMS + 2, 10),
          pick(random, withOthers(SEGMENTS, "unknown", "vip")),
          pick(random, withOthers(CATEGORIES, "unknown", "music")),
          String.valueOf(spineTime(random, eventTimes)), String.valueOf(random.nextInt(2))));
    }
    Collections.shuffle(spine, random);
    List<String> withHeader = new ArrayList<>(List.of(String.join(",", SPINE_COLUMNS)));
    withHeader.addAll(spine);
    Path spineFile = dir.resolve("spine.csv");
    Files.write(spineFile, withHeader, StandardCharsets.UTF_8);
    Path output = dir.resolve("training.csv");
    assertThat(launcher.stderr(), launcher.run("training-data", "--spine=" + spineFile,
        "--features=" + String.join(",", views), "--output=" + output, offline), equalTo(0));

    TrainingSetModel model = new TrainingSetModel(events, tables);
    List<String> header = new ArrayList<>(SPINE_COLUMNS);
    for (String view : views) {
      model.at(Map.of(), START).keySet().stream()
          .filter(column -> column.startsWith(view + TrainingView.SEPARATOR))
          .forEach(header::add);
    }
    List<String> written = Files.readAllLines(output, StandardCharsets.UTF_8);
    assertThat(launcher.stdout(), containsString("Wrote 10,000 rows of " + header.size() + " columns to " + output));
    assertThat(List.of(written.get(0).split(",")), equalTo(header));
    assertThat(written.size(), equalTo(SPINE_ROWS + 1));
    for (int i = 0; i < SPINE_ROWS; i++) {
      String[] asked = spine.get(i).split(",", -1);
      Map<String, String> keys = new TreeMap<>();
      Map<String, String> expected = new LinkedHashMap<>();
      for (int c = 0; c < SPINE_COLUMNS.size(); c++) {
        keys.put(SPINE_COLUMNS.get(c), asked[c]);
        expected.put(SPINE_COLUMNS.get(c), asked[c]);
      }
      Map<String, Object> modelled = model.at(keys, Long.parseLong(keys.get("timestamp")));
      header.subList(SPINE_COLUMNS.size(), header.size()).forEach(column -> expected.put(column,
          modelled.get(column) == null ? "" : modelled.get(column).toString()));
      String[] values = written.get(i + 1).split(",", -1);
      Map<String, String> actual = new LinkedHashMap<>();
      for (int c = 0; c < header.size(); c++) {
        actual.put(header.get(c), values[c]);
      }
      assertThat("spine row " + i, actual, equalTo(expected));
    }

    // The same events, from the offline store, through the same job in batch: the same online rows.
    String backfillStore = StoreFixtures.freshH2Url();
    String day = Instant.ofEpochMilli(START).atZone(ZoneOffset.UTC).toLocalDate().toString();
    assertThat(launcher.stderr(), launcher.run("backfill", "--features=all", "--from=" + day, "--to=" + day,
        "--online", "--onlineStore=" + backfillStore, offline, dimensionTables, oneSlot,
        "--deadLetter=" + dir.resolve("backfill-dead-letters.jsonl")), equalTo(0));
    for (FeatureDefinition definition : ALL.definitions()) {
      FeatureTable table = definition.table();
      assertThat(definition.name(), rows(backfillStore, table), equalTo(rows(runStore, table)));
    }
  }

  @Test
  void mistakesAreExplainedBeforeAnythingRuns(@TempDir Path dir) throws Exception {
    Path spine = dir.resolve("spine.csv");
    Files.write(spine, List.of("item_id,timestamp", "item1,5"), StandardCharsets.UTF_8);
    Launcher launcher = new Launcher();
    String offline = "--offlineStore=" + dir.resolve("offline");

    assertThat(launcher.run("training-data", "--spine=" + spine, "--features=ctr", "--output=x.csv", offline),
        equalTo(2));
    assertThat(launcher.stderr(), containsString("training-data: no view called 'ctr'; views: ctr_5min, click_counts,"));
    assertThat(launcher.run("training-data", "--spine=" + spine, "--features=ctr_5min", "--output=x.csv", offline),
        equalTo(2));
    assertThat(launcher.stderr(), containsString("the spine " + spine + " has no column user_id (it has [item_id,"
        + " timestamp]): it needs timestamp (epoch ms) and the entity key of every view joined, [user_id]"));
    assertThat(launcher.run("training-data", "--spine=" + spine, "--features=item_attribution_5min",
        "--output=x.csv", offline), equalTo(2));
    assertThat(launcher.stderr(), containsString("no offline history of item_attribution_5min under "
        + dir.resolve("offline").resolve("item_attribution_5min") + ": run the feature over events first"));
    assertThat(launcher.run("backfill", "--features=ctr_5min", "--from=2025-11-22", "--to=2025-11-21", offline),
        equalTo(2));
    assertThat(launcher.stderr(), containsString("backfill: --to=2025-11-21 is before --from=2025-11-22"));
  }

  /** Every stored row of {@code table}, by key, its write time left out. */
  private static Map<String, Map<String, Object>> rows(String url, FeatureTable table) {
    Map<String, Map<String, Object>> rows = new TreeMap<>();
    for (Map<String, Object> row : OnlineStore.forUrl(url).readTable(table)) {
      Map<String, Object> values = new TreeMap<>(row);
      values.remove("updated_at");
      rows.put(String.valueOf(row.get(table.key().name())), values);
    }
    assertThat(table.name() + " has rows", rows.isEmpty(), equalTo(false));
    return rows;
  }

  /**
   * The users and items tables, every 7th user and 4th item left out (their defaults), every 5th item without a
   * price; the same as the model's.
   */
  private static TrainingSetModel.Dimensions writeDimensions(Path directory) throws IOException {
    Map<String, String> segments = new TreeMap<>();
    List<String> users = new ArrayList<>();
    for (int user = 0; user < USERS; user++) {
      if (user % 7 != 3) {
        segments.put("u" + user, SEGMENTS.get(user % SEGMENTS.size()));
        users.add("{\"user_id\":\"u" + user + "\",\"country\":\"fr\",\"segment\":\""
            + segments.get("u" + user) + "\"}");
      }
    }
    Map<String, String> categories = new TreeMap<>();
    Map<String, Double> prices = new TreeMap<>();
    List<String> items = new ArrayList<>();
    for (int item = 0; item < ITEMS; item++) {
      if (item % 4 != 1) {
        categories.put("i" + item, CATEGORIES.get(item % CATEGORIES.size()));
        if (item % 5 != 0) {
          prices.put("i" + item, 5 + item * 2.5);
        }
        items.add("{\"item_id\":\"i" + item + "\",\"category\":\"" + categories.get("i" + item) + "\""
            + (prices.containsKey("i" + item) ? ",\"price\":" + prices.get("i" + item) : "") + "}");
      }
    }
    Files.write(directory.resolve("users.jsonl"), users, StandardCharsets.UTF_8);
    Files.write(directory.resolve("items.jsonl"), items, StandardCharsets.UTF_8);
    return new TrainingSetModel.Dimensions(segments, categories, prices);
  }

  /** A valid event's JSON line, its event added to {@code events}. */
  private static String event(
      List<TrainingSetModel.Event> events, String id, String user, String type, String item, long time) {
    events.add(new TrainingSetModel.Event(user, type, item, time));
    return "{\"event_id\":\"" + id + "\",\"user_id\":\"" + user + "\",\"event_type\":\"" + type + "\""
        + (item == null ? "" : ",\"item_id\":\"" + item + "\"") + ",\"timestamp\":" + time + "}";
  }

  /** {@code PREFIX0} to {@code PREFIX(count - 1)}, or an empty key one time in {@code emptyOneIn}. */
  private static String pick(Random random, String prefix, int count, int emptyOneIn) {
    return random.nextInt(emptyOneIn) == 0 ? "" : prefix + random.nextInt(count);
  }

  private static List<String> withOthers(List<String> keys, String... others) {
    List<String> all = new ArrayList<>(keys);
    all.addAll(List.of(others));
    return all;
  }

  /** One of {@code keys}, or an empty key one time in 20. */
  private static String pick(Random random, List<String> keys) {
    return random.nextInt(20) == 0 ? "" : keys.get(random.nextInt(keys.size()));
  }

  /**
   * A time over the events' span and beyond; one time in five at a window's end, one in ten at an event (a click's
   * time, a session's end), each exactly or one millisecond either side.
   */
  private static long spineTime(Random random, List<Long> eventTimes) {
    long time = START - 10 * MINUTE + (long) (random.nextDouble() * 250 * MINUTE);
    int roll = random.nextInt(10);
    if (roll < 2) {
      time = time - time % FIVE_MINUTES;
    } else if (roll < 3) {
      time = eventTimes.get(random.nextInt(eventTimes.size()));
    }
    return roll < 3 ? time + random.nextInt(3) - 1 : time;
  }
}
