package dev.clickstream.pipelines;

import static dev.clickstream.pipelines.ClickEventsFile.MINUTE;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.store.WindowedFeatureReads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The click-count pipelines over a shuffled file with malformed records, on each runner: the pre-computed rows,
 * and the on-demand and tiled answers over what the raw-events pipeline stored, equal a plain-Java computation
 * over the same file.
 */
class ClickCountsFeatureTest {
  private static final WindowedAggregation CLICKS = FeatureDefinitions.CLICK_COUNTS;

  @AfterEach
  void closePools() {
    dev.clickstream.store.ConnectionPools.closeAll();
  }

  @ParameterizedTest(name = "{0} into {1}")
  @CsvSource({"DirectRunner, h2", "FlinkRunner, postgresql", "FlinkRunner, mariadb"})
  void statefulRowsEqualAnIndependentComputation(String runner, String dialect, @TempDir Path dir) throws Exception {
    ClickEventsFile events = new ClickEventsFile(dir.resolve("events.jsonl"), 11, 1_500, 12, 180);
    FeaturePipelineOptions options = options(runner, dialect, events, dir);

    PipelineResult result = run(options, pipeline -> FeaturePipeline.build(pipeline, TestRunners.features(options, "click-counts"), () -> 5L));

    Map<String, List<Object>> expected = new TreeMap<>();
    events.clicksByUser.keySet().forEach(user -> {
      List<Object> row = new ArrayList<>();
      row.add(events.latestClick(user));
      row.addAll(events.countsAsOf(user, events.latestClick(user)));
      expected.put(user, row);
    });
    assertThat(rows(options.getOnlineStore(), FeatureTables.CLICK_COUNTS, "event_time"), equalTo(expected));
    assertThat(Files.readAllLines(Path.of(options.getDeadLetter())).size(), is(events.malformed));
    assertThat(PipelineCountersReader.counter(result, "ParseEvents", "dead_letters"), is((long) events.malformed));
  }

  @Test
  void slidingRowsHoldEachUsersLastHoppingWindow(@TempDir Path dir) throws Exception {
    ClickEventsFile events = new ClickEventsFile(dir.resolve("events.jsonl"), 12, 400, 5, 90);
    FeaturePipelineOptions options = options(TestRunners.DIRECT, "h2", events, dir);
    options.setCounter(ClickCounter.SLIDING);

    run(options, pipeline -> FeaturePipeline.build(pipeline, TestRunners.features(options, "click-counts"), () -> 5L));

    Map<String, List<Object>> expected = new TreeMap<>();
    events.clicksByUser.keySet().forEach(user -> {
      // The last window of an hour, every minute, that holds the user's latest click.
      long end = Math.floorDiv(events.latestClick(user) + 60 * MINUTE, MINUTE) * MINUTE;
      List<Object> row = new ArrayList<>();
      row.add(end);
      row.addAll(events.countsBefore(user, end));
      expected.put(user, row);
    });
    assertThat(rows(options.getOnlineStore(), FeatureTables.CLICK_COUNTS_SLIDING, "window_end"), equalTo(expected));
  }

