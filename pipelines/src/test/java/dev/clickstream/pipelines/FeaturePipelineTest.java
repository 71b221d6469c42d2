package dev.clickstream.pipelines;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
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
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericDatumReader;
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
    try (Stream<Path> files = Files.walk(tableDir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".avro")).collect(Collectors.toList())) {
        try (DataFileReader<GenericRecord> reader =
            new DataFileReader<>(file.toFile(), new GenericDatumReader<>())) {
          for (GenericRecord record : reader) {
            rows.add(describe(record.get("item_id"), record.get("window_start"), record.get("impressions"),
                record.get("clicks")));
          }
        }
      }
    }
    return rows;
  }
}
