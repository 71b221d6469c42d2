package dev.clickstream.store;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.DriftRecord;
import dev.clickstream.features.DriftRecord.Status;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The drift table's replace rule, applied by the store: the latest window, and its pane over the most values. */
class DriftTableTest {
  private static final long NOON = 1_709_294_400_000L;
  private static final long FIVE_MINUTES = 300_000L;
  private static final DriftMonitor SMALL =
      DriftMonitor.named("ctr_5min.ctr").bins(4).minSamplesPerSide(4).ksThreshold(0.5).build();

  @Test
  void theStoreKeepsTheLatestWindowAndItsPaneOverTheMostValues() throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshH2Url());
    store.ensureTable(DriftMonitor.TABLE);
    DriftRecord onTime = new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 90, 30, 0.05, 0.1, Status.OK);
    // A late pane of the same window: one more recent value, evaluated again with every value.
    DriftRecord late = new DriftRecord("ctr_5min.ctr", NOON, NOON + FIVE_MINUTES, 90, 31, 0.25, 0.1, Status.DRIFT);
    DriftRecord earlier =
        new DriftRecord("ctr_5min.ctr", NOON - FIVE_MINUTES, NOON, 95, 40, 0.01, 0.05, Status.OK);
    DriftRecord later =
        new DriftRecord("ctr_5min.ctr", NOON + FIVE_MINUTES, NOON + 2 * FIVE_MINUTES, 91, 2, null, null,
            Status.INSUFFICIENT_DATA);

    assertThat(store.upsert(DriftMonitor.TABLE, List.<Object[]>of(SMALL.row(onTime, 1L))), is(1));
    assertThat(store.upsert(DriftMonitor.TABLE, List.<Object[]>of(SMALL.row(late, 2L))), is(1));
    // A replay of the on-time pane, or an earlier window, leaves the late pane.
    assertThat(store.upsert(DriftMonitor.TABLE, List.<Object[]>of(SMALL.row(onTime, 3L))), is(0));
    assertThat(store.upsert(DriftMonitor.TABLE, List.<Object[]>of(SMALL.row(earlier, 4L))), is(0));
    assertThat(store.read(DriftMonitor.TABLE, "ctr_5min.ctr").orElseThrow(), is(stored(late, 2L)));
    // The same evaluation again (a retried write) is applied, harmlessly.
    assertThat(store.upsert(DriftMonitor.TABLE, List.<Object[]>of(SMALL.row(late, 5L))), is(1));
    assertThat(store.upsert(DriftMonitor.TABLE, List.<Object[]>of(SMALL.row(later, 6L))), is(1));
    assertThat(store.read(DriftMonitor.TABLE, "ctr_5min.ctr").orElseThrow(), is(stored(later, 6L)));
  }

  /** The row {@link DriftMonitor#row} writes for {@code record}, as {@link OnlineStore#read} returns it. */
  private static Map<String, Object> stored(DriftRecord record, long updatedAt) {
    Map<String, Object> row = new LinkedHashMap<>();
    Object[] values = SMALL.row(record, updatedAt);
    for (int i = 0; i < values.length; i++) {
      row.put(DriftMonitor.TABLE.columnNames().get(i), values[i]);
    }
    return row;
  }

}
