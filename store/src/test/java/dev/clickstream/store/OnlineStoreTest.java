package dev.clickstream.store;

import dev.clickstream.features.FeatureTables;
import static dev.clickstream.features.FeatureTables.CTR_5MIN;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link OnlineStore} against real H2, PostgreSQL and MariaDB: every test runs once per dialect, on a fresh store.
 */
class OnlineStoreTest {
  private static final long MINUTE = 60_000L;
  private static final long WINDOW = 5 * MINUTE;
  /** 2024-01-01T00:00:00Z, a window boundary. */
  private static final long T0 = 1_704_067_200_000L;

  @AfterEach
  void closePools() {
    ConnectionPools.closeAll();
  }

  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  // ---------------------------------------------------------------- tables

  @ParameterizedTest
  @MethodSource("dialects")
  void ensureTableCreatesTheMissingTableWithTheRegistryColumns(String dialect) throws SQLException {
    String url = StoreFixtures.freshStoreUrl(dialect);
    OnlineStore store = OnlineStore.forUrl(url);

    StoreUnavailableException missing =
        assertThrows(StoreUnavailableException.class, () -> store.read(CTR_5MIN, "u1"));
    assertThat(missing.getMessage(), startsWith("cannot read ctr_5min in the online store " + url + ": "));

    store.ensureTable(CTR_5MIN);
    store.ensureTable(CTR_5MIN);

    assertThat(columnsOf(url, "ctr_5min"),
        is(List.of(
            "user_id NOT NULL",
            "window_start NOT NULL",
            "window_end NOT NULL",
            "impressions NOT NULL",
            "clicks NOT NULL",
            "ctr NULL",
            "updated_at NOT NULL")));
    assertThat(store.read(CTR_5MIN, "u1"), is(Optional.empty()));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void storedBytesGrowWithTheRows(String dialect, @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws SQLException {
    // An in-memory H2 database has no file to measure.
    String url = dialect.equals("h2") ? "jdbc:h2:file:" + dir.resolve("online") : StoreFixtures.freshStoreUrl(dialect);
    OnlineStore store = OnlineStore.forUrl(url);
    store.ensureTable(CTR_5MIN);
    long empty = store.storedBytes(CTR_5MIN);
    List<Object[]> many = new java.util.ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      many.add(row("user-with-a-long-name-" + i, T0, 10, 1, 0.1, T0 + 1));
    }
    store.upsert(CTR_5MIN, many);

    // Sizes are whatever the database reports (pages, estimates): 20,000 rows of ~80 bytes take over 1 MB.
    assertThat(store.storedBytes(CTR_5MIN) - empty > 1_000_000, is(true));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void clearDeletesEveryRowAndCreatesAMissingTable(String dialect) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    store.clear(CTR_5MIN);
    assertThat(store.read(CTR_5MIN, "u1"), is(Optional.empty()));

    store.upsert(CTR_5MIN, rows(row("u1", T0, 10, 1, 0.1, T0 + 1), row("u2", T0, 2, 0, 0.0, T0 + 1)));
    store.clear(CTR_5MIN);
    assertThat(store.readAll(CTR_5MIN, List.of("u1", "u2")), is(Map.of()));

    // An older window is accepted again once the newer row is gone.
    assertThat(store.upsert(CTR_5MIN, rows(row("u1", T0 - WINDOW, 1, 0, 0.0, T0 + 2))), is(1));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void ensureTableKeepsAnExistingTableAndItsRows(String dialect) throws SQLException {
    String url = StoreFixtures.freshStoreUrl(dialect);
    OnlineStore first = OnlineStore.forUrl(url);
    first.ensureTable(CTR_5MIN);
    first.upsert(CTR_5MIN, rows(row("u1", T0, 10, 1, 0.1, T0 + 1)));

    // Another URL for the same database is another pool with no "already created" marker: the statement
    // really runs again against the existing table, as it does in a second worker JVM.
    OnlineStore second = OnlineStore.forUrl(sameDatabaseOtherUrl(dialect, url, "second"));
    second.ensureTable(CTR_5MIN);

    assertThat(second.read(CTR_5MIN, "u1"), is(Optional.of(expected("u1", T0, 10, 1, 0.1, T0 + 1))));
  }

  /** Workers starting together all create the table; PostgreSQL may report the race, which must not fail them. */
  @ParameterizedTest
  @MethodSource("dialects")
  @Timeout(60)
  void ensureTableFromManyWorkersAtOnceSucceedsEverywhere(String dialect) throws Exception {
    String url = StoreFixtures.freshStoreUrl(dialect);
    OnlineStore reader = OnlineStore.forUrl(url);
    assertThat(reader.isReachable(), is(true)); // opens the database, which the workers' URLs only join
    int workers = 8;
    ExecutorService executor = Executors.newFixedThreadPool(workers);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> results = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        // One URL per worker: its own pool and no shared "already created" marker, as in separate JVMs.
        OnlineStore worker = OnlineStore.forUrl(sameDatabaseOtherUrl(dialect, url, "worker" + w));
        results.add(executor.submit(() -> {
          start.await();
          worker.ensureTable(CTR_5MIN);
          return null;
        }));
      }
      start.countDown();
      for (Future<?> result : results) {
        result.get();
      }
    } finally {
      executor.shutdownNow();
    }

    assertThat(reader.read(CTR_5MIN, "u1"), is(Optional.empty()));
  }

