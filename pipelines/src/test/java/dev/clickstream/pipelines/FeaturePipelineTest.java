package dev.clickstream.pipelines;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import dev.clickstream.transforms.OfflineFiles;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proof that a declaration is all a feature needs: a feature that is not in the project's registry,
 * impressions per item over 10-minute tumbling windows, gets its table, its streaming computation, its online rows
 * and its offline history from {@link FeaturePipeline} alone, equal to a plain-Java computation over the same
 * events.
 */
class FeaturePipelineTest {
  /** 2025-11-22T08:20:00Z, a 10-minute boundary. */
  private static final long START = 1_763_799_600_000L;
  private static final long TEN_MINUTES = 600_000L;
  private static final long UPDATED_AT = 7L;
  private static final int EVENTS = 600;
  private static final int ITEMS = 12;

  /** Not in {@link FeatureDefinitions#REGISTRY}: declared here, and nowhere else. */
  private static final TumblingAggregation ITEM_IMPRESSIONS_10MIN =
      TumblingAggregation.named("item_impressions_10min")
          .groupBy("item_id")
          .window(minutes(10))
          .agg(count().where("event_type", "impression").as("impressions"),
              count().where("event_type", "click").as("clicks"))
          .ratio("ctr", "clicks", "impressions")
          .build();

  private static final long SESSION_GAP = 30 * 60_000L;

  /** Sessions per country, a field of the users dimension: not in the registry either. */
  private static final SessionAggregation COUNTRY_SESSIONS =
      SessionAggregation.named("country_sessions")
          .groupBy("user_country")
          .gap(java.time.Duration.ofMillis(SESSION_GAP))
          .countWhere("event_type", "click")
          .build();

  @Test
  void aFeatureDeclaredOutsideTheRegistryGetsItsTableStreamAndHistory(@TempDir Path dir) throws IOException {
    Random random = new Random(17);
    List<String> lines = new ArrayList<>();
    // item -> window start -> {impressions, clicks}, from the events alone.
    Map<String, TreeMap<Long, long[]>> expected = new TreeMap<>();
    for (int i = 0; i < EVENTS; i++) {
      String item = "item" + random.nextInt(ITEMS);
      long timestamp = START + (long) (random.nextDouble() * 35 * 60_000);
      String type = random.nextInt(4) == 0 ? "click" : random.nextInt(10) == 0 ? "page_view" : "impression";
      lines.add("{\"event_id\":\"e" + i + "\",\"user_id\":\"u" + random.nextInt(30) + "\",\"event_type\":\"" + type
          + "\",\"item_id\":\"" + item + "\",\"timestamp\":" + timestamp + "}");
      if (!type.equals("page_view")) {
        long[] counts = expected.computeIfAbsent(item, unused -> new TreeMap<>())
            .computeIfAbsent(timestamp - timestamp % TEN_MINUTES, unused -> new long[2]);
        counts[type.equals("impression") ? 0 : 1]++;
      }
    }
    Path input = dir.resolve("events.jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);
    FeaturePipelineOptions options =
        TestRunners.features(TestRunners.options(TestRunners.DIRECT, FeaturePipelineOptions.class),
            ITEM_IMPRESSIONS_10MIN.name());
    options.setInput(input.toString());
    options.setOnlineStore(StoreFixtures.freshH2Url());
    options.setOfflineStore(dir.resolve("offline").toString());
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());

    FeatureRegistry registry = FeatureDefinitions.REGISTRY.plus(ITEM_IMPRESSIONS_10MIN);
    Pipeline pipeline = Pipeline.create(options);
    FeaturePipeline.build(pipeline, options, () -> UPDATED_AT, registry);
    assertThat(pipeline.run().waitUntilFinish(), equalTo(PipelineResult.State.DONE));

    Map<String, Map<String, Object>> latest = new TreeMap<>();
    List<String> history = new ArrayList<>();
    expected.forEach((item, windows) -> {
      windows.forEach((start, counts) -> history.add(describe(item, start, counts[0], counts[1])));
      Map.Entry<Long, long[]> last = windows.lastEntry();
      latest.put(item, onlineRow(item, last.getKey(), last.getValue()[0], last.getValue()[1]));
    });
    assertThat(
        OnlineStore.forUrl(options.getOnlineStore()).readAll(ITEM_IMPRESSIONS_10MIN.table(), latest.keySet()),
        equalTo(latest));
    List<String> offline = offlineRows(dir.resolve("offline").resolve(ITEM_IMPRESSIONS_10MIN.name()));
    offline.sort(null);
    history.sort(null);
    assertThat(offline, equalTo(history));
    assertThat(Files.readAllLines(dir.resolve("dead-letters.jsonl")), empty());
  }

