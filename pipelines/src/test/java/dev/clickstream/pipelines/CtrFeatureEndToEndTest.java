package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

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
import java.util.stream.Stream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CTR pipeline over a shuffled file with malformed records, on each runner into each store: the online rows
 * must equal a plain-Java computation over the same file, and every malformed record must be a dead letter.
 */
class CtrFeatureEndToEndTest {
  private static final long START = 1_763_800_000_000L;
  private static final long WINDOW = 300_000L;
  private static final int EVENTS = 3_000;
  private static final int USERS = 40;

  static Stream<Arguments> runnersAndStores() {
    List<Arguments> cases = new ArrayList<>();
    for (String runner : TestRunners.names()) {
      for (String dialect : StoreFixtures.dialects()) {
        cases.add(Arguments.of(runner, dialect));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} into {1}")
  @MethodSource("runnersAndStores")
  void onlineRowsEqualAnIndependentComputation(String runner, String dialect, @TempDir Path dir) throws Exception {
    Random random = new Random(7);
    List<String> lines = new ArrayList<>();
    List<long[]> valid = new ArrayList<>(); // {user, timestamp, type: 0 impression, 1 click, 2 other}
    int malformed = 0;
    for (int i = 0; i < EVENTS; i++) {
      int user = random.nextInt(USERS);
      long timestamp = START + (long) (random.nextDouble() * 40 * 60_000);
      int type = random.nextInt(10) < 1 ? 1 : random.nextInt(20) == 0 ? 2 : 0;
      if (random.nextInt(100) < 3) {
        lines.add(malformedLine(i, random.nextInt(3)));
        malformed++;
        continue;
      }
      valid.add(new long[] {user, timestamp, type});
      lines.add(CtrFeatureTest.event("e" + i, "u" + user, type == 0 ? "impression" : type == 1 ? "click" : "other",
          timestamp));
    }
    Collections.shuffle(lines, random);
    Path input = dir.resolve("events.jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);

    FeaturePipelineOptions options = TestRunners.ctrOptions(runner);
    options.setInput(input.toString());
    options.setOnlineStore(StoreFixtures.freshStoreUrl(dialect));
    options.setOfflineStore(dir.resolve("offline").toString());
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());
    Pipeline pipeline = Pipeline.create(options);
    FeaturePipeline.build(pipeline, TestRunners.features(options, "ctr"), () -> 1L);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    Map<String, String> expected = latestWindowPerUser(valid);
    Map<String, String> actual = new TreeMap<>();
    List<String> users = new ArrayList<>();
    for (int user = 0; user < USERS; user++) {
      users.add("u" + user);
    }
    OnlineStore.forUrl(options.getOnlineStore())
        .readAll(FeatureTables.CTR_5MIN, users)
        .forEach((user, row) -> actual.put(user, row.get("window_start") + " " + row.get("window_end") + " "
            + row.get("impressions") + " " + row.get("clicks") + " " + row.get("ctr")));
    assertThat(actual, equalTo(expected));
    assertThat((long) Files.readAllLines(dir.resolve("dead-letters.jsonl")).size(), equalTo((long) malformed));
    assertThat(PipelineCountersReader.counter(result, "ParseEvents", "dead_letters"), equalTo((long) malformed));
    assertThat(PipelineCountersReader.counter(result, "ParseEvents", "events_parsed"), equalTo((long) valid.size()));
  }

  /** user -> "start end impressions clicks ctr" of the latest window holding an impression or a click. */
  private static Map<String, String> latestWindowPerUser(List<long[]> events) {
    Map<String, Map<Long, long[]>> windows = new TreeMap<>();
    for (long[] event : events) {
      if (event[2] == 2) {
        continue;
      }
      long start = event[1] - Math.floorMod(event[1], WINDOW);
      long[] counts = windows.computeIfAbsent("u" + event[0], u -> new TreeMap<>())
          .computeIfAbsent(start, s -> new long[2]);
      counts[(int) event[2]]++;
    }
    Map<String, String> latest = new TreeMap<>();
    windows.forEach((user, byStart) -> {
      Map.Entry<Long, long[]> last = ((TreeMap<Long, long[]>) byStart).lastEntry();
      long impressions = last.getValue()[0];
      long clicks = last.getValue()[1];
      Double ctr = impressions == 0 ? null : (double) clicks / impressions;
      latest.put(user, last.getKey() + " " + (last.getKey() + WINDOW) + " " + impressions + " " + clicks + " " + ctr);
    });
    return latest;
  }

  private static String malformedLine(int i, int kind) {
    switch (kind) {
      case 0:
        return "{\"event_id\":\"e" + i + "\",\"user_id\":";
      case 1:
        return "{\"event_id\":\"e" + i + "\",\"user_id\":\"u1\",\"event_type\":\"click\",\"timestamp\":\"soon\"}";
      default:
        return "garbage " + i;
    }
  }
}
