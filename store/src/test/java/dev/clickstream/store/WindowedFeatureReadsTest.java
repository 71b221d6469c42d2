package dev.clickstream.store;

import static dev.clickstream.features.Aggregation.avg;
import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.last;
import static dev.clickstream.features.Aggregation.max;
import static dev.clickstream.features.Aggregation.min;
import static dev.clickstream.features.Aggregation.sum;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.Partial;
import dev.clickstream.features.RollingWindows;
import dev.clickstream.features.WindowedAggregation;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The on-demand and tiled reads against real H2, PostgreSQL and MariaDB: for random events and many read times,
 * both equal the windows computed in memory over the same events, for counts and for every value aggregation.
 */
class WindowedFeatureReadsTest {
  /** 2024-01-01T00:00:00Z. */
  private static final long T0 = 1_704_067_200_000L;
  private static final long HOUR = 3_600_000L;

  private static final WindowedAggregation CLICKS = FeatureDefinitions.CLICK_COUNTS;
  private static final WindowedAggregation SPEND =
      WindowedAggregation.named("spend")
          .filter("event_type", "purchase")
          .groupBy("user_id")
          .value("price")
          .window(minutes(1), minutes(10), minutes(60))
          .agg(count(), sum(), avg(), min(), max(), last())
          .rawEventsTable("purchase_events")
          .tilesTable("purchase_tiles")
          .build();

  @AfterEach
  void closePools() {
    ConnectionPools.closeAll();
  }

  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void onDemandAndTiledEqualTheWindowsInMemoryForClickCounts(String dialect) throws SQLException {
    checkAgainstMemory(dialect, CLICKS, false);
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void onDemandAndTiledEqualTheWindowsInMemoryForEveryValueAggregation(String dialect) throws SQLException {
    checkAgainstMemory(dialect, SPEND, true);
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aUserWithoutEventsHasZeroCountsAndNoEventTime(String dialect) {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    store.ensureTable(SPEND.rawEventsTable());
    store.ensureTable(SPEND.tilesTable());
    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);

    for (WindowedFeatureReads.Answer answer :
        List.of(reads.onDemand(SPEND, "nobody", T0), reads.tiled(SPEND, "nobody", T0))) {
      Map<String, Object> features = SPEND.features(answer.perWindow());
      assertThat(features.get("count_1_hour"), is(0L));
      assertThat(features.get("sum_1_hour"), is(nullValue()));
      assertThat(features.get("last_1_hour"), is(nullValue()));
      assertThat(answer.latestEventTime(), is(nullValue()));
    }
  }

  /** Reads create nothing (a reader needs no DDL rights): a missing table fails as one, and stays missing. */
  @ParameterizedTest
  @MethodSource("dialects")
  void aReadOfAMissingTableFailsAsMissingAndCreatesNothing(String dialect) {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);

    StoreUnavailableException onDemand =
        assertThrows(StoreUnavailableException.class, () -> reads.onDemand(SPEND, "u1", T0));
    StoreUnavailableException tiled =
        assertThrows(StoreUnavailableException.class, () -> reads.tiled(SPEND, "u1", T0));

    assertThat(OnlineStore.isMissingTable(onDemand), is(true));
    assertThat(OnlineStore.isMissingTable(tiled), is(true));
    assertThat(store.hasTable(SPEND.rawEventsTable()), is(false));
    assertThat(store.hasTable(SPEND.tilesTable()), is(false));
    assertThat(OnlineStore.isMissingTable(
        assertThrows(StoreUnavailableException.class, () -> StoreFixtures.unreachableStore().hasTable(
            SPEND.tilesTable()))), is(false));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void twoClicksInTheSameMillisecondAreTwoEvents(String dialect) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    long t = T0 + 30_000;
    store.ensureTable(CLICKS.rawEventsTable());
    store.ensureTable(CLICKS.tilesTable());
    store.upsert(CLICKS.rawEventsTable(),
        List.of(CLICKS.rawEventRow("e1", "u1", t, null), CLICKS.rawEventRow("e2", "u1", t, null)));
    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);