  /**
   * A session feature over a field of the enriched stream, the user's country from the users dimension: the job
   * enriches the events because the declaration reads a field click events lack, and the latest session per country
   * equals a plain-Java sessionization of the same events.
   */
  @Test
  void aFeatureOfTheEnrichedStreamIsComputedOverEnrichedEvents(@TempDir Path dir) throws IOException {
    Path dimensions = Files.createDirectories(dir.resolve("dimensions"));
    List<String> users = new ArrayList<>();
    for (int user = 0; user < 8; user++) {
      users.add("{\"user_id\":\"u" + user + "\",\"country\":\"" + (user < 4 ? "fr" : "de") + "\"}");
    }
    Files.write(dimensions.resolve("users.jsonl"), users, StandardCharsets.UTF_8);
    Files.write(dimensions.resolve("items.jsonl"), List.of("{\"item_id\":\"i0\",\"category\":\"shoes\"}"),
        StandardCharsets.UTF_8);
    Random random = new Random(23);
    List<String> lines = new ArrayList<>();
    // country -> event times and whether each was a click; u9 is not in the users table: its country is unknown.
    Map<String, TreeMap<Long, Boolean>> byCountry = new TreeMap<>();
    for (int i = 0; i < 200; i++) {
      int user = random.nextInt(10);
      long timestamp = START + (long) (random.nextDouble() * 4 * 60 * 60_000);
      boolean click = random.nextInt(3) == 0;
      lines.add("{\"event_id\":\"e" + i + "\",\"user_id\":\"u" + user + "\",\"event_type\":\""
          + (click ? "click" : "impression") + "\",\"item_id\":\"i0\",\"timestamp\":" + timestamp + "}");
      String country = user < 4 ? "fr" : user < 8 ? "de" : "unknown";
      byCountry.computeIfAbsent(country, unused -> new TreeMap<>()).put(timestamp, click);
    }
    Map<String, Map<String, Object>> latest = new TreeMap<>();
    byCountry.forEach((country, events) -> latest.put(country, latestSession(country, events)));
    Path input = dir.resolve("events.jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);
    FeaturePipelineOptions options =
        TestRunners.features(TestRunners.options(TestRunners.DIRECT, FeaturePipelineOptions.class),
            COUNTRY_SESSIONS.name());
    options.setInput(input.toString());
    options.setDimensions(dimensions.toString());
    options.setOnlineStore(StoreFixtures.freshH2Url());
    options.setOfflineStore(dir.resolve("offline").toString());
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());

    Pipeline pipeline = Pipeline.create(options);
    FeaturePipeline.build(pipeline, options, () -> UPDATED_AT, FeatureDefinitions.REGISTRY.plus(COUNTRY_SESSIONS));
    assertThat(pipeline.run().waitUntilFinish(), equalTo(PipelineResult.State.DONE));

    assertThat(
        OnlineStore.forUrl(options.getOnlineStore()).readAll(COUNTRY_SESSIONS.table(), latest.keySet()),
        equalTo(latest));
    assertThat(Files.readAllLines(dir.resolve("dead-letters.jsonl")), empty());
  }

  /** The last session of {@code events}: events less than the gap apart share one. */
  private static Map<String, Object> latestSession(String country, TreeMap<Long, Boolean> events) {
    long start = events.firstKey();
    long end = start;
    long count = 0;
    long clicks = 0;
    for (Map.Entry<Long, Boolean> event : events.entrySet()) {
      if (event.getKey() - end >= SESSION_GAP) {
        start = event.getKey();
        count = 0;
        clicks = 0;
      }
      end = event.getKey();
      count++;
      clicks += event.getValue() ? 1 : 0;
    }
    Map<String, Object> row = new java.util.LinkedHashMap<>();
    row.put("user_country", country);
    row.put("session_start", start);
    row.put("session_end", end);
    row.put("session_length_ms", end - start);
    row.put("events", count);
    row.put("clicks", clicks);
    row.put("updated_at", UPDATED_AT);
    return row;
  }

  private static Map<String, Object> onlineRow(String item, long windowStart, long impressions, long clicks) {
    Map<String, Object> row = new java.util.LinkedHashMap<>();
    row.put("item_id", item);
    row.put("window_start", windowStart);
    row.put("window_end", windowStart + TEN_MINUTES);
    row.put("impressions", impressions);
    row.put("clicks", clicks);
    row.put("ctr", impressions == 0 ? null : (double) clicks / impressions);
    row.put("updated_at", UPDATED_AT);
    return row;
  }

  private static String describe(Object item, Object windowStart, Object impressions, Object clicks) {
    return item + " " + windowStart + " " + impressions + " " + clicks;
  }

  /** Every offline record under {@code tableDir}, as "item window_start impressions clicks". */
  private static List<String> offlineRows(Path tableDir) throws IOException {
    List<String> rows = new ArrayList<>();
    for (GenericRecord record : OfflineFiles.read(tableDir)) {
      rows.add(describe(record.get("item_id"), record.get("window_start"), record.get("impressions"),
          record.get("clicks")));
    }
    return rows;
  }
}
