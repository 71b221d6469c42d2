package dev.clickstream.features;

/**
 * When a feature's row becomes known, in event time: what the offline history records beside each row and what a
 * point-in-time (as-of) join compares a spine's timestamp with, and the column a served row's age is counted from
 * ({@link FeatureDefinition#asOfColumn()}). Derived from the table alone, so every declared feature has it without
 * saying so.
 *
 * <p>A row is known from its last time column other than {@value WindowedAggregation#UPDATED_AT} (which is
 * processing time): a tumbling or attribution window's {@code window_end} (a window is known once it has closed),
 * a session's {@code session_end}, a rolling row's {@code event_time} (the event it is as of), a hopping window's
 * {@code window_end}, a tile's {@code latest_time}.
 */
public final class PointInTime {
  /** The offline history's column holding {@link #knownAtColumn} of each row, epoch milliseconds. */
  public static final String FEATURE_TIME = "feature_time";

  private PointInTime() {}

  /** The column of {@code table} that says from when a row's values hold; see the class documentation. */
  public static String knownAtColumn(FeatureTable table) {
    String known = null;
    for (FeatureTable.Column column : table.columns()) {
      if (column.role() == FeatureTable.Role.TIME && !column.name().equals(WindowedAggregation.UPDATED_AT)) {
        known = column.name();
      }
    }
    if (known == null) {
      throw new IllegalArgumentException(
          "table " + table.name() + " has no time column saying when its rows hold: declare one with time(...)");
    }
    return known;
  }
}