  // ---------------------------------------------------------------- upsert and read

  @ParameterizedTest
  @MethodSource("dialects")
  void upsertThenReadReturnsExactValuesIncludingNullCtr(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);

    int applied =
        store.upsert(CTR_5MIN, rows(row("u1", T0, 12, 1, 0.0833, T0 + 7_000), row("u2", T0, 0, 0, null, T0 + 9_000)));

    assertThat(applied, is(2));
    assertThat(store.read(CTR_5MIN, "u1"), is(Optional.of(expected("u1", T0, 12, 1, 0.0833, T0 + 7_000))));
    assertThat(store.read(CTR_5MIN, "u2"), is(Optional.of(expected("u2", T0, 0, 0, null, T0 + 9_000))));
    assertThat(store.read(CTR_5MIN, "u3"), is(Optional.empty()));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void rowsPerTimeCountsTheRowsOfEachTimeFromTheGivenOne(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    store.upsert(CTR_5MIN, rows(row("u1", T0 - WINDOW, 1, 0, 0.0, T0), row("u2", T0, 2, 1, 0.5, T0),
        row("u3", T0, 4, 1, 0.25, T0), row("u4", T0 + WINDOW, 1, 1, 1.0, T0)));

    assertThat(store.rowsPerTime(CTR_5MIN, "window_end", T0 + WINDOW),
        is(new java.util.TreeMap<>(Map.of(T0 + WINDOW, 2L, T0 + 2 * WINDOW, 1L))));
    assertThat(store.rowsPerTime(CTR_5MIN, "window_end", T0 + 3 * WINDOW), is(new java.util.TreeMap<Long, Long>()));
    IllegalArgumentException notTime =
        assertThrows(IllegalArgumentException.class, () -> store.rowsPerTime(CTR_5MIN, "clicks", T0));
    assertThat(notTime.getMessage(), is("ctr_5min.clicks is not a time column"));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void readReturnsColumnsInTableOrder(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    store.upsert(CTR_5MIN, rows(row("u1", T0, 3, 2, 0.6667, T0 + 1)));

    Map<String, Object> row = store.read(CTR_5MIN, "u1").orElseThrow();

    assertThat(new ArrayList<>(row.keySet()), is(CTR_5MIN.columnNames()));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void upsertOfNothingAppliesNothing(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);

    assertThat(store.upsert(CTR_5MIN, List.of()), is(0));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aBadRowRejectsTheWholeBatch(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    Object[] shortRow = {"u2", T0, T0 + WINDOW};

    IllegalArgumentException wrongLength =
        assertThrows(IllegalArgumentException.class,
            () -> store.upsert(CTR_5MIN, rows(row("u1", T0, 1, 0, 0.0, T0), shortRow)));
    IllegalArgumentException nullFeature =
        assertThrows(IllegalArgumentException.class,
            () -> store.upsert(CTR_5MIN, rows(row("u1", T0, 1, 0, 0.0, T0),
                new Object[] {"u3", T0, T0 + WINDOW, null, 0L, null, T0})));
    // MariaDB cannot store them, so no dialect takes them.
    IllegalArgumentException infinite =
        assertThrows(IllegalArgumentException.class,
            () -> store.upsert(CTR_5MIN, rows(row("u1", T0, 1, 0, 0.0, T0), row("u4", T0, 0, 1, 1.0 / 0, T0))));
    IllegalArgumentException notANumber =
        assertThrows(IllegalArgumentException.class,
            () -> store.upsert(CTR_5MIN, rows(row("u5", T0, 0, 0, 0.0 / 0, T0), row("u6", T0, 1, 0, 0.0, T0))));

    assertThat(wrongLength.getMessage(), is("a row for ctr_5min has 3 values, expected 7"));
    assertThat(nullFeature.getMessage(), is("column impressions may not be null"));
    assertThat(infinite.getMessage(), is("column ctr must be a finite number or null, got Infinity"));
    assertThat(notANumber.getMessage(), is("column ctr must be a finite number or null, got NaN"));
    assertThat(store.readAll(CTR_5MIN, List.of("u1", "u2", "u3", "u4", "u5", "u6")), is(Map.of()));
  }

  // ---------------------------------------------------------------- the replace condition

  /** Every order and batching of an older and a newer window for the same user. */
  static Stream<Arguments> olderAndNewerWindowWrites() {
    List<Arguments> cases = new ArrayList<>();
    for (String dialect : StoreFixtures.dialects()) {
      for (boolean newerFirst : new boolean[] {true, false}) {
        for (boolean sameBatch : new boolean[] {true, false}) {
          cases.add(Arguments.of(dialect, newerFirst, sameBatch));
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}, newer first: {1}, same batch: {2}")
  @MethodSource("olderAndNewerWindowWrites")
  void anOlderWindowNeverReplacesANewerOne(String dialect, boolean newerFirst, boolean sameBatch)
      throws SQLException {
    OnlineStore store = freshStore(dialect);
    // The older window has more events and a later updated_at: only window_start may decide.
    Object[] older = row("u1", T0, 500, 40, 0.08, T0 + 20 * MINUTE);
    Object[] newer = row("u1", T0 + WINDOW, 3, 1, 0.3333, T0 + WINDOW + MINUTE);
    List<Object[]> order = newerFirst ? rows(newer, older) : rows(older, newer);

    int applied;
    if (sameBatch) {
      applied = store.upsert(CTR_5MIN, order);
    } else {
      applied = store.upsert(CTR_5MIN, rows(order.get(0))) + store.upsert(CTR_5MIN, rows(order.get(1)));
    }

    // Newer first: the insert applies and the older row is refused. Older first: both apply.
    assertThat(applied, is(newerFirst ? 1 : 2));
    assertThat(store.read(CTR_5MIN, "u1"),
        is(Optional.of(expected("u1", T0 + WINDOW, 3, 1, 0.3333, T0 + WINDOW + MINUTE))));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void theSameWindowWithMoreEventsReplaces(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    store.upsert(CTR_5MIN, rows(row("u1", T0, 10, 1, 0.1, T0 + MINUTE)));

    // 9 + 3 = 12 events against 11: more in total, even with fewer impressions.
    int applied = store.upsert(CTR_5MIN, rows(row("u1", T0, 9, 3, 0.3333, T0 + 2 * MINUTE)));

    assertThat(applied, is(1));
    assertThat(store.read(CTR_5MIN, "u1"), is(Optional.of(expected("u1", T0, 9, 3, 0.3333, T0 + 2 * MINUTE))));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void theSameWindowWithFewerOrEqualEventsDoesNotReplace(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    store.upsert(CTR_5MIN, rows(row("u1", T0, 10, 2, 0.2, T0 + MINUTE)));

    int fewer = store.upsert(CTR_5MIN, rows(row("u1", T0, 10, 1, 0.1, T0 + 2 * MINUTE)));
    int equal = store.upsert(CTR_5MIN, rows(row("u1", T0, 11, 1, 0.0909, T0 + 3 * MINUTE)));

    assertThat(fewer, is(0));
    assertThat(equal, is(0));
    assertThat(store.read(CTR_5MIN, "u1"), is(Optional.of(expected("u1", T0, 10, 2, 0.2, T0 + MINUTE))));
  }

  /**
   * One batch holding an insert, a replacement, a refused older window and a rewrite of the stored row counts
   * exactly the two rows applied, although MariaDB reports 1 for the insert and 2 for the replacement.
   */
  @ParameterizedTest
  @MethodSource("dialects")
  void upsertCountsExactlyTheRowsApplied(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    store.upsert(CTR_5MIN,
        rows(row("u1", T0, 10, 1, 0.1, T0 + MINUTE), row("u2", T0 + WINDOW, 4, 2, 0.5, T0 + WINDOW + MINUTE),
            row("u3", T0, 6, 3, 0.5, T0 + 2 * MINUTE)));

    int applied =
        store.upsert(CTR_5MIN,
            rows(
                row("u0", T0, 1, 0, 0.0, T0 + 3 * MINUTE), // new: inserted
                row("u1", T0 + WINDOW, 2, 1, 0.5, T0 + WINDOW + MINUTE), // newer window: replaces
                row("u2", T0, 90, 9, 0.1, T0 + 3 * MINUTE), // older window: refused
                row("u3", T0, 6, 3, 0.5, T0 + 2 * MINUTE))); // the stored row again: refused

    assertThat(applied, is(2));
    assertThat(store.readAll(CTR_5MIN, List.of("u0", "u1", "u2", "u3")),
        is(Map.of(
            "u0", expected("u0", T0, 1, 0, 0.0, T0 + 3 * MINUTE),
            "u1", expected("u1", T0 + WINDOW, 2, 1, 0.5, T0 + WINDOW + MINUTE),
            "u2", expected("u2", T0 + WINDOW, 4, 2, 0.5, T0 + WINDOW + MINUTE),
            "u3", expected("u3", T0, 6, 3, 0.5, T0 + 2 * MINUTE))));
  }

  /**
   * The driver options the counts depend on are the pool's, not the URL's: a MariaDB URL asking for bulk batches
   * (one SUCCESS_NO_INFO for the batch) and found rows (1 for a row left unchanged) still gets exact counts.
   */
  @Test
  void mariadbCountsStayExactWhateverTheUrlAsksFor() throws SQLException {
    String url = StoreFixtures.freshStoreUrl("mariadb") + "&useBulkStmts=true&USEAFFECTEDROWS=false";
    OnlineStore store = OnlineStore.forUrl(url);
    store.ensureTable(CTR_5MIN);
    store.upsert(CTR_5MIN, rows(row("u1", T0, 10, 1, 0.1, T0 + MINUTE), row("u2", T0, 4, 2, 0.5, T0 + MINUTE)));

    int applied =
        store.upsert(CTR_5MIN,
            rows(row("u0", T0, 1, 0, 0.0, T0), row("u1", T0, 10, 1, 0.1, T0 + MINUTE),
                row("u2", T0 - WINDOW, 9, 9, 0.5, T0), row("u3", T0, 2, 2, 1.0, T0)));

    assertThat(applied, is(2));
    assertThat(store.readAll(CTR_5MIN, List.of("u0", "u1", "u2", "u3")),
        is(Map.of(
            "u0", expected("u0", T0, 1, 0, 0.0, T0),
            "u1", expected("u1", T0, 10, 1, 0.1, T0 + MINUTE),
            "u2", expected("u2", T0, 4, 2, 0.5, T0 + MINUTE),
            "u3", expected("u3", T0, 2, 2, 1.0, T0))));
  }

  /**
   * pgjdbc's {@code reWriteBatchedInserts=true} folds a batch into one multi-row INSERT, which PostgreSQL refuses
   * when it holds one key twice (SQLState 21000) and counts as SUCCESS_NO_INFO. The pool turns it off: both rows of
   * u1 are applied in order against what the one before left, the guard keeps the fuller pane, every row counts.
   */
  @Test
  void postgresqlWritesABatchWithARepeatedKeyWhateverTheUrlAsksFor() throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshPostgresUrl() + "&reWriteBatchedInserts=true");
    store.ensureTable(CTR_5MIN);

    int applied =
        store.upsert(CTR_5MIN,
            rows(
                row("u1", T0, 10, 2, 0.2, T0 + MINUTE),
                row("u2", T0, 3, 1, 0.3333, T0 + MINUTE),
                row("u1", T0, 4, 1, 0.25, T0 + 2 * MINUTE), // fewer events in the same window: refused
                row("u3", T0, 1, 0, 0.0, T0 + MINUTE),
                row("u3", T0 + WINDOW, 2, 2, 1.0, T0 + WINDOW))); // a later window: replaces

    assertThat(applied, is(4));
    assertThat(store.readAll(CTR_5MIN, List.of("u1", "u2", "u3")),
        is(Map.of(
            "u1", expected("u1", T0, 10, 2, 0.2, T0 + MINUTE),
            "u2", expected("u2", T0, 3, 1, 0.3333, T0 + MINUTE),
            "u3", expected("u3", T0 + WINDOW, 2, 2, 1.0, T0 + WINDOW))));
  }

  /**
   * A corrected window with fewer events than the stored one: refused by the guard (which compares event counts),
   * written by {@link OnlineStore#restate}; restating the same row again changes nothing.
   */
  @ParameterizedTest
  @MethodSource("dialects")
  void restateReplacesAStoredRowTheGuardWouldKeep(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    store.upsert(CTR_5MIN, rows(row("u1", T0, 8, 2, 0.25, T0 + MINUTE), row("u2", T0 + WINDOW, 5, 0, 0.0, T0)));
    Object[] corrected = row("u1", T0, 6, 2, 0.3333, T0 + 9 * MINUTE);
    Object[] olderWindow = row("u2", T0, 1, 1, 1.0, T0 + 9 * MINUTE);

    int upserted = store.upsert(CTR_5MIN, rows(corrected, olderWindow));
    Map<String, Map<String, Object>> afterUpsert = store.readAll(CTR_5MIN, List.of("u1", "u2"));
    int restated = store.restate(CTR_5MIN, rows(corrected, olderWindow));

    assertThat(upserted, is(0));
    assertThat(afterUpsert,
        is(Map.of(
            "u1", expected("u1", T0, 8, 2, 0.25, T0 + MINUTE),
            "u2", expected("u2", T0 + WINDOW, 5, 0, 0.0, T0))));
    assertThat(restated, is(2));
    assertThat(store.readAll(CTR_5MIN, List.of("u1", "u2")),
        is(Map.of(
            "u1", expected("u1", T0, 6, 2, 0.3333, T0 + 9 * MINUTE),
            "u2", expected("u2", T0, 1, 1, 1.0, T0 + 9 * MINUTE))));
  }

  /** Keys are compared exactly everywhere: MariaDB's default collation would make these one user. */
  @ParameterizedTest
  @MethodSource("dialects")
  void keysDifferingOnlyInCaseOrAccentsAreDifferentUsers(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);

    int applied =
        store.upsert(CTR_5MIN,
            rows(row("user", T0, 1, 0, 0.0, T0), row("User", T0, 2, 0, 0.0, T0), row("usér", T0, 3, 0, 0.0, T0)));

    assertThat(applied, is(3));
    assertThat(store.readAll(CTR_5MIN, List.of("user", "User", "usér", "USER")),
        is(Map.of(
            "user", expected("user", T0, 1, 0, 0.0, T0),
            "User", expected("User", T0, 2, 0, 0.0, T0),
            "usér", expected("usér", T0, 3, 0, 0.0, T0))));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void writingTheSameBatchTwiceLeavesIdenticalRows(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    List<Object[]> batch =
        rows(
            row("u1", T0, 12, 1, 0.0833, T0 + MINUTE),
            row("u2", T0 + WINDOW, 0, 0, null, T0 + WINDOW + MINUTE),
            row("u3", T0, 4, 4, 1.0, T0 + 2 * MINUTE));
    Map<String, Map<String, Object>> expected =
        Map.of(
            "u1", expected("u1", T0, 12, 1, 0.0833, T0 + MINUTE),
            "u2", expected("u2", T0 + WINDOW, 0, 0, null, T0 + WINDOW + MINUTE),
            "u3", expected("u3", T0, 4, 4, 1.0, T0 + 2 * MINUTE));

    int first = store.upsert(CTR_5MIN, batch);
    Map<String, Map<String, Object>> afterFirst = store.readAll(CTR_5MIN, List.of("u1", "u2", "u3"));
    int second = store.upsert(CTR_5MIN, batch);
    Map<String, Map<String, Object>> afterSecond = store.readAll(CTR_5MIN, List.of("u1", "u2", "u3"));

    assertThat(first, is(3));
    assertThat(second, is(0));
    assertThat(afterFirst, is(expected));
    assertThat(afterSecond, is(expected));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aBatchWithTheSameRowTwiceAppliesItOnce(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);

    int applied =
        store.upsert(CTR_5MIN, rows(row("u1", T0, 5, 1, 0.2, T0 + MINUTE), row("u1", T0, 5, 1, 0.2, T0 + MINUTE)));

    assertThat(applied, is(1));
    assertThat(store.read(CTR_5MIN, "u1"), is(Optional.of(expected("u1", T0, 5, 1, 0.2, T0 + MINUTE))));
  }

  /**
   * Eight writers, each a worker writing its own windows for the same users in its own order, as parallel bundles
   * do. Every write must succeed (no duplicate key from racing inserts, no deadlock from crossing row locks) and
   * every user must end on the latest window.
   */
  @ParameterizedTest
  @MethodSource("dialects")
  @Timeout(120)
  void concurrentWritersLeaveEveryUserOnTheLatestWindow(String dialect) throws Exception {
    OnlineStore store = freshStore(dialect);
    int writers = 8;
    int batches = 15;
    int users = 30;
    ExecutorService executor = Executors.newFixedThreadPool(writers);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Integer>> results = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int writer = w;
        results.add(executor.submit(() -> {
          Random random = new Random(writer);
          start.await();
          int applied = 0;
          for (int b = 0; b < batches; b++) {
            long windowStart = T0 + (b * writers + writer) * WINDOW;
            List<Object[]> batch = new ArrayList<>();
            for (int u = 0; u < users; u++) {
              batch.add(row("u" + u, windowStart, u, 1, ctr(u, 1), windowStart + MINUTE));
            }
            Collections.shuffle(batch, random);
            applied += store.upsert(CTR_5MIN, batch);
          }
          return applied;
        }));
      }
      start.countDown();
      for (Future<Integer> result : results) {
        result.get(); // rethrows any failed write
      }
    } finally {
      executor.shutdownNow();
    }

    long latest = T0 + (batches * writers - 1) * WINDOW;
    Map<String, Map<String, Object>> expected = new LinkedHashMap<>();
    List<String> keys = new ArrayList<>();
    for (int u = 0; u < users; u++) {
      expected.put("u" + u, expected("u" + u, latest, u, 1, ctr(u, 1), latest + MINUTE));
      keys.add("u" + u);
    }
    assertThat(store.readAll(CTR_5MIN, keys), is(expected));
  }

  /**
   * Key order keeps writers from deadlocking on each other, not on other transactions. A batch that MariaDB picks as
   * the victim of a deadlock is written again: here another transaction, made heavier so that InnoDB does not pick
   * it, holds u2 while the batch holds u1 and waits for u2, then asks for u1.
   */
  @Test
  @Timeout(60)
  void mariadbWritesABatchAgainAfterLosingADeadlock() throws Exception {
    String url = StoreFixtures.freshStoreUrl("mariadb");
    OnlineStore store = freshStore("mariadb", url);
    List<Object[]> seed = new ArrayList<>(rows(row("u1", T0, 1, 0, 0.0, T0), row("u2", T0, 1, 0, 0.0, T0)));
    for (int i = 0; i < 100; i++) {
      // Sorted after u1 and u2, so that updating them locks neither u2 nor the gap before it.
      seed.add(row(String.format(Locale.ROOT, "z%03d", i), T0, 1, 0, 0.0, T0));
    }
    store.upsert(CTR_5MIN, seed);
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try (Connection other = DriverManager.getConnection(url);
        Statement statement = other.createStatement();
        Connection admin = DriverManager.getConnection(url);
        Statement monitor = admin.createStatement()) {
      long deadlocksBefore = status(monitor, "Innodb_deadlocks");
      other.setAutoCommit(false);
      statement.executeUpdate("UPDATE ctr_5min SET updated_at = updated_at + 1 WHERE user_id >= 'z'");
      statement.executeQuery("SELECT user_id FROM ctr_5min WHERE user_id = 'u2' FOR UPDATE").close();
      Future<Integer> applied =
          executor.submit(() -> store.upsert(CTR_5MIN,
              rows(row("u1", T0 + WINDOW, 2, 1, 0.5, T0 + WINDOW), row("u2", T0 + WINDOW, 3, 1, 0.3333, T0 + WINDOW))));
      awaitLockWait(monitor, applied); // the batch holds u1 and waits for u2

      statement.executeQuery("SELECT user_id FROM ctr_5min WHERE user_id = 'u1' FOR UPDATE").close();
      other.commit();

      assertThat(applied.get(), is(2));
      assertThat(status(monitor, "Innodb_deadlocks"), is(greaterThan(deadlocksBefore)));
    } finally {
      executor.shutdownNow();
    }
    assertThat(store.readAll(CTR_5MIN, List.of("u1", "u2")),
        is(Map.of(
            "u1", expected("u1", T0 + WINDOW, 2, 1, 0.5, T0 + WINDOW),
            "u2", expected("u2", T0 + WINDOW, 3, 1, 0.3333, T0 + WINDOW))));
  }

  /**
   * A batch that gives up waiting for a row lock (MariaDB error 1205, which has no SQLState of its own) is written
   * again too. The writer waits at most a second here; the lock is held for a second and a half after it starts
   * waiting, so its first attempt times out and a later one succeeds.
   */
  @Test
  @Timeout(60)
  void mariadbWritesABatchAgainAfterALockWaitTimeout() throws Exception {
    String url = StoreFixtures.freshStoreUrl("mariadb");
    String impatientUrl = url + "&sessionVariables=innodb_lock_wait_timeout=1";
    OnlineStore store = freshStore("mariadb", impatientUrl);
    store.upsert(CTR_5MIN, rows(row("u1", T0, 1, 0, 0.0, T0)));
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try (Connection other = DriverManager.getConnection(url);
        Statement statement = other.createStatement();
        Connection admin = DriverManager.getConnection(url);
        Statement monitor = admin.createStatement();
        Connection pooled = ConnectionPools.get(impatientUrl).getConnection();
        Statement setting = pooled.createStatement();
        ResultSet timeout = setting.executeQuery("SELECT @@innodb_lock_wait_timeout")) {
      timeout.next();
      assertThat(timeout.getLong(1), is(1L));
      long waitsBefore = status(monitor, "Innodb_row_lock_waits");
      other.setAutoCommit(false);
      statement.executeQuery("SELECT user_id FROM ctr_5min WHERE user_id = 'u1' FOR UPDATE").close();
      Future<Integer> applied =
          executor.submit(() -> store.upsert(CTR_5MIN, rows(row("u1", T0 + WINDOW, 2, 1, 0.5, T0 + WINDOW))));

      awaitLockWait(monitor, applied);
      Thread.sleep(1_500);
      other.commit();

      assertThat(applied.get(), is(1));
      assertThat(status(monitor, "Innodb_row_lock_waits"), is(greaterThanOrEqualTo(waitsBefore + 2)));
    } finally {
      executor.shutdownNow();
    }
    assertThat(store.read(CTR_5MIN, "u1"), is(Optional.of(expected("u1", T0 + WINDOW, 2, 1, 0.5, T0 + WINDOW))));
  }

  // ---------------------------------------------------------------- readAll

  @ParameterizedTest
  @MethodSource("dialects")
  void readAllReturnsPresentKeysOnceAndLeavesMissingOnesOut(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    store.upsert(CTR_5MIN, rows(row("u1", T0, 12, 1, 0.0833, T0 + 1), row("u2", T0, 0, 0, null, T0 + 2)));

    Map<String, Map<String, Object>> rows = store.readAll(CTR_5MIN, List.of("u2", "u9", "u1", "u2", "u9", "u1"));

    assertThat(rows,
        is(Map.of(
            "u1", expected("u1", T0, 12, 1, 0.0833, T0 + 1),
            "u2", expected("u2", T0, 0, 0, null, T0 + 2))));
    assertThat(store.readAll(CTR_5MIN, List.of()), is(Map.of()));
    assertThat(store.readAll(CTR_5MIN, List.of("nobody")), is(Map.of()));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void readAllReadsMoreKeysThanOneStatementHolds(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    int stored = 2 * OnlineStore.MAX_KEYS_PER_READ + 1;
    List<Object[]> batch = new ArrayList<>();
    Map<String, Map<String, Object>> expected = new LinkedHashMap<>();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < stored; i++) {
      String user = String.format(Locale.ROOT, "user-%04d", i);
      batch.add(row(user, T0 + i * WINDOW, i, i % 7, i == 0 ? null : (i % 7) / (double) i, T0 + i));
      expected.put(user, expected(user, T0 + i * WINDOW, i, i % 7, i == 0 ? null : (i % 7) / (double) i, T0 + i));
      keys.add(user);
      if (i % 100 == 0) {
        keys.add("missing-" + i);
        keys.add(user); // a duplicate, possibly in another chunk than the first
      }
    }
    store.upsert(CTR_5MIN, batch);

    Map<String, Map<String, Object>> rows = store.readAll(CTR_5MIN, keys);

    assertThat(keys.size(), is(stored + 2 * 11));
    assertThat(rows, is(expected));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void keysAreValuesNotSql(String dialect) throws SQLException {
    OnlineStore store = freshStore(dialect);
    store.upsert(CTR_5MIN, rows(row("u1", T0, 1, 1, 1.0, T0), row("u1' OR '1'='1", T0, 2, 0, 0.0, T0)));

    assertThat(store.readAll(CTR_5MIN, List.of("x' OR '1'='1", "u1'; DROP TABLE ctr_5min; --")), is(Map.of()));
    assertThat(store.read(CTR_5MIN, "u1' OR '1'='1"),
        is(Optional.of(expected("u1' OR '1'='1", T0, 2, 0, 0.0, T0))));
    assertThat(store.read(CTR_5MIN, "u1"), is(Optional.of(expected("u1", T0, 1, 1, 1.0, T0))));
  }

  // ---------------------------------------------------------------- reachability

  @ParameterizedTest
  @MethodSource("dialects")
  void aRunningStoreIsReachable(String dialect) {
    assertThat(OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect)).isReachable(), is(true));
  }

  @Test
  void anUnreachableStoreSaysSoWithoutItsPassword() {
    OnlineStore store = StoreFixtures.unreachableStore();

    StoreUnavailableException e =
        assertThrows(StoreUnavailableException.class, () -> store.readAll(CTR_5MIN, List.of("u1")));

    assertThat(store.isReachable(), is(false));
    assertThat(e.getMessage(),
        startsWith("cannot read ctr_5min in the online store " + StoreFixtures.UNREACHABLE_REDACTED_URL + ": "));
    assertThat(e.getMessage(), containsString("(is the database running and the URL right?)"));
    assertThat(e.getMessage(), not(containsString("secret")));
  }

  @Test
  void redactedUrlHidesThePassword() {
    OnlineStore store =
        new OnlineStore(
            "jdbc:postgresql://db:5432/features?user=app&password=s3cr3t&ssl=true", null, Dialect.POSTGRESQL);
    OnlineStore upperCase =
        new OnlineStore("jdbc:h2:tcp://db/features;USER=app;PASSWORD=s3cr3t;MODE=PostgreSQL", null, Dialect.H2);
    // Through forUrl, whose pool hands the driver a URL with options added: messages show the URL as given.
    OnlineStore mysql = OnlineStore.forUrl("jdbc:mysql://127.0.0.1:1/features?user=app&password=s3cr3t");
    OnlineStore mariadb =
        OnlineStore.forUrl("jdbc:mariadb://127.0.0.1:1/features?password=s3cr3t&user=app&keyStorePassword=k3y");

    assertThat(store.redactedUrl(), is("jdbc:postgresql://db:5432/features?user=app&password=***&ssl=true"));
    assertThat(upperCase.redactedUrl(), is("jdbc:h2:tcp://db/features;USER=app;PASSWORD=***;MODE=PostgreSQL"));
    assertThat(mysql.redactedUrl(), is("jdbc:mysql://127.0.0.1:1/features?user=app&password=***"));
    assertThat(mariadb.redactedUrl(),
        is("jdbc:mariadb://127.0.0.1:1/features?password=***&user=app&keyStorePassword=***"));
  }

  /** The MariaDB driver takes jdbc:mysql: URLs only when told to; the pool tells it, and messages never show it. */
  @Test
  void aMysqlUrlServesTheMariadbStore() throws SQLException {
    String mariadbUrl = StoreFixtures.freshStoreUrl("mariadb");
    String mysqlUrl = mariadbUrl.replace("jdbc:mariadb:", "jdbc:mysql:");
    OnlineStore mysql = OnlineStore.forUrl(mysqlUrl);
    mysql.ensureTable(CTR_5MIN);

    int applied = mysql.upsert(CTR_5MIN, rows(row("u1", T0, 12, 1, 0.0833, T0 + MINUTE)));

    assertThat(mysql.dialect(), is(Dialect.MARIADB));
    assertThat(applied, is(1));
    assertThat(mysql.redactedUrl(), is(mysqlUrl));
    assertThat(OnlineStore.forUrl(mariadbUrl).read(CTR_5MIN, "u1"),
        is(Optional.of(expected("u1", T0, 12, 1, 0.0833, T0 + MINUTE))));
  }

  @Test
  void forUrlRejectsAnUnsupportedUrl() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> OnlineStore.forUrl("jdbc:sqlserver://localhost;databaseName=features"));

    assertThat(e.getMessage(),
        is("unsupported online store URL 'jdbc:sqlserver://localhost;databaseName=features': use jdbc:h2:file:PATH"
            + " (embedded, the default), jdbc:postgresql://HOST:PORT/DATABASE or jdbc:mariadb://HOST:PORT/DATABASE"
            + " (jdbc:mysql:// works too)"));
  }

