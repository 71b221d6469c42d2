package dev.clickstream.serving;

import static dev.clickstream.serving.ServedApp.json;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pre-computed answers as of the server's now, on H2 with the server's clock set per request: rows past their
 * view's max age are {@code stale}, and a {@code click_counts} row, stored as of the user's latest click, never
 * counts a click that has left its window by now.
 */
class AnswersAsOfNowTest {
  private static final WindowedAggregation CLICKS = FeatureDefinitions.CLICK_COUNTS;
  /** 2024-01-01T00:00:00Z. */
  private static final long T0 = 1_704_067_200_000L;
  private static final long MINUTE = 60_000L;
  private static final long HOUR = 60 * MINUTE;
  /** The idle user's latest click; its 19 clicks are 3 s apart, the first 54 s before it. */
  private static final long C = T0 + 2 * HOUR;

  private static ServedApp complete;
  private static ServedApp withoutRawEvents;
  private static ServedApp rawEventsBehind;

  @BeforeAll
  static void serve() throws SQLException {
    complete = new ServedApp(store(19, true), FeatureDefinitions.REGISTRY);
    withoutRawEvents = new ServedApp(store(19, false), FeatureDefinitions.REGISTRY);
    rawEventsBehind = new ServedApp(store(18, true), FeatureDefinitions.REGISTRY);
  }

  @AfterAll
  static void stop() {
    for (ServedApp app : List.of(complete, withoutRawEvents, rawEventsBehind)) {
      app.close();
    }
    ConnectionPools.closeAll();
  }

  /** The case: 19 clicks in a minute, then nothing; the stored row says 19 in every window for ever. */
  @Test
  void clicksThatLeftAWindowByNowAreNotCounted() throws Exception {
    assertThat(complete.at(C + 30_000).get("/features/click_counts/idle").body(),
        is(counts("ok", 11, 19, 19, 19, C + 30_000)));
    assertThat(complete.at(C + MINUTE + 1).get("/features/click_counts/idle").body(),
        is(counts("ok", 0, 19, 19, 19, C + MINUTE + 1)));
    assertThat(complete.at(C + 10 * MINUTE + 1).get("/features/click_counts/idle").body(),
        is(counts("ok", 0, 0, 19, 19, C + 10 * MINUTE + 1)));
    // An hour after the latest click, the hour still holds it (both ends are in), and the row is max_age old.
    assertThat(complete.at(C + HOUR).get("/features/click_counts/idle").body(),
        is(counts("ok", 0, 0, 0, 1, C + HOUR)));
  }

  /** Past the longest window every count is 0 with no read; past max_age (1 h) the row is stale. */
  @Test
  void anIdleUserPastTheLongestWindowHasZeroCountsAndIsStale() throws Exception {
    for (ServedApp app : List.of(complete, withoutRawEvents)) {
      assertThat(app.at(C + 3 * HOUR).get("/features/click_counts/idle").body(),
          is(counts("stale", 0, 0, 0, 0, C + 3 * HOUR)));
    }
  }

  /** The answer is what the on-demand view computes as of the same now. */
  @Test
  void theMovedRowAgreesWithTheOnDemandView() throws Exception {
    complete.at(C + 30_000);
    JsonNode precomputed = complete.get("/features/click_counts/idle").body();
    JsonNode onDemand = complete.get("/features/click_counts_on_demand/idle").body();

    assertThat(precomputed.get("features"), is(onDemand.get("features")));
    assertThat(onDemand.get("as_of").asLong(), is(C + 30_000));
  }

  /** A server whose clock is behind the latest click answers the row as stored, as of that click. */
  @Test
  void aRowDatedAfterNowIsAnsweredAsStored() throws Exception {
    assertThat(complete.at(C - 10_000).get("/features/click_counts/idle").body(),
        is(counts("ok", 19, 19, 19, 19, C)));
  }