    assertThat(CLICKS.features(reads.onDemand(CLICKS, "u1", t).perWindow()).values(), contains(2L, 2L, 2L, 2L));
    assertThat(CLICKS.features(reads.tiled(CLICKS, "u1", t).perWindow()).values(), contains(2L, 2L, 2L, 2L));
    assertThat(reads.onDemand(CLICKS, "u1", t).latestEventTime(), is(t));
    assertThat(reads.tiled(CLICKS, "u1", t).latestEventTime(), is(t));
  }

  /**
   * Writes random events of three users (raw rows, and tiles computed in memory as the raw-events pipeline would),
   * then reads every window at read times on, just before and just after event times and tile boundaries.
   */
  private static void checkAgainstMemory(String dialect, WindowedAggregation feature, boolean withValues)
      throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    Random random = new Random(dialect.hashCode());
    Map<String, TreeMap<Long, Partial>> byUser = new TreeMap<>();
    List<Object[]> rawRows = new ArrayList<>();
    int eventId = 0;
    for (String user : List.of("u1", "u2", "U1")) {
      TreeMap<Long, Partial> events = new TreeMap<>();
      for (int i = 0; i < 300; i++) {
        // Clustered times, so that several events share a millisecond and many share a tile.
        long time = T0 + random.nextInt(2 * (int) HOUR / 1000) * 1000L + (random.nextBoolean() ? 0 : 999);
        Double value = withValues && random.nextInt(5) > 0 ? (double) random.nextInt(1000) / 4 : null;
        events.computeIfAbsent(time, t -> new Partial()).add(time, value);
        rawRows.add(feature.rawEventRow("e" + eventId++, user, time, value));
      }
      byUser.put(user, events);
    }
    store.ensureTable(feature.rawEventsTable());
    store.ensureTable(feature.tilesTable());
    store.upsert(feature.rawEventsTable(), rawRows);
    List<Object[]> tileRows = new ArrayList<>();
    byUser.forEach((user, events) -> {
      TreeMap<Long, Partial> tiles = new TreeMap<>();
      events.forEach((time, partial) -> tiles.computeIfAbsent(feature.tileStart(time), t -> new Partial())
          .merge(partial));
      tiles.forEach((tileStart, partial) -> tileRows.add(feature.tileRow(user, tileStart, partial, 0L)));
    });
    store.upsert(feature.tilesTable(), tileRows);

    WindowedFeatureReads reads = WindowedFeatureReads.forStore(store);
    int checked = 0;
    for (Map.Entry<String, TreeMap<Long, Partial>> user : byUser.entrySet()) {
      List<Long> times = new ArrayList<>(user.getValue().keySet());
      List<Long> asOfs = new ArrayList<>();
      for (int i = 0; i < 25; i++) {
        long time = times.get(random.nextInt(times.size()));
        asOfs.addAll(List.of(time, time - 1, time + 1, feature.tileStart(time), feature.tileStart(time) - 1));
      }
      asOfs.addAll(List.of(T0 - 1, T0 + 3 * HOUR, T0 + 2 * HOUR + 59 * 60_000 + 500));
      for (long asOf : asOfs) {
        Partial[] expected = RollingWindows.aggregate(feature.windows(), user.getValue(), asOf);
        WindowedFeatureReads.Answer onDemand = reads.onDemand(feature, user.getKey(), asOf);
        WindowedFeatureReads.Answer tiled = reads.tiled(feature, user.getKey(), asOf);
        String context = dialect + " " + user.getKey() + " as of " + asOf;

        assertThat(context + " on demand", rounded(feature, onDemand.perWindow()),
            equalTo(rounded(feature, expected)));
        assertThat(context + " tiled", rounded(feature, tiled.perWindow()), equalTo(rounded(feature, expected)));
        Long latest = expected[expected.length - 1].isEmpty() ? null : expected[expected.length - 1].latestTimestamp();
        assertThat(context + " on-demand event time", onDemand.latestEventTime(), is(latest));
        assertThat(context + " tiled event time", tiled.latestEventTime(), is(latest));
        checked++;
      }
    }
    assertThat(checked, is(3 * (25 * 5 + 3)));
  }

  /** The feature values, doubles rounded to 9 decimals: SQL and Java may add the same doubles in another order. */
  private static List<Object> rounded(WindowedAggregation feature, Partial[] perWindow) {
    return feature.features(perWindow).values().stream()
        .map(v -> v instanceof Double ? (Object) (Math.round((Double) v * 1e9) / 1e9) : v)
        .collect(Collectors.toList());
  }
}
