package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.io.AvroEventFiles;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.transforms.FeatureRows;
import dev.clickstream.transforms.TestPipelineExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import dev.clickstream.transforms.OfflineFiles;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole CTR pipeline on a small, hand-checked input, on the Direct runner and on embedded Flink: the same
 * rows, dead letters, online rows and offline files on both.
 */
class CtrFeatureTest {
  /** 2025-11-22T08:25:00Z, a 5-minute boundary. */
  private static final long T0 = 1_763_799_900_000L;
  private static final long FIVE_MINUTES = 300_000L;
  private static final long UPDATED_AT = 1_111L;

  /** In arrival order: shuffled in time, with a page view, two malformed records and a blank line. */
  private static final List<String> INPUT =
      List.of(
          event("e5", "u1", "click", T0 + FIVE_MINUTES + 1),
          event("e1", "u1", "impression", T0),
          "this is not json",
          event("e4", "u1", "impression", T0 + FIVE_MINUTES),
          event("e6", "u2", "click", T0 + 60_000),
          event("e2", "u1", "impression", T0 + 10_000),
          "{\"event_id\":\"e9\",\"event_type\":\"click\",\"timestamp\":1}",
          event("e7", "u3", "impression", T0 + FIVE_MINUTES - 1),
          event("e8", "u3", "page_view", T0 + FIVE_MINUTES + 60_000),
          event("e3", "u1", "click", T0 + 20_000),
          "");

