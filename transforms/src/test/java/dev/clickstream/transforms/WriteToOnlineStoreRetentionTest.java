package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.beam.sdk.values.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link WriteToOnlineStore#withRetention}: the raw events of {@code click_counts} on every supported dialect, where
 * each batch deletes its users' events older than the retention before their latest event in the batch.
 *
 * <p>The events past retention are in the store before the pipeline runs. Had the pipeline written them too, the
 * outcome would depend on how the runner splits the input into bundles: an old event in a later batch than its user's
 * latest one is kept until that user's next batch. Events within retention of their user's latest give the same rows
 * and the same count however they are batched.
 */
@ExtendWith(TestPipelineExtension.class)
class WriteToOnlineStoreRetentionTest {
  private static final WindowedAggregation FEATURE = FeatureDefinitions.CLICK_COUNTS;
  private static final FeatureTable RAW_EVENTS = FEATURE.rawEventsTable();
  private static final String NAMESPACE = "WriteToOnlineStore";

  /** 2024-03-01T12:00:00Z. */
  private static final long NOON = 1_709_294_400_000L;

  private static final long MINUTE = 60_000L;

  /** The longest window (60 minutes) and the margin (5 minutes). */
  private static final long RETENTION = FEATURE.retentionMillis();

  /** Alice's and Bob's latest events, written by the pipeline, and the oldest time each keeps. */
  private static final long ALICE_LATEST = NOON + 120 * MINUTE;
  private static final long ALICE_KEEPS_FROM = ALICE_LATEST - RETENTION;
  private static final long BOB_LATEST = NOON + 30 * MINUTE;
  private static final long BOB_KEEPS_FROM = BOB_LATEST - RETENTION;

  /** In the store before the pipeline runs. */
  private static final List<FeatureEvent> STORED =
      List.of(
          event("a1", "alice", NOON),
          event("a2", "alice", ALICE_KEEPS_FROM - 1),
          event("a3", "alice", ALICE_KEEPS_FROM),
          event("a4", "alice", NOON + 90 * MINUTE),
          event("b1", "bob", BOB_KEEPS_FROM - 1),
          event("b2", "bob", NOON),
          // Carol has nothing in the pipeline's batches, so none of her events expire, however old.
          event("c1", "carol", NOON - 600 * MINUTE));

  /** Written by the pipeline: each user's events are within retention of the user's latest. */
  private static final List<FeatureEvent> WRITTEN =
      List.of(
          event("a5", "alice", ALICE_LATEST - 10 * MINUTE),
          event("a6", "alice", ALICE_LATEST),
          event("b3", "bob", BOB_LATEST));