  // ---------------------------------------------------------------- helpers

  private static OnlineStore freshStore(String dialect) {
    return freshStore(dialect, StoreFixtures.freshStoreUrl(dialect));
  }

  private static OnlineStore freshStore(String dialect, String url) {
    OnlineStore store = OnlineStore.forUrl(url);
    assertThat(store.dialect().name().toLowerCase(Locale.ROOT), is(dialect));
    store.ensureTable(CTR_5MIN);
    return store;
  }

  /**
   * Waits until a MariaDB transaction waits for a row lock, or until {@code write} is done (its result then tells
   * more than a wait would).
   */
  private static void awaitLockWait(Statement monitor, Future<?> write) throws Exception {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!write.isDone()) {
      try (ResultSet waiting =
          monitor.executeQuery("SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'")) {
        waiting.next();
        if (waiting.getLong(1) > 0) {
          return;
        }
      }
      assertThat("a transaction waits for a row lock within 20 s", System.nanoTime() < deadline, is(true));
      // InnoDB refreshes this table only when it has not been read for 100 ms.
      Thread.sleep(150);
    }
  }

  /** A server-wide InnoDB counter; other clients can only make it larger. */
  private static long status(Statement monitor, String variable) throws SQLException {
    try (ResultSet status = monitor.executeQuery("SHOW GLOBAL STATUS LIKE '" + variable + "'")) {
      status.next();
      return status.getLong(2);
    }
  }

  /** Clicks per impression, or null without impressions, as the pipeline computes it. */
  private static Double ctr(long impressions, long clicks) {
    return impressions == 0 ? null : (double) clicks / impressions;
  }

  /** A CTR_5MIN row in column order; the window is five minutes from {@code windowStart}. */
  static Object[] row(String user, long windowStart, long impressions, long clicks, Double ctr, long updatedAt) {
    return new Object[] {user, windowStart, windowStart + WINDOW, impressions, clicks, ctr, updatedAt};
  }

  /** The row {@link #row} writes, as {@link OnlineStore#read} returns it. */
  static Map<String, Object> expected(
      String user, long windowStart, long impressions, long clicks, Double ctr, long updatedAt) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("user_id", user);
    row.put("window_start", windowStart);
    row.put("window_end", windowStart + WINDOW);
    row.put("impressions", impressions);
    row.put("clicks", clicks);
    row.put("ctr", ctr);
    row.put("updated_at", updatedAt);
    return row;
  }

  private static List<Object[]> rows(Object[]... rows) {
    return Arrays.asList(rows);
  }

  /** "name NULL" or "name NOT NULL" per column, in table order, read from the database itself. */
  private static List<String> columnsOf(String url, String table) throws SQLException {
    List<String> columns = new ArrayList<>();
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement();
        ResultSet resultSet = statement.executeQuery("SELECT * FROM " + table + " WHERE 1 = 0")) {
      ResultSetMetaData meta = resultSet.getMetaData();
      for (int i = 1; i <= meta.getColumnCount(); i++) {
        boolean nullable = meta.isNullable(i) == ResultSetMetaData.columnNullable;
        columns.add(meta.getColumnLabel(i).toLowerCase(Locale.ROOT) + (nullable ? " NULL" : " NOT NULL"));
      }
    }
    return columns;
  }

  /** Another JDBC URL naming the same database, so it gets its own pool. */
  private static String sameDatabaseOtherUrl(String dialect, String url, String worker) {
    // For H2 only a setting it knows may vary the URL: a lock timeout that differs by a few milliseconds.
    switch (dialect) {
      case "h2":
        return url + ";IFEXISTS=TRUE;LOCK_TIMEOUT=" + (10_000 + Math.abs(worker.hashCode() % 1000));
      case "mariadb":
        return url + "&connectionAttributes=program_name:" + worker;
      default:
        return url + "&ApplicationName=" + worker;
    }
  }
}
