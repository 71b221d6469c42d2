package dev.clickstream.offline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.CompileFeature;
import dev.clickstream.transforms.OfflineFiles;
import dev.clickstream.transforms.WriteOfflineEvents;
import dev.clickstream.transforms.WriteOfflineFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The point-in-time join against {@link TrainingSetModel}, over history that the compiled features wrote from a
 * stream with late events: a late impression that corrects a closed CTR window (a second, LATE row of the window),
 * and a late event that merges two written sessions into one. The spine asks at every window end, session end and
 * click, one millisecond before and after each, before any history and after everything.
 */
class PointInTimeJoinTest {
  /** 2024-03-01T12:00:00Z, a window start. */
  private static final long T0 = 1_709_294_400_000L;
  private static final long MINUTE = 60_000L;

  @Test
  void everyColumnAtEveryEdgeEqualsTheModel(@TempDir Path dir) throws Exception {
    List<TrainingSetModel.Event> events = new ArrayList<>();
    TestStream<ClickEvent> stream =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .advanceWatermarkTo(new Instant(T0))
            .addElements(
                event(events, "alice", "impression", T0 + MINUTE),
                event(events, "alice", "click", T0 + 2 * MINUTE),
                event(events, "alice", "impression", T0 + 7 * MINUTE),
                event(events, "alice", "click", T0 + 7 * MINUTE),
                event(events, "alice", "impression", T0 + 50 * MINUTE),
                event(events, "bob", "click", T0 + 3 * MINUTE),
                event(events, "bob", "impression", T0 + 12 * MINUTE))
            .advanceWatermarkTo(new Instant(T0 + 20 * MINUTE))
            // Late: alice's window [T0, T0 + 5 min) has been written; this impression corrects it.
            .addElements(event(events, "alice", "impression", T0 + 4 * MINUTE))
            .advanceWatermarkTo(new Instant(T0 + 85 * MINUTE))
            // Late: alice's sessions ending at T0 + 7 min and T0 + 50 min have been written; this merges them.
            .addElements(event(events, "alice", "click", T0 + 28 * MINUTE))
            .advanceWatermarkToInfinity();
    writeHistory(stream, dir.resolve("offline"));
    assertThat(
        "the late impression's corrected row and the stale sessions are all in the history",
        List.of(history(dir, FeatureDefinitions.CTR_5MIN.table()), history(dir, FeatureDefinitions.USER_SESSIONS.table())),
        equalTo(List.of(7, 4)));

    TrainingSetModel model = new TrainingSetModel(events);
    List<String> spine = new ArrayList<>(List.of("user_id,timestamp,label"));
    List<Object[]> asked = new ArrayList<>();
    for (String user : List.of("alice", "bob", "carol")) {
      List<Long> times = new ArrayList<>(List.of(T0 - 60 * MINUTE, T0 + 7 * MINUTE, T0 + 50 * MINUTE,
          T0 + 10 * 24 * 60 * MINUTE));
      times.addAll(model.boundaries(user));
      times.addAll(model.boundaries("alice"));
      for (long time : times) {
        for (long t = time - 1; t <= time + 1; t++) {
          spine.add(user + "," + t + "," + asked.size() % 2);
          asked.add(new Object[] {user, t});
        }
      }
    }
    spine.add("," + T0 + ",1"); // no entity: every value null
    asked.add(new Object[] {null, T0});

    List<GenericRecord> rows = TrainingDataTesting.build(dir, spine, "training.parquet", DirectRunner.class,
        "ctr_5min", "click_counts", "click_counts_on_demand", "user_sessions");

    assertThat(rows.size(), equalTo(asked.size()));
    for (int i = 0; i < rows.size(); i++) {
      String user = (String) asked.get(i)[0];
      long t = (Long) asked.get(i)[1];
      Map<String, Object> expected = new LinkedHashMap<>();
      expected.put("user_id", user);
      expected.put("timestamp", t);
      expected.put("label", user == null ? 1L : (long) (i % 2));
      if (user == null) {
        model.at("nobody", t).keySet().forEach(column -> expected.put(column, null));
      } else {
        expected.putAll(model.at(user, t));
      }
      assertThat("spine row " + i, TrainingDataTesting.values(rows.get(i)), equalTo(expected));
    }
  }

  private static void writeHistory(TestStream<ClickEvent> stream, Path offline) {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.fromArgs("--runner=DirectRunner").create());
    PCollection<ClickEvent> events = pipeline.apply(stream);
    CompileFeature compiler = CompileFeature.withClock(() -> 0L).withAllowedLateness(Duration.standardMinutes(60));
    events.apply(WriteOfflineEvents.to(offline.toString()));
    PCollectionTuple ctr = events.apply("ctr_5min", compiler.tumbling(FeatureDefinitions.CTR_5MIN, ClickEvent.class));
    ctr.get(CompileFeature.rowsOf(FeatureDefinitions.CTR_5MIN.table()))
        .apply("WriteCtr", WriteOfflineFiles.of(FeatureDefinitions.CTR_5MIN.table()).to(offline.toString()));
    PCollectionTuple sessions =
        events.apply("user_sessions", compiler.session(FeatureDefinitions.USER_SESSIONS, ClickEvent.class));
    sessions.get(CompileFeature.rowsOf(FeatureDefinitions.USER_SESSIONS.table()))
        .apply("WriteSessions", WriteOfflineFiles.of(FeatureDefinitions.USER_SESSIONS.table()).to(offline.toString()));
    assertThat(pipeline.run().waitUntilFinish(), equalTo(PipelineResult.State.DONE));
  }

  private static int history(Path dir, FeatureTable table) throws Exception {
    return OfflineFiles.read(dir.resolve("offline").resolve(table.name())).size();
  }

  private static TimestampedValue<ClickEvent> event(
      List<TrainingSetModel.Event> events, String user, String type, long time) {
    events.add(new TrainingSetModel.Event(user, type, time));
    return TimestampedValue.of(
        ClickEvent.newBuilder()
            .setEventId(user + "-" + events.size())
            .setUserId(user)
            .setEventType(type)
            .setTimestamp(time)
            .build(),
        new Instant(time));
  }

}