  /** What the store keeps of {@link #STORED} and {@link #WRITTEN}, in key order: a1, a2 and b1 are gone. */
  private static final List<Map<String, Object>> KEPT =
      List.of(
          stored("a3", "alice", ALICE_KEEPS_FROM),
          stored("a4", "alice", NOON + 90 * MINUTE),
          stored("a5", "alice", ALICE_LATEST - 10 * MINUTE),
          stored("a6", "alice", ALICE_LATEST),
          stored("b2", "bob", NOON),
          stored("b3", "bob", BOB_LATEST),
          stored("c1", "carol", NOON - 600 * MINUTE));

  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  @AfterAll
  static void closePools() {
    ConnectionPools.closeAll();
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void deletesTheBatchUsersEventsOlderThanRetentionBeforeTheirLatest(String dialect, TestPipeline pipeline)
      throws Exception {
    String url = StoreFixtures.freshStoreUrl(dialect);
    OnlineStore store = OnlineStore.forUrl(url);
    store.ensureTable(RAW_EVENTS);
    store.upsert(RAW_EVENTS, rows(STORED));
    pipeline
        .apply(Create.of(WRITTEN).withCoder(FeatureEvent.Coder.of()))
        .apply("ToRows", MapElements.into(TypeDescriptors.rows()).via(WriteToOnlineStoreRetentionTest::storeRow))
        .setRowSchema(FeatureRows.schemaOf(RAW_EVENTS))
        .apply(
            "WriteRawEvents",
            WriteToOnlineStore.into(RAW_EVENTS)
                .withJdbcUrl(url)
                .withRetention(FEATURE.entityField(), WindowedAggregation.EVENT_TIME, RETENTION));

    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(
        store.readTable(RAW_EVENTS),
        equalTo(KEPT));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_applied"), equalTo(3L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_expired"), equalTo(3L));
  }

  /**
   * Rows PostgreSQL refuses (a NUL in an id) are dead letters and move no retention bound: alice's refused event,
   * ten hours after her latest, expires nothing, and the refused user's bound is never sent to the store (where its
   * NUL would fail the delete).
   */
  @Test
  void refusedRowsExpireNothing(TestPipeline pipeline) throws Exception {
    String url = StoreFixtures.freshStoreUrl("postgresql");
    OnlineStore store = OnlineStore.forUrl(url);
    store.ensureTable(RAW_EVENTS);
    store.upsert(RAW_EVENTS, rows(STORED));
    List<FeatureEvent> written = new ArrayList<>(WRITTEN);
    written.add(event("a\u00009", "alice", ALICE_LATEST + 600 * MINUTE));
    written.add(event("x1", "u\u0000x", NOON));
    PCollection<DeadLetter> rejected =
        pipeline
            // One list, flattened: one bundle, so that the refused rows share a batch with the others.
            .apply(Create.<List<FeatureEvent>>of(written).withCoder(ListCoder.of(FeatureEvent.Coder.of())))
            .apply("OneBundle", Flatten.iterables())
            .apply("ToRows", MapElements.into(TypeDescriptors.rows()).via(WriteToOnlineStoreRetentionTest::storeRow))
            .setRowSchema(FeatureRows.schemaOf(RAW_EVENTS))
            .apply(
                "WriteRawEvents",
                WriteToOnlineStore.into(RAW_EVENTS)
                    .withJdbcUrl(url)
                    .withRetention(FEATURE.entityField(), WindowedAggregation.EVENT_TIME, RETENTION));

    PAssert.that(rejected.apply(MapElements.into(TypeDescriptors.strings()).via(DeadLetter::getRawPayload)))
        .containsInAnyOrder(
            "{\"user_id\":\"alice\",\"event_id\":\"a\\u00009\",\"event_time\":"
                + (ALICE_LATEST + 600 * MINUTE) + "}",
            "{\"user_id\":\"u\\u0000x\",\"event_id\":\"x1\",\"event_time\":" + NOON + "}");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(
        store.readTable(RAW_EVENTS),
        equalTo(KEPT));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_applied"), equalTo(3L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_rejected"), equalTo(2L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_expired"), equalTo(3L));
  }

  @Test
  void retentionOnAColumnTheTableLacksFailsNamingTheColumns() {
    WriteToOnlineStore write = WriteToOnlineStore.into(RAW_EVENTS);

    IllegalArgumentException entity =
        assertThrows(
            IllegalArgumentException.class, () -> write.withRetention("session_id", "event_time", RETENTION));
    IllegalArgumentException time =
        assertThrows(IllegalArgumentException.class, () -> write.withRetention("user_id", "tile_start", RETENTION));

    assertThat(
        entity.getMessage(),
        equalTo("table click_events has no column session_id: it has [user_id, event_id, event_time]"));
    assertThat(
        time.getMessage(),
        equalTo("table click_events has no column tile_start: it has [user_id, event_id, event_time]"));
  }

  @Test
  void retentionMustBePositive() {
    WriteToOnlineStore write = WriteToOnlineStore.into(RAW_EVENTS);

    IllegalArgumentException zero =
        assertThrows(IllegalArgumentException.class, () -> write.withRetention("user_id", "event_time", 0));

    assertThat(zero.getMessage(), equalTo("retention must be positive, got 0 ms"));
  }

  private static FeatureEvent event(String id, String user, long time) {
    return new FeatureEvent(id, user, time, null);
  }

  private static Row storeRow(FeatureEvent event) {
    return FeatureRows.row(RAW_EVENTS, row(event));
  }

  private static Object[] row(FeatureEvent event) {
    return FEATURE.rawEventRow(event.eventId(), event.entity(), event.timestamp(), event.value());
  }

  private static List<Object[]> rows(List<FeatureEvent> events) {
    List<Object[]> rows = new ArrayList<>();
    events.forEach(event -> rows.add(row(event)));
    return rows;
  }

  /** A row of {@code click_events} as {@link OnlineStore#readTable} returns it. */
  private static Map<String, Object> stored(String id, String user, long time) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("event_id", id);
    row.put("user_id", user);
    row.put("event_time", time);
    return row;
  }
}