  static Stream<String> runners() {
    return TestRunners.names().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runners")
  void computesCtrOfEachUserAndWindowIntoBothStores(String runner, @TempDir Path dir) throws Throwable {
    Path input = dir.resolve("events.jsonl");
    Files.write(input, INPUT, StandardCharsets.UTF_8);
    FeaturePipelineOptions options = options(runner, input, dir);

    TestPipelineExtension.runInRule(
        TestPipeline.fromOptions(options),
        "ctr-" + runner,
        pipeline -> {
          FeaturePipeline.Outputs outputs = FeaturePipeline.build(pipeline, TestRunners.features(options, "ctr"), () -> UPDATED_AT);
          PAssert.that(outputs.rows(FeatureTables.CTR_5MIN))
              .containsInAnyOrder(
                  row("u1", T0, 2, 1, 0.5),
                  row("u1", T0 + FIVE_MINUTES, 1, 1, 1.0),
                  row("u2", T0, 0, 1, null),
                  row("u3", T0, 1, 0, 0.0));
          PAssert.that(
                  outputs.deadLetters.apply(
                      MapElements.into(TypeDescriptors.strings())
                          .via(deadLetter -> deadLetter.getReason() + "|" + deadLetter.getRawPayload())))
              .containsInAnyOrder(
                  "malformed_json|this is not json",
                  "missing_field|{\"event_id\":\"e9\",\"event_type\":\"click\",\"timestamp\":1}",
                  "empty_record|");
          pipeline.run().waitUntilFinish();
        });

    Map<String, Map<String, Object>> online =
        OnlineStore.forUrl(options.getOnlineStore()).readAll(FeatureTables.CTR_5MIN, List.of("u1", "u2", "u3"));
    assertThat(online.get("u1"), equalTo(onlineRow("u1", T0 + FIVE_MINUTES, 1, 1, 1.0)));
    assertThat(online.get("u2"), equalTo(onlineRow("u2", T0, 0, 1, null)));
    assertThat(online.get("u3"), equalTo(onlineRow("u3", T0, 1, 0, 0.0)));

    assertThat(deadLetterReasons(dir.resolve("dead-letters.jsonl")),
        containsInAnyOrder("malformed_json", "missing_field", "empty_record"));

    Path partition = dir.resolve("offline/ctr_5min/date=2025-11-22");
    List<String> offlineRows = new ArrayList<>();
    for (Path file : OfflineFiles.files(partition)) {
      offlineRows.addAll(readOfflineRows(file));
    }
    assertThat(offlineRows, containsInAnyOrder(
        "u1 " + T0 + " 2 1 0.5", "u1 " + (T0 + FIVE_MINUTES) + " 1 1 1.0", "u2 " + T0 + " 0 1 null",
        "u3 " + T0 + " 1 0 0.0"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runners")
  void readsAvroInputLikeJsonLines(String runner, @TempDir Path dir) throws Throwable {
    Path input = dir.resolve("events.avro");
    AvroEventFiles.write(input, List.of(
        AvroEventFiles.event("a1", "u1", "impression", T0),
        AvroEventFiles.event("a2", "u1", "click", T0 + 1),
        AvroEventFiles.event("a3", "u1", "click", T0 + 2)));
    FeaturePipelineOptions options = options(runner, input, dir);

    TestPipelineExtension.runInRule(
        TestPipeline.fromOptions(options),
        "avro-" + runner,
        pipeline -> {
          FeaturePipeline.Outputs outputs = FeaturePipeline.build(pipeline, TestRunners.features(options, "ctr"), () -> UPDATED_AT);
          PAssert.that(outputs.rows(FeatureTables.CTR_5MIN)).containsInAnyOrder(row("u1", T0, 1, 2, 2.0));
          PAssert.that(outputs.deadLetters).empty();
          pipeline.run().waitUntilFinish();
        });
    assertThat(Files.readAllLines(dir.resolve("dead-letters.jsonl")), hasSize(0));
  }

  /**
   * A row the store refuses (here a PostgreSQL trigger that refuses user u3 as a check violation) is a dead letter
   * in the run's dead-letter file, with the stage, the table, the error and the row; the job goes on and writes the
   * other users. On both runners: the dead letters leave the writer when its bundle finishes.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("runners")
  void aRowTheStoreRefusesGoesToTheDeadLetterFile(String runner, @TempDir Path dir) throws Throwable {
    Path input = dir.resolve("events.jsonl");
    Files.write(
        input,
        List.of(event("e1", "u1", "impression", T0), event("e2", "u3", "impression", T0 + 1)),
        StandardCharsets.UTF_8);
    FeaturePipelineOptions options = options(runner, input, dir);
    options.setOnlineStore(StoreFixtures.freshPostgresUrl());
    OnlineStore.forUrl(options.getOnlineStore()).ensureTable(FeatureTables.CTR_5MIN);
    try (Connection connection = DriverManager.getConnection(options.getOnlineStore());
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE FUNCTION refuse_u3() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
          + " IF NEW.user_id = 'u3' THEN RAISE EXCEPTION 'u3 is refused' USING ERRCODE = 'check_violation'; END IF;"
          + " RETURN NEW; END $$");
      statement.execute(
          "CREATE TRIGGER refuse_u3 BEFORE INSERT ON ctr_5min FOR EACH ROW EXECUTE FUNCTION refuse_u3()");
    }

    TestPipelineExtension.runInRule(
        TestPipeline.fromOptions(options),
        "ctr-store-rejects-" + runner,
        pipeline -> {
          FeaturePipeline.build(pipeline, TestRunners.features(options, "ctr"), () -> UPDATED_AT);
          pipeline.run().waitUntilFinish();
        });

    assertThat(
        OnlineStore.forUrl(options.getOnlineStore()).readAll(FeatureTables.CTR_5MIN, List.of("u1", "u3")),
        equalTo(Map.of("u1", onlineRow("u1", T0, 1, 0, 0.0))));
    List<String> deadLetters = Files.readAllLines(dir.resolve("dead-letters.jsonl"));
    assertThat(deadLetters, hasSize(1));
    JsonNode deadLetter = new ObjectMapper().readTree(deadLetters.get(0));
    assertThat(deadLetter.get("stage").asText(), equalTo("WriteToOnlineStore"));
    assertThat(deadLetter.get("reason").asText(), equalTo("store_rejected"));
    assertThat(
        deadLetter.get("detail").asText(),
        equalTo("the online store refused this row of table ctr_5min: PSQLException [SQLState 23514]: ERROR: u3 is"
            + " refused\n  Where: PL/pgSQL function refuse_u3() line 1 at RAISE; the other rows of its batch were"
            + " written. Fix the row's values at the source and replay it."));
    assertThat(
        deadLetter.get("raw_payload").asText(),
        equalTo("{\"user_id\":\"u3\",\"window_start\":" + T0 + ",\"window_end\":" + (T0 + FIVE_MINUTES)
            + ",\"impressions\":1,\"clicks\":0,\"ctr\":0.0,\"updated_at\":" + UPDATED_AT + "}"));
  }

  /**
   * A corrected input whose window holds fewer events (2) than the stored row (10): a normal run leaves the stored
   * row, a run with --restate replaces it.
   */
  @ParameterizedTest(name = "restate: {0}")
  @ValueSource(booleans = {false, true})
  void aRestatingRunReplacesWhatTheGuardKeeps(boolean restate, @TempDir Path dir) throws Throwable {
    Path input = dir.resolve("corrected.jsonl");
    Files.write(
        input,
        List.of(event("e1", "u1", "impression", T0), event("e2", "u1", "click", T0 + 1)),
        StandardCharsets.UTF_8);
    FeaturePipelineOptions options = options(TestRunners.DIRECT, input, dir);
    options.setRestate(restate);
    OnlineStore store = OnlineStore.forUrl(options.getOnlineStore());
    store.ensureTable(FeatureTables.CTR_5MIN);
    store.upsert(FeatureTables.CTR_5MIN, List.<Object[]>of(
        new Object[] {"u1", T0, T0 + FIVE_MINUTES, 8L, 2L, 0.25, UPDATED_AT - 1}));

    TestPipelineExtension.runInRule(
        TestPipeline.fromOptions(options),
        "ctr-restate-" + restate,
        pipeline -> {
          FeaturePipeline.build(pipeline, TestRunners.features(options, "ctr"), () -> UPDATED_AT);
          pipeline.run().waitUntilFinish();
        });

    Map<String, Object> stored = new java.util.LinkedHashMap<>(onlineRow("u1", T0, 8, 2, 0.25));
    stored.put("updated_at", UPDATED_AT - 1);
    assertThat(
        store.readAll(FeatureTables.CTR_5MIN, List.of("u1")),
        equalTo(Map.of("u1", restate ? onlineRow("u1", T0, 1, 1, 1.0) : stored)));
  }

  /** Options reading {@code input}, writing a fresh H2 store and files under {@code dir}. */
  private static FeaturePipelineOptions options(String runner, Path input, Path dir) {
    FeaturePipelineOptions options = TestRunners.ctrOptions(runner);
    options.setInput(input.toString());
    options.setOnlineStore(StoreFixtures.freshH2Url());
    options.setOfflineStore(dir.resolve("offline").toString());
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());
    return options;
  }

  static String event(String id, String user, String type, long timestamp) {
    return "{\"event_id\":\"" + id + "\",\"user_id\":\"" + user + "\",\"event_type\":\"" + type
        + "\",\"item_id\":\"ad1\",\"timestamp\":" + timestamp + "}";
  }

  private static Row row(String user, long windowStart, long impressions, long clicks, Double ctr) {
    return FeatureRows.row(
        FeatureTables.CTR_5MIN, user, windowStart, windowStart + FIVE_MINUTES, impressions, clicks, ctr, UPDATED_AT);
  }

  private static Map<String, Object> onlineRow(
      String user, long windowStart, long impressions, long clicks, Double ctr) {
    Map<String, Object> row = new java.util.LinkedHashMap<>();
    row.put("user_id", user);
    row.put("window_start", windowStart);
    row.put("window_end", windowStart + FIVE_MINUTES);
    row.put("impressions", impressions);
    row.put("clicks", clicks);
    row.put("ctr", ctr);
    row.put("updated_at", UPDATED_AT);
    return row;
  }

  private static List<String> deadLetterReasons(Path file) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> reasons = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      JsonNode node = json.readTree(line);
      assertThat(node.get("stage").asText(), equalTo("ParseEvents"));
      reasons.add(node.get("reason").asText());
    }
    return reasons;
  }

  private static List<String> readOfflineRows(Path file) throws IOException {
    List<String> rows = new ArrayList<>();
    for (GenericRecord row : OfflineFiles.readFile(file)) {
      assertThat(row.get("pane_timing").toString(), equalTo("ON_TIME"));
      rows.add(row.get("user_id") + " " + row.get("window_start") + " " + row.get("impressions") + " "
          + row.get("clicks") + " " + row.get("ctr"));
    }
    return rows;
  }

}
