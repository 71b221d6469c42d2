package dev.clickstream.offline;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.pipelines.ClickCounter;
import dev.clickstream.pipelines.FeaturePipeline;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.pipelines.FeatureSelection;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.store.WindowedFeatureReads;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.OfflineFiles;
import dev.clickstream.transforms.WriteOfflineEvents;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training set's on-demand columns select events exactly as the stream does: among clicks with an empty user,
 * an empty or missing item and events of other types, each column equals what the online on-demand view answers at
 * {@code as_of = T} from the raw events the same job wrote, per user ({@code click_counts}) and per item (a rolling
 * feature keyed by a field events may lack). A spine row whose key is empty (a Parquet spine can hold one) gets
 * nulls, never the events of an empty entity.
 */
class OnDemandTrainingColumnTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long T0 = 1_709_294_400_000L;
  private static final long MINUTE = 60_000L;

  /** Clicks per item, which an event may lack or hold empty. */
  private static final WindowedAggregation ITEM_CLICKS =
      WindowedAggregation.named("item_clicks").filter("event_type", "click").groupBy("item_id")
          .window(minutes(1), minutes(10)).agg(count().as("click_count")).rawEventsTable("item_click_events").build();
  private static final FeatureRegistry REGISTRY = FeatureDefinitions.REGISTRY.plus(ITEM_CLICKS);
  private static final List<WindowedAggregation> FEATURES = List.of(FeatureDefinitions.CLICK_COUNTS, ITEM_CLICKS);

  @Test
  void onDemandColumnsEqualTheOnlineOnDemandView(@TempDir Path dir) throws Exception {
    List<ClickEvent> events = List.of(
        event("u1", "click", "i1", T0 + MINUTE),
        event("u1", "click", "i2", T0 + 5 * MINUTE),
        event("u1", "impression", "i1", T0 + 6 * MINUTE),
        event("u1", "page_view", "i1", T0 + 6 * MINUTE + 30_000),
        event("", "click", "i1", T0 + 6 * MINUTE),
        event("", "click", "i2", T0 + 7 * MINUTE),
        event("u1", "click", "", T0 + 8 * MINUTE),
        event("u2", "impression", "i2", T0 + 9 * MINUTE),
        event("u2", "click", "i1", T0 + 10 * MINUTE),
        event("u2", "click", null, T0 + 12 * MINUTE),
        event("u2", "click", null, T0 + 12 * MINUTE + 1));
    String onlineStore = StoreFixtures.freshH2Url();
    runTheStream(events, dir.resolve("offline"), onlineStore);

    Path spine = dir.resolve("spine.parquet");
    List<Object[]> asked = new ArrayList<>();
    List<String> users = Arrays.asList("u1", "u2", "", "u3");
    List<String> items = Arrays.asList("i1", "i2", "", null);
    List<Long> times = new ArrayList<>(List.of(T0 - MINUTE, T0 + 75 * MINUTE));
    events.forEach(event -> times.addAll(List.of(event.getTimestamp() - 1, event.getTimestamp(),
        event.getTimestamp() + 1, event.getTimestamp() + MINUTE, event.getTimestamp() + 10 * MINUTE + 1)));
    for (int t = 0; t < times.size(); t++) {
      for (int i = 0; i < users.size(); i++) {
        asked.add(new Object[] {users.get(i), items.get((i + t) % items.size()), times.get(t)});
      }
    }
    writeSpine(spine, asked);

    List<GenericRecord> rows = TrainingDataTesting.build(dir, spine, REGISTRY, "training.parquet",
        DirectRunner.class, "click_counts_on_demand", "item_clicks_on_demand");

    WindowedFeatureReads online = WindowedFeatureReads.forStore(OnlineStore.forUrl(onlineStore));
    assertThat(rows.size(), equalTo(asked.size()));
    for (int i = 0; i < rows.size(); i++) {
      Object[] row = asked.get(i);
      Map<String, Object> expected = new LinkedHashMap<>();
      expected.put("user_id", row[0]);
      expected.put("item_id", row[1]);
      expected.put("timestamp", row[2]);
      for (int f = 0; f < FEATURES.size(); f++) {
        expected.putAll(onlineAnswer(online, FEATURES.get(f), (String) row[f], (Long) row[2]));
      }
      assertThat("spine row " + i, TrainingDataTesting.values(rows.get(i)), equalTo(expected));
    }
  }

  /** The columns of {@code feature}'s on-demand view: the online answer at {@code asOf}, or nulls for no entity. */
  private static Map<String, Object> onlineAnswer(
      WindowedFeatureReads online, WindowedAggregation feature, String entity, long asOf) {
    String prefix = feature.onDemandView() + TrainingView.SEPARATOR;
    Map<String, Object> columns = new LinkedHashMap<>();
    boolean noEntity = entity == null || entity.isEmpty();
    WindowedFeatureReads.Answer answer = noEntity ? null : online.onDemand(feature, entity, asOf);
    columns.put(prefix + WindowedAggregation.EVENT_TIME, noEntity ? null : answer.latestEventTime());
    if (noEntity) {
      feature.features(online.onDemand(feature, "nobody", asOf).perWindow())
          .keySet().forEach(column -> columns.put(prefix + column, null));
    } else {
      feature.features(answer.perWindow()).forEach((column, value) -> columns.put(prefix + column, value));
    }
    return columns;
  }

  /** The job a stream runs over {@code events}: their offline copy and every raw event the on-demand views read. */
  private static void runTheStream(List<ClickEvent> events, Path offline, String onlineStore) {
    FeaturePipelineOptions options = PipelineOptionsFactory.as(FeaturePipelineOptions.class);
    options.setRunner(DirectRunner.class);
    options.setOnlineStore(onlineStore);
    options.setOfflineStore(offline.toString());
    Pipeline pipeline = Pipeline.create(options);
    PCollection<ClickEvent> stamped =
        pipeline
            .apply("Events", Create.of(events).withCoder(AvroCoder.of(ClickEvent.class)))
            .apply("AssignEventTime", AssignEventTime.fromEventTimestamp());
    stamped.apply("WriteOfflineEvents", WriteOfflineEvents.to(offline.toString()));
    List<String> views = FEATURES.stream().map(WindowedAggregation::onDemandView).toList();
    FeaturePipeline.buildFrom(stamped, options, () -> 0L, FeatureSelection.of(REGISTRY, views, ClickCounter.STATEFUL));
    assertThat(pipeline.run().waitUntilFinish(), equalTo(PipelineResult.State.DONE));
  }

  private static void writeSpine(Path file, List<Object[]> rows) throws Exception {
    Schema schema = SchemaBuilder.record("Spine").fields()
        .optionalString("user_id").optionalString("item_id").requiredLong("timestamp").endRecord();
    try (ParquetWriter<GenericRecord> writer =
        AvroParquetWriter.<GenericRecord>builder(OfflineFiles.output(file)).withSchema(schema).build()) {
      for (Object[] row : rows) {
        GenericRecord record = new GenericData.Record(schema);
        record.put("user_id", row[0]);
        record.put("item_id", row[1]);
        record.put("timestamp", row[2]);
        writer.write(record);
      }
    }
  }

  private static ClickEvent event(String user, String type, String item, long time) {
    return ClickEvent.newBuilder()
        .setEventId(user + "-" + type + "-" + item + "-" + time)
        .setUserId(user)
        .setEventType(type)
        .setItemId(item)
        .setTimestamp(time)
        .build();
  }
}