  /**
   * Without the raw clicks, or with raw clicks that lack the row's latest click, the windows as of now cannot be
   * known: the row is answered as stored, and stale.
   */
  @Test
  void aRowThatCannotBeMovedToNowIsStale() throws Exception {
    for (ServedApp app : List.of(withoutRawEvents, rawEventsBehind)) {
      assertThat(app.at(C + MINUTE + 1).get("/features/click_counts/idle").body(),
          is(counts("stale", 19, 19, 19, 19, C + MINUTE + 1)));
    }
  }

  @Test
  void aBatchAnswersEveryIdAsOfOneNow() throws Exception {
    JsonNode body = complete.at(C + MINUTE + 1).post("/features/click_counts", "[\"idle\",\"nobody\",\"idle\"]")
        .body();

    assertThat(body.get("results").get(0), is(counts("ok", 0, 19, 19, 19, C + MINUTE + 1)));
    assertThat(body.get("results").get(1), is(json("{'entity':{'user_id':'nobody'},'status':'not_found'}")));
    assertThat(body.get("results").get(2), is(counts("ok", 0, 19, 19, 19, C + MINUTE + 1)));
  }

  /** ctr_5min's max age is 10 minutes after its window's end: ok at exactly 10 minutes, stale 1 ms later. */
  @Test
  void aRowPastItsMaxAgeIsStaleWithItsValuesAsStored() throws Exception {
    long windowEnd = T0 + 5 * MINUTE;
    String stored = "'features':{'impressions':12,'clicks':1,'ctr':0.0833},'window_start':" + T0 + ",'window_end':"
        + windowEnd + ",'updated_at':" + (windowEnd + 7_000) + "}";

    assertThat(complete.at(windowEnd + 10 * MINUTE).get("/features/ctr_5min/u7").body(),
        is(json("{'feature_view':'ctr_5min','entity':{'user_id':'u7'},'status':'ok'," + stored)));
    assertThat(complete.at(windowEnd + 10 * MINUTE + 1).get("/features/ctr_5min/u7").body(),
        is(json("{'feature_view':'ctr_5min','entity':{'user_id':'u7'},'status':'stale'," + stored)));
    assertThat(complete.post("/features/ctr_5min", "[\"u7\"]").body().get("results").get(0).get("status").asText(),
        is("stale"));
  }

  private static JsonNode counts(String status, long oneMin, long tenMin, long thirtyMin, long oneHour, long asOf) {
    return json("{'feature_view':'click_counts','entity':{'user_id':'idle'},'status':'" + status + "',"
        + "'features':{'click_count_1_min':" + oneMin + ",'click_count_10_min':" + tenMin + ",'click_count_30_min':"
        + thirtyMin + ",'click_count_1_hour':" + oneHour + "},'event_time':" + C + ",'updated_at':" + (C + 5_000)
        + ",'as_of':" + asOf + "}");
  }

  /**
   * A fresh H2 store holding the idle user's click_counts row (19 in every window, as of {@code C}), u7's ctr_5min
   * row, and, when {@code withRawEvents}, the oldest {@code rawClicks} of the idle user's 19 clicks in click_events.
   */
  private static OnlineStore store(int rawClicks, boolean withRawEvents) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl("h2"));
    FeatureTable ctr = FeatureDefinitions.CTR_5MIN.table();
    store.ensureTable(ctr);
    store.upsert(ctr, List.<Object[]>of(
        FeatureDefinitions.CTR_5MIN.tableRow("u7", T0, T0 + 5 * MINUTE, List.of(12L, 1L, 0.0833),
            T0 + 5 * MINUTE + 7_000)));
    store.ensureTable(CLICKS.precomputedTable());
    store.upsert(CLICKS.precomputedTable(), List.<Object[]>of(
        new Object[] {"idle", C, 19L, 19L, 19L, 19L, C + 5_000}));
    if (withRawEvents) {
      store.ensureTable(CLICKS.rawEventsTable());
      List<Object[]> raw = new ArrayList<>();
      for (int k = 0; k < rawClicks; k++) {
        raw.add(CLICKS.rawEventRow("e" + k, "idle", C - 3_000L * (18 - k), null));
      }
      store.upsert(CLICKS.rawEventsTable(), raw);
    }
    return store;
  }
}
