package dev.clickstream.store;

import dev.clickstream.features.FeatureTable;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A table that an earlier version created with another primary key (click_events was keyed by event_id alone,
 * issue 16 item 9) is refused with what to do, instead of failing every upsert; a run that starts from nothing
 * makes it anew.
 */
class TableKeyCheckTest {
  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aTableWithAnEarlierKeyIsRefusedSayingWhatToDo(String dialect) throws SQLException {
    String url = StoreFixtures.freshStoreUrl(dialect);
    FeatureTable clickEvents = FeatureDefinitions.CLICK_COUNTS.rawEventsTable();
    createWithTheEarlierKey(url);

    OnlineStore.KeyMismatchException e =
        assertThrows(OnlineStore.KeyMismatchException.class, () -> OnlineStore.forUrl(url).ensureTable(clickEvents));

    assertThat(e.getMessage(), is("table click_events in the online store " + OnlineStore.forUrl(url).redactedUrl()
        + " has the primary key (event_id), but this version declares (user_id, event_id): an earlier version"
        + " created it. Drop it (DROP TABLE click_events) and run again, and the pipeline creates it anew; a table"
        + " of raw events holds only its retention's worth of rows, which the next run of its input writes again"));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void clearingMakesATableWithAnEarlierKeyAnew(String dialect) throws SQLException {
    String url = StoreFixtures.freshStoreUrl(dialect);
    FeatureTable clickEvents = FeatureDefinitions.CLICK_COUNTS.rawEventsTable();
    createWithTheEarlierKey(url);
    OnlineStore store = OnlineStore.forUrl(url);

    store.clear(clickEvents);
    Object[] row = new Object[clickEvents.columns().size()];
    for (int i = 0; i < row.length; i++) {
      FeatureTable.Column column = clickEvents.columns().get(i);
      row[i] = column.type() == FeatureTable.ColumnType.BIGINT ? (Object) 1_000L
          : column.type() == FeatureTable.ColumnType.DOUBLE ? (Object) 1.0 : "x";
    }
    Object[] otherUser = row.clone();
    otherUser[clickEvents.columnNames().indexOf("user_id")] = "y";

    assertThat(store.upsert(clickEvents, List.of(row, otherUser)), is(2));
    assertThat(store.readTable(clickEvents).size(), is(2));
  }

  private static void createWithTheEarlierKey(String url) throws SQLException {
    OnlineStore.forUrl(url); // registers the driver
    try (Connection connection = DriverManager.getConnection(ConnectionPools.driverUrl(url));
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE click_events (user_id VARCHAR(256) NOT NULL, event_id VARCHAR(256) NOT NULL,"
          + " event_time BIGINT NOT NULL, PRIMARY KEY (event_id))");
    }
  }
}
