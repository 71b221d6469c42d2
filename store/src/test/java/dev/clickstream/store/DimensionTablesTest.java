package dev.clickstream.store;

import static dev.clickstream.features.DimensionDefinitions.ITEMS;
import static dev.clickstream.features.DimensionDefinitions.USERS;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.DimensionSnapshot;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link DimensionTables} against real H2, PostgreSQL and MariaDB: rows written come back exactly, a second write
 * replaces them, and a missing table loads empty, each once per dialect; an unreachable store fails the load.
 */
class DimensionTablesTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long NOW = 1_709_294_400_000L;

  @AfterEach
  void closePools() {
    ConnectionPools.closeAll();
  }

  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void writtenRowsLoadBackExactlyAsASnapshot(String dialect) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));

    int users =
        DimensionTables.write(store, USERS, List.of(
            new Object[] {"u1", "de", "premium", 1_700_000_000_000L},
            new Object[] {"u2", "fr", "free", null},
            // Byte for byte: a key differing only in case is another user.
            new Object[] {"U1", "us", "trial", -5L}));
    int items =
        DimensionTables.write(store, ITEMS, List.of(
            new Object[] {"i1", "shoes", "spring_sale", 49.95},
            new Object[] {"i2", "hats", "none", null}));

    assertThat(users, is(3));
    assertThat(items, is(2));
    assertThat(DimensionTables.load(store, USERS, NOW),
        is(DimensionSnapshot.of(USERS, NOW, rows(
            "u1", Arrays.asList("de", "premium", 1_700_000_000_000L),
            "u2", Arrays.asList("fr", "free", null),
            "U1", Arrays.asList("us", "trial", -5L)))));
    assertThat(DimensionTables.load(store, ITEMS, NOW + 1),
        is(DimensionSnapshot.of(ITEMS, NOW + 1, rows(
            "i1", Arrays.asList("shoes", "spring_sale", 49.95),
            "i2", Arrays.asList("hats", "none", null)))));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aSecondWriteReplacesTheValuesOfItsKeysAndKeepsTheOthers(String dialect) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    DimensionTables.write(store, ITEMS, List.of(
        new Object[] {"i1", "shoes", "spring_sale", 49.95},
        new Object[] {"i2", "hats", "none", null},
        new Object[] {"i3", "bags", "none", 10.0}));

    int applied =
        DimensionTables.write(store, ITEMS, List.of(
            // Every value may change, a price may become unknown, and one may become known.
            new Object[] {"i1", "boots", "summer_sale", null},
            new Object[] {"i2", "hats", "none", 12.5}));

    assertThat(applied, is(2));
    assertThat(DimensionTables.load(store, ITEMS, NOW),
        is(DimensionSnapshot.of(ITEMS, NOW, rows(
            "i1", Arrays.asList("boots", "summer_sale", null),
            "i2", Arrays.asList("hats", "none", 12.5),
            "i3", Arrays.asList("bags", "none", 10.0)))));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void anEmptyTableLoadsAsALoadedSnapshotWithoutRows(String dialect) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));

    assertThat(DimensionTables.write(store, USERS, List.of()), is(0));

    assertThat(DimensionTables.load(store, USERS, NOW), is(DimensionSnapshot.of(USERS, NOW, Map.of())));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aMissingTableIsCreatedEmptySoEveryKeyIsUnknownUntilItHasRows(String dialect) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));

    DimensionSnapshot before = DimensionTables.load(store, USERS, NOW);
    DimensionTables.write(store, USERS, List.<Object[]>of(new Object[] {"u1", "de", "premium", 1L}));
    DimensionSnapshot after = DimensionTables.load(store, USERS, NOW + 1);

    assertThat(before, is(DimensionSnapshot.of(USERS, NOW, Map.of())));
    assertThat(after, is(DimensionSnapshot.of(USERS, NOW + 1, Map.of("u1", List.of("de", "premium", 1L)))));
  }

  @Test
  void anUnreachableStoreFailsTheLoadSayingWhichDimension() {
    StoreUnavailableException e =
        assertThrows(
            StoreUnavailableException.class,
            () -> DimensionTables.load(StoreFixtures.unreachableStore(), USERS, NOW));

    assertThat(e.getMessage(), startsWith("cannot load dimension users from table users: "));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aRowThatDoesNotFitTheDimensionWritesNothing(String dialect) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    Object[] good = {"u1", "de", "premium", 1L};

    IllegalArgumentException wrongType =
        assertThrows(IllegalArgumentException.class,
            () -> DimensionTables.write(store, USERS, List.of(good, new Object[] {"u2", "fr", "free", "2024"})));
    IllegalArgumentException nullString =
        assertThrows(IllegalArgumentException.class,
            () -> DimensionTables.write(store, USERS, List.of(good, new Object[] {"u2", "fr", null, 2L})));
    IllegalArgumentException noKey =
        assertThrows(IllegalArgumentException.class,
            () -> DimensionTables.write(store, USERS, List.of(good, new Object[] {null, "fr", "free", 2L})));

    assertThat(wrongType.getMessage(),
        is("row 1 for dimension users, user_id \"u2\": attribute signup_time must be a LONG (Long), got String"
            + " \"2024\""));
    assertThat(nullString.getMessage(),
        is("row 1 for dimension users, user_id \"u2\": attribute segment may not be null: a STRING attribute"
            + " always has a value"));
    assertThat(noKey.getMessage(),
        is("row 1 for dimension users must start with its user_id as a string, got [null, fr, free, 2]"));
    store.ensureTable(USERS.table());
    assertThat(DimensionTables.load(store, USERS, NOW), is(DimensionSnapshot.of(USERS, NOW, Map.of())));
  }

  private static Map<String, List<Object>> rows(Object... keysAndValues) {
    Map<String, List<Object>> rows = new HashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      @SuppressWarnings("unchecked")
      List<Object> values = (List<Object>) keysAndValues[i + 1];
      rows.put((String) keysAndValues[i], values);
    }
    return rows;
  }
}
