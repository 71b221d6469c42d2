package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.offline.TrainingSetModel;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end through the launcher, on embedded Flink: a shuffled file of events run through the features, then
 * {@code training-data} over a shuffled spine of 10,000 rows: each column equals {@link TrainingSetModel}, in spine
 * order. Then {@code backfill --online} from the offline events writes the same online rows as the run did.
 */
class TrainingDataEndToEndTest {
  /** 2025-11-22T08:26:40Z. */
  private static final long START = 1_763_800_000_000L;
  private static final long MINUTE = 60_000L;
  private static final int USERS = 30;
  private static final int SPINE_ROWS = 10_000;
  /** The features whose views the training set joins, run in one job (the same for every other feature). */
  private static final String FEATURES = "ctr_5min,click_counts,user_sessions";

  @Test
  void aTrainingSetEqualsTheModelAndABackfillEqualsTheRun(@TempDir Path dir) throws Exception {
    Random random = new Random(19);
    List<TrainingSetModel.Event> events = new ArrayList<>();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 1_200; i++) {
      String user = "u" + random.nextInt(USERS);
      // Bursts with gaps, so users have several sessions; a few types CTR ignores.
      long time = START + random.nextInt(4) * 40 * MINUTE + (long) (random.nextDouble() * 25 * MINUTE);
      int roll = random.nextInt(10);
      String type = roll < 6 ? "impression" : roll < 9 ? "click" : "page_view";
      events.add(new TrainingSetModel.Event(user, type, time));
      lines.add("{\"event_id\":\"e" + i + "\",\"user_id\":\"" + user + "\",\"event_type\":\"" + type
          + "\",\"item_id\":\"i" + random.nextInt(8) + "\",\"timestamp\":" + time + "}");
    }
    Collections.shuffle(lines, random);
    Path input = dir.resolve("events.jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);
    String offline = "--offlineStore=" + dir.resolve("offline");
    String runStore = StoreFixtures.freshH2Url();
    Launcher launcher = new Launcher();
    List<String> run = new ArrayList<>(List.of("run"));
    run.addAll(List.of(FEATURES.split(",")));
    run.addAll(List.of("--input=" + input, "--onlineStore=" + runStore, offline,
        "--deadLetter=" + dir.resolve("dead-letters.jsonl")));
    assertThat(launcher.stderr(), launcher.run(run.toArray(new String[0])), equalTo(0));

    List<String> spine = new ArrayList<>();
    for (int i = 0; i < SPINE_ROWS; i++) {
      String user = "u" + random.nextInt(USERS + 2); // two users without events
      long time = START - 10 * MINUTE + (long) (random.nextDouble() * 200 * MINUTE);
      spine.add(user + "," + time + "," + random.nextInt(2));
    }
    Collections.shuffle(spine, random);
    List<String> withHeader = new ArrayList<>(List.of("user_id,timestamp,label"));
    withHeader.addAll(spine);
    Path spineFile = dir.resolve("spine.csv");
    Files.write(spineFile, withHeader, StandardCharsets.UTF_8);
    Path output = dir.resolve("training.csv");
    assertThat(launcher.stderr(), launcher.run("training-data", "--spine=" + spineFile,
        "--features=ctr_5min,click_counts,click_counts_on_demand,user_sessions", "--output=" + output, offline),
        equalTo(0));
    assertThat(launcher.stdout(), containsString("Wrote 10,000 rows of 23 columns to " + output));

    TrainingSetModel model = new TrainingSetModel(events);
    List<String> written = Files.readAllLines(output, StandardCharsets.UTF_8);
    List<String> header = new ArrayList<>(List.of("user_id", "timestamp", "label"));
    header.addAll(model.at("u0", START).keySet());
    assertThat(List.of(written.get(0).split(",")), equalTo(header));
    assertThat(written.size(), equalTo(SPINE_ROWS + 1));
    for (int i = 0; i < SPINE_ROWS; i++) {
      String[] asked = spine.get(i).split(",");
      List<String> expected = new ArrayList<>(List.of(asked));
      model.at(asked[0], Long.parseLong(asked[1])).values()
          .forEach(value -> expected.add(value == null ? "" : value.toString()));
      assertThat("spine row " + i, List.of(written.get(i + 1).split(",", -1)), equalTo(expected));
    }

    // The same events, from the offline store, through the same job in batch: the same online rows.
    String backfillStore = StoreFixtures.freshH2Url();
    String day = Instant.ofEpochMilli(START).atZone(ZoneOffset.UTC).toLocalDate().toString();
    assertThat(launcher.stderr(), launcher.run("backfill", "--features=" + FEATURES, "--from=" + day, "--to=" + day,
        "--online", "--onlineStore=" + backfillStore, offline,
        "--deadLetter=" + dir.resolve("backfill-dead-letters.jsonl")), equalTo(0));
    for (String name : FEATURES.split(",")) {
      FeatureTable table = FeatureDefinitions.REGISTRY.byName(name).map(FeatureDefinition::table).orElseThrow();
      assertThat(name, rows(backfillStore, table), equalTo(rows(runStore, table)));
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
    assertThat(table.name() + " has rows", rows.size(), equalTo(USERS));
    return rows;
  }
}