  @ParameterizedTest(name = "{0} into {1}")
  @CsvSource({"DirectRunner, mariadb", "FlinkRunner, postgresql"})
  void onDemandAndTiledAnswersEqualAnIndependentComputation(String runner, String dialect, @TempDir Path dir)
      throws Exception {
    ClickEventsFile events = new ClickEventsFile(dir.resolve("events.jsonl"), 13, 1_200, 8, 180);
    FeaturePipelineOptions options = options(runner, dialect, events, dir);

    run(options, pipeline -> FeaturePipeline.build(pipeline, TestRunners.features(options, "raw-events"), () -> 5L));

    OnlineStore store = OnlineStore.forUrl(options.getOnlineStore());
    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);
    int checked = 0;
    for (String user : events.clicksByUser.keySet()) {
      long latest = events.latestClick(user);
      // Raw events are kept for the longest window plus 5 minutes before each user's latest click.
      for (long asOf : new long[] {latest, latest - 1, latest + 1, latest - 5 * MINUTE, latest + 30_000,
          latest + 59 * MINUTE + 59_999, latest + 60 * MINUTE, latest + 61 * MINUTE}) {
        List<Long> expected = events.countsAsOf(user, asOf);
        String context = user + " as of " + asOf;
        assertThat(context + " on demand",
            new ArrayList<>(CLICKS.features(reads.onDemand(CLICKS, user, asOf).perWindow()).values()),
            equalTo(new ArrayList<Object>(expected)));
        assertThat(context + " tiled",
            new ArrayList<>(CLICKS.features(reads.tiled(CLICKS, user, asOf).perWindow()).values()),
            equalTo(new ArrayList<Object>(expected)));
        checked++;
      }
      long retained = events.clicksByUser.get(user).stream().filter(t -> t >= latest - 65 * MINUTE).count();
      long stored = store.readTable(CLICKS.rawEventsTable()).stream()
          .filter(row -> row.get("user_id").equals(user) && (Long) row.get("event_time") >= latest - 65 * MINUTE)
          .count();
      assertThat(user + " raw clicks within the retention", stored, is(retained));
    }
    assertThat(checked, is(8 * events.clicksByUser.size()));
  }

  @Test
  void allPipelinesShareOneParseAndWriteEveryTable(@TempDir Path dir) throws Exception {
    ClickEventsFile events = new ClickEventsFile(dir.resolve("events.jsonl"), 14, 800, 6, 120);
    FeaturePipelineOptions options = TestRunners.options(TestRunners.FLINK, FeaturePipelineOptions.class);
    options.setInput(events.path.toString());
    options.setOnlineStore(StoreFixtures.freshStoreUrl("h2"));
    options.setOfflineStore(dir.resolve("offline").toString());
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());

    PipelineResult result = run(options, pipeline -> FeaturePipeline.build(pipeline, TestRunners.features(options, "all"), () -> 5L));

    OnlineStore store = OnlineStore.forUrl(options.getOnlineStore());
    assertThat(store.readTable(FeatureTables.CLICK_COUNTS).size(), is(events.clicksByUser.size()));
    assertThat(store.readTable(FeatureTables.CTR_5MIN).size(), is(6));
    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);
    for (String user : events.clicksByUser.keySet()) {
      long latest = events.latestClick(user);
      Map<String, Object> row = store.read(FeatureTables.CLICK_COUNTS, user).orElseThrow();
      List<Object> precomputed = new ArrayList<>();
      CLICKS.featureColumns().forEach(column -> precomputed.add(row.get(column)));
      assertThat(precomputed, equalTo(new ArrayList<Object>(events.countsAsOf(user, latest))));
      assertThat(new ArrayList<>(CLICKS.features(reads.onDemand(CLICKS, user, latest).perWindow()).values()),
          equalTo(precomputed));
      assertThat(new ArrayList<>(CLICKS.features(reads.tiled(CLICKS, user, latest).perWindow()).values()),
          equalTo(precomputed));
    }
    // One parse: each malformed record is one dead letter, not one per pipeline.
    assertThat(Files.readAllLines(Path.of(options.getDeadLetter())).size(), is(events.malformed));
    assertThat(PipelineCountersReader.counter(result, "ParseEvents", "dead_letters"), is((long) events.malformed));
  }

  private static FeaturePipelineOptions options(
      String runner, String dialect, ClickEventsFile events, Path dir) {
    FeaturePipelineOptions options = TestRunners.options(runner, FeaturePipelineOptions.class);
    options.setInput(events.path.toString());
    options.setOnlineStore(StoreFixtures.freshStoreUrl(dialect));
    options.setOfflineStore(dir.resolve("offline").toString());
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());
    return options;
  }

  private static PipelineResult run(
      org.apache.beam.sdk.options.PipelineOptions options, java.util.function.Consumer<Pipeline> build) {
    Pipeline pipeline = Pipeline.create(options);
    build.accept(pipeline);
    PipelineResult result = pipeline.run();
    assertThat(result.waitUntilFinish(), is(PipelineResult.State.DONE));
    return result;
  }

  /** user -> [time column, counts shortest window first] of every stored row. */
  private static Map<String, List<Object>> rows(String url, FeatureTable table, String timeColumn) {
    Map<String, List<Object>> rows = new TreeMap<>();
    for (Map<String, Object> row : OnlineStore.forUrl(url).readTable(table)) {
      List<Object> values = new ArrayList<>();
      values.add(row.get(timeColumn));
      CLICKS.featureColumns().forEach(column -> values.add(row.get(column)));
      rows.put((String) row.get("user_id"), values);
    }
    return rows;
  }
}
