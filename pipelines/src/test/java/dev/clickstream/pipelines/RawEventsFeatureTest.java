package dev.clickstream.pipelines;

import static dev.clickstream.pipelines.ClickEventsFile.START;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.store.WindowedFeatureReads;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The raw-events pipeline from a file into a real PostgreSQL: which events land, and what the two read paths say. */
class RawEventsFeatureTest {
  private static final WindowedAggregation CLICKS = FeatureDefinitions.CLICK_COUNTS;
  private static final long AS_OF = START + 10_000;

  @AfterEach
  void closePools() {
    ConnectionPools.closeAll();
  }

  @Test
  void twoUsersWithTheSameEventIdsBothLandAndOnDemandEqualsTiled(@TempDir Path dir) throws Exception {
    // Every generated file numbers its events e0, e1, ...: two users' x0-x2 must not collide.
    List<String> lines = new ArrayList<>();
    for (String user : List.of("u1", "u2")) {
      for (int i = 0; i < 3; i++) {
        lines.add(CtrFeatureTest.event("x" + i, user, "click", START + 1_000 * (i + 1) + (user.equals("u2") ? 7 : 0)));
      }
    }
    ClickstreamOptions options = options(dir, lines);

    PipelineResult result = run(options, List.of());

    assertThat(result.getState(), is(PipelineResult.State.DONE));
    OnlineStore store = OnlineStore.forUrl(options.getOnlineStore());
    List<String> stored = new ArrayList<>();
    for (Map<String, Object> row : store.readTable(CLICKS.rawEventsTable())) {
      stored.add(row.get("user_id") + "/" + row.get("event_id") + "@" + ((Number) row.get("event_time")).longValue());
    }
    assertThat(stored, equalTo(List.of(
        "u1/x0@" + (START + 1_000), "u1/x1@" + (START + 2_000), "u1/x2@" + (START + 3_000),
        "u2/x0@" + (START + 1_007), "u2/x1@" + (START + 2_007), "u2/x2@" + (START + 3_007))));
    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);
    for (String user : List.of("u1", "u2")) {
      assertThat(user + " on demand", List.copyOf(CLICKS.features(reads.onDemand(CLICKS, user, AS_OF).perWindow()).values()),
          equalTo(List.of(3L, 3L, 3L, 3L)));
      assertThat(user + " tiled", List.copyOf(CLICKS.features(reads.tiled(CLICKS, user, AS_OF).perWindow()).values()),
          equalTo(List.of(3L, 3L, 3L, 3L)));
    }
  }

  @Test
  void aNulInAUserIdIsADeadLetterAndTheGoodEventsAreStored(@TempDir Path dir) throws Exception {
    // The audit's probe: valid JSON that PostgreSQL refuses (SQLState 22021) used to fail the batch and the run.
    String nul = "{\"event_id\":\"e2\",\"user_id\":\"u\\u0000x\",\"event_type\":\"click\",\"timestamp\":" + (START + 2_000)
        + "}";
    List<String> lines =
        List.of(CtrFeatureTest.event("e1", "u1", "click", START + 1_000), nul,
            CtrFeatureTest.event("e3", "u1", "click", START + 3_000));
    ClickstreamOptions options = options(dir, lines);

    PipelineResult result =
        run(options, List.of("invalid_field field 'user_id' holds the control character U+0000 at index 1 " + nul));

    assertThat(result.getState(), is(PipelineResult.State.DONE));
    OnlineStore store = OnlineStore.forUrl(options.getOnlineStore());
    List<String> stored = new ArrayList<>();
    for (Map<String, Object> row : store.readTable(CLICKS.rawEventsTable())) {
      stored.add(row.get("user_id") + "/" + row.get("event_id"));
    }
    assertThat(stored, equalTo(List.of("u1/e1", "u1/e3")));
    assertThat(
        List.copyOf(CLICKS.features(WindowedFeatureReads.forStore(store).tiled(CLICKS, "u1", AS_OF).perWindow()).values()),
        equalTo(List.of(2L, 2L, 2L, 2L)));
    assertThat(Files.readString(dir.resolve("dead-letters.jsonl")).lines().count(), is(1L));
  }

  private static ClickstreamOptions options(Path dir, List<String> lines) throws Exception {
    Path input = dir.resolve("events.jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);
    ClickstreamOptions options = TestRunners.options(TestRunners.DIRECT, ClickstreamOptions.class);
    options.setInput(input.toString());
    options.setOnlineStore(StoreFixtures.freshStoreUrl("postgresql"));
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());
    return options;
  }

  /** Runs the raw-events pipeline to the end, checking its dead letters as "reason detail raw". */
  private static PipelineResult run(ClickstreamOptions options, List<String> expectedDeadLetters) {
    Pipeline pipeline = Pipeline.create(options);
    PCollection<DeadLetter> deadLetters =
        FeaturePipeline.build(pipeline, TestRunners.features(options.as(FeaturePipelineOptions.class), "raw-events"),
            () -> 5L).deadLetters;
    PAssert.that(
            deadLetters.apply(
                MapElements.into(TypeDescriptors.strings())
                    .via((DeadLetter letter) ->
                        letter.getReason() + " " + letter.getDetail() + " " + letter.getRawPayload())))
        .containsInAnyOrder(expectedDeadLetters);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    return result;
  }
}
