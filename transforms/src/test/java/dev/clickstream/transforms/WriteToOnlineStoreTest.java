package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Writes to a real store of every supported dialect, then reads the rows back through {@link OnlineStore}.
 *
 * <p>Every test asserts on what the store holds after the run, so a pipeline that was never run fails here even
 * though {@code TestPipelineExtension} does not wrap {@code @ParameterizedTest} bodies in the pipeline's rule.
 */
@ExtendWith(TestPipelineExtension.class)
class WriteToOnlineStoreTest {
  private static final String NAMESPACE = "WriteToOnlineStore";

  /** 2024-03-01T12:00:00Z and the windows that follow it. */
  private static final long NOON = 1_709_294_400_000L;
  private static final long FIVE_MINUTES = 300_000L;
  private static final long UPDATED_AT = 1_709_294_700_500L;

  private static final Row ALICE_FIRST_WINDOW = row("alice", NOON, 4, 1, 0.25, "ON_TIME", 0);
  private static final Row ALICE_SECOND_WINDOW = row("alice", NOON + FIVE_MINUTES, 2, 1, 0.5, "ON_TIME", 0);
  private static final Row BOB_ON_TIME = row("bob", NOON, 1, 0, 0.0, "ON_TIME", 0);
  private static final Row BOB_LATE = row("bob", NOON, 2, 1, 0.5, "LATE", 1);
  private static final Row CAROL_CLICKS_ONLY = row("carol", NOON, 0, 2, null, "ON_TIME", 0);
  private static final Row MALLORY = row("mallory", NOON, 1, 1, 1.0, "ON_TIME", 0);

  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  @AfterAll
  static void closePools() {
    ConnectionPools.closeAll();
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void writesEachRow(String dialect, TestPipeline pipeline) {
    String url = StoreFixtures.freshStoreUrl(dialect);
    write(pipeline, url, List.of(ALICE_FIRST_WINDOW, BOB_ON_TIME, CAROL_CLICKS_ONLY));

    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(
        readBack(url, "alice", "bob", "carol", "dave"),
        equalTo(stored(ALICE_FIRST_WINDOW, BOB_ON_TIME, CAROL_CLICKS_ONLY)));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_applied"), equalTo(3L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_skipped_not_newer"), equalTo(0L));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void keepsTheLatestWindowAndTheFullestPaneWhateverTheOrder(String dialect, TestPipeline pipeline) {
    String url = StoreFixtures.freshStoreUrl(dialect);
    // Out of order on purpose: the older window and the smaller pane come last.
    write(pipeline, url, List.of(ALICE_SECOND_WINDOW, BOB_LATE, ALICE_FIRST_WINDOW, BOB_ON_TIME));

    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(readBack(url, "alice", "bob"), equalTo(stored(ALICE_SECOND_WINDOW, BOB_LATE)));
    // How many rows were applied depends on the order the runner hands them over; none is ever lost.
    assertThat(
        PipelineCounters.value(result, NAMESPACE, "rows_applied")
            + PipelineCounters.value(result, NAMESPACE, "rows_skipped_not_newer"),
        equalTo(4L));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void runningTheSameWriteTwiceLeavesTheSameRows(String dialect, TestPipeline pipeline) {
    String url = StoreFixtures.freshStoreUrl(dialect);
    write(pipeline, url, List.of(ALICE_SECOND_WINDOW, BOB_LATE, CAROL_CLICKS_ONLY));
    Map<String, Map<String, Object>> expected = stored(ALICE_SECOND_WINDOW, BOB_LATE, CAROL_CLICKS_ONLY);

    PipelineResult first = pipeline.run();
    first.waitUntilFinish();
    Map<String, Map<String, Object>> afterFirstRun = readBack(url, "alice", "bob", "carol");
    PipelineResult second = pipeline.run();
    second.waitUntilFinish();
    Map<String, Map<String, Object>> afterSecondRun = readBack(url, "alice", "bob", "carol");

    assertThat(afterFirstRun, equalTo(expected));
    assertThat(afterSecondRun, equalTo(expected));
    assertThat(PipelineCounters.value(first, NAMESPACE, "rows_applied"), equalTo(3L));
    assertThat(PipelineCounters.value(second, NAMESPACE, "rows_applied"), equalTo(0L));
    assertThat(PipelineCounters.value(second, NAMESPACE, "rows_skipped_not_newer"), equalTo(3L));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void writesMoreRowsThanFitInOneBatch(String dialect, TestPipeline pipeline) {
    String url = StoreFixtures.freshStoreUrl(dialect);
    int count = WriteToOnlineStore.DEFAULT_BATCH_SIZE * 2 + 1;
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      rows.add(row("user-" + i, NOON, i, 0, i == 0 ? null : 0.0, "ON_TIME", 0));
    }
    write(pipeline, url, rows);

    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    String[] keys = rows.stream().map(row -> row.getString("user_id")).toArray(String[]::new);
    assertThat(readBack(url, keys), equalTo(stored(rows.toArray(new Row[0]))));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_applied"), equalTo((long) count));
  }

  /**
   * A NUL in a key is valid JSON but PostgreSQL refuses it (SQLState 22021). The batch is split around it: the
   * other rows are written, the refused row is a dead letter with the table, the error and the row, and the job
   * goes on.
   */
  @Test
  void aRowThePostgresqlStoreRefusesIsADeadLetterAndTheRestOfItsBatchIsWritten(TestPipeline pipeline) {
    String url = StoreFixtures.freshStoreUrl("postgresql");
    Row nulInKey = row("u\u0000x", NOON, 3, 1, 0.3333, "ON_TIME", 0);
    PCollection<DeadLetter> rejected =
        writeInOneBatch(pipeline, url, List.of(ALICE_FIRST_WINDOW, nulInKey, BOB_ON_TIME, CAROL_CLICKS_ONLY));

    PAssert.that(rejected.apply(MapElements.into(TypeDescriptors.strings()).via(WriteToOnlineStoreTest::summary)))
        .containsInAnyOrder(
            "WriteToOnlineStore | store_rejected | the online store refused this row of table ctr_5min:"
                + " PSQLException [SQLState 22021]: ERROR: invalid byte sequence for encoding \"UTF8\": 0x00\n  Where:"
                + " unnamed portal parameter $1; the other rows of its batch were written. Fix the row's values at the"
                + " source and replay it. |"
                + " {\"user_id\":\"u\\u0000x\",\"window_start\":1709294400000,\"window_end\":1709294700000,"
                + "\"impressions\":3,\"clicks\":1,\"ctr\":0.3333,\"updated_at\":1709294700500}");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(
        readBack(url, "alice", "bob", "carol"), equalTo(stored(ALICE_FIRST_WINDOW, BOB_ON_TIME, CAROL_CLICKS_ONLY)));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_applied"), equalTo(3L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_rejected"), equalTo(1L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_skipped_not_newer"), equalTo(0L));
    // The row's data is at fault: no write is tried again, the halves are each written once.
    assertThat(PipelineCounters.value(result, NAMESPACE, "batch_retries"), equalTo(0L));
  }

  /** A row the store checks before writing (a NaN no store can hold) is a dead letter too, not a failed job. */
  @Test
  void aRowTheStoreRefusesBeforeWritingIsADeadLetter(TestPipeline pipeline) {
    String url = StoreFixtures.freshStoreUrl("h2");
    Row notANumber = row("dave", NOON, 0, 0, Double.NaN, "ON_TIME", 0);
    PCollection<DeadLetter> rejected =
        writeInOneBatch(pipeline, url, List.of(ALICE_FIRST_WINDOW, notANumber, BOB_ON_TIME));

    PAssert.that(rejected.apply(MapElements.into(TypeDescriptors.strings()).via(WriteToOnlineStoreTest::summary)))
        .containsInAnyOrder(
            "WriteToOnlineStore | store_rejected | the online store refused this row of table ctr_5min:"
                + " java.lang.IllegalArgumentException: column ctr must be a finite number or null, got NaN; the"
                + " other rows of its batch were written. Fix the row's values at the source and replay it. |"
                + " {\"user_id\":\"dave\",\"window_start\":1709294400000,\"window_end\":1709294700000,"
                + "\"impressions\":0,\"clicks\":0,\"ctr\":\"NaN\",\"updated_at\":1709294700500}");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(readBack(url, "alice", "bob", "dave"), equalTo(stored(ALICE_FIRST_WINDOW, BOB_ON_TIME)));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_applied"), equalTo(2L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_rejected"), equalTo(1L));
  }

  /** Rows are validated once, where they are made ({@link FeatureRows}): the writer only checks their schema. */
  @Test
  void refusesRowsOfAnotherTableWhenTheGraphIsBuilt(TestPipeline pipeline) {
    PCollection<Row> sessions =
        pipeline.apply(Create.empty(FeatureRows.schemaOf(FeatureTables.USER_SESSIONS)));
    WriteToOnlineStore write = WriteToOnlineStore.into(FeatureTables.CTR_5MIN).withJdbcUrl("jdbc:h2:mem:unused");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sessions.apply(write));

    assertThat(e.getMessage(), startsWith("WriteToOnlineStore into ctr_5min takes rows of schema"));
    pipeline.enableAbandonedNodeEnforcement(false);
  }

  /**
   * A corrected window with fewer events (8) than the stored one (10): the guard keeps the stored row, a restating
   * write replaces it.
   */
  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgresql"})
  void aRestatingWriteReplacesWhatTheGuardKeeps(String dialect) {
    String url = StoreFixtures.freshStoreUrl(dialect);
    Row stored = row("alice", NOON, 8, 2, 0.25, "ON_TIME", 0);
    Row corrected = row("alice", NOON, 6, 2, 0.3333, "ON_TIME", 1);
    WriteToOnlineStore write =
        WriteToOnlineStore.into(FeatureTables.CTR_5MIN).withJdbcUrl(url);
    runWrite(stored, write);

    PipelineResult guarded = runWrite(corrected, write);
    Map<String, Map<String, Object>> afterGuarded = readBack(url, "alice");
    PipelineResult restated = runWrite(corrected, write.withRestate(true));

    assertThat(afterGuarded, equalTo(stored(stored)));
    assertThat(PipelineCounters.value(guarded, NAMESPACE, "rows_skipped_not_newer"), equalTo(1L));
    assertThat(readBack(url, "alice"), equalTo(stored(corrected)));
    assertThat(PipelineCounters.value(restated, NAMESPACE, "rows_applied"), equalTo(1L));
  }

  private static PipelineResult runWrite(Row row, WriteToOnlineStore write) {
    Pipeline pipeline = Pipeline.create(TestPipeline.testingPipelineOptions());
    pipeline.apply(Create.of(row).withRowSchema(FeatureRows.schemaOf(FeatureTables.CTR_5MIN))).apply("WriteOnlineStore", write);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    return result;
  }

  /** A dead letter's stage, reason, detail and payload: all but the time it failed at. */
  static String summary(DeadLetter deadLetter) {
    return deadLetter.getStage() + " | " + deadLetter.getReason() + " | " + deadLetter.getDetail() + " | "
        + deadLetter.getRawPayload();
  }

  @Test
  void rejectsAUrlThatIsNotJdbc() {
    WriteToOnlineStore write =
        WriteToOnlineStore.into(FeatureTables.CTR_5MIN);

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> write.withJdbcUrl("postgresql://127.0.0.1:5432/test"));

    assertThat(
        e.getMessage(),
        equalTo(
            "jdbcUrl must be a JDBC URL (jdbc:h2:..., jdbc:postgresql:..., jdbc:mariadb:...), got"
                + " postgresql://127.0.0.1:5432/test"));
  }

  @Test
  void expandWithoutAUrlFailsClearly() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<Row> rows =
        pipeline.apply(Create.of(ALICE_FIRST_WINDOW).withRowSchema(FeatureRows.schemaOf(FeatureTables.CTR_5MIN)));

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> rows.apply(WriteToOnlineStore.into(FeatureTables.CTR_5MIN)));

    assertThat(e.getMessage(), equalTo("WriteToOnlineStore needs withJdbcUrl(...)"));
  }

  private static PCollection<DeadLetter> write(TestPipeline pipeline, String url, List<Row> rows) {
    return pipeline
        .apply(Create.of(rows).withRowSchema(FeatureRows.schemaOf(FeatureTables.CTR_5MIN)))
        .apply(
            "WriteOnlineStore",
            WriteToOnlineStore.into(FeatureTables.CTR_5MIN).withJdbcUrl(url));
  }


  /** Writes {@code rows} from one bundle, so that they reach the store in one batch. */
  private static PCollection<DeadLetter> writeInOneBatch(TestPipeline pipeline, String url, List<Row> rows) {
    return pipeline
        .apply(Create.<List<Row>>of(rows).withCoder(ListCoder.of(RowCoder.of(FeatureRows.schemaOf(FeatureTables.CTR_5MIN)))))
        .apply("OneBundle", Flatten.iterables())
        .apply(
            "WriteOnlineStore",
            WriteToOnlineStore.into(FeatureTables.CTR_5MIN).withJdbcUrl(url));
  }

  private static Map<String, Map<String, Object>> readBack(String url, String... keys) {
    return OnlineStore.forUrl(url).readAll(FeatureTables.CTR_5MIN, List.of(keys));
  }

  /** What the store should hold for {@code rows}: one row per user, as {@link OnlineStore#readAll} returns it. */
  private static Map<String, Map<String, Object>> stored(Row... rows) {
    Map<String, Map<String, Object>> byUser = new LinkedHashMap<>();
    for (Row row : rows) {
      Map<String, Object> columns = new LinkedHashMap<>();
      for (String column : FeatureTables.CTR_5MIN.columnNames()) {
        columns.put(column, row.getValue(column));
      }
      byUser.put(row.getString("user_id"), columns);
    }
    return byUser;
  }

  private static Row row(
      String user, long windowStart, long impressions, long clicks, Double ctr, String paneTiming, long paneIndex) {
    // The pane shows in updated_at only: a later pane is a later row. Not validated: the store decides.
    return Row.withSchema(FeatureRows.schemaOf(FeatureTables.CTR_5MIN)).addValues(
        user, windowStart, windowStart + FIVE_MINUTES, impressions, clicks, ctr, UPDATED_AT + paneIndex).build();
  }
}
