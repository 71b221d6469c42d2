package dev.clickstream.store;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.Dimension;
import dev.clickstream.features.DimensionSnapshot;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dimension tables in the online store: {@link #write} puts rows in (the demo's generated users and items), {@link
 * #load} reads a whole table into a {@link DimensionSnapshot} (what a refresh of the enrichment's side input does).
 * Each table is {@link Dimension#table()}: the key, then one column per attribute.
 */
public final class DimensionTables {
  private static final Logger LOG = LoggerFactory.getLogger(DimensionTables.class);

  private DimensionTables() {}

  /**
   * Reads every row of {@code dimension}'s table into a snapshot stamped {@code nowMillis}, the processing time of
   * the load. A table that does not exist yet is created, empty: a job may start before its dimensions are written,
   * and every key is then unknown (defaults, counted as misses) until a refresh finds rows. An empty table is
   * logged as a warning saying how to fill it.
   *
   * @throws StoreUnavailableException when the database cannot be reached: a load never passes an unreadable table
   *     off as an empty one
   */
  public static DimensionSnapshot load(OnlineStore store, Dimension dimension, long nowMillis) {
    List<Map<String, Object>> stored;
    try {
      store.ensureTable(dimension.table());
      stored = store.readTable(dimension.table());
    } catch (StoreUnavailableException e) {
      throw new StoreUnavailableException(
          "cannot load dimension " + dimension.name() + " from table " + dimension.table().name() + ": "
              + e.getMessage(),
          e);
    }
    Map<String, List<Object>> rows = new HashMap<>(stored.size() * 4 / 3 + 1);
    List<String> attributes = dimension.attributeNames();
    for (Map<String, Object> row : stored) {
      List<Object> values = new ArrayList<>(attributes.size());
      for (String attribute : attributes) {
        values.add(row.get(attribute));
      }
      rows.put((String) row.get(dimension.keyColumn()), values);
    }
    if (rows.isEmpty()) {
      LOG.warn("Dimension table {} in {} is empty: every {} gets the declared defaults (counted as misses) until it"
              + " has rows; ./clickstream dimensions writes generated ones",
          dimension.table().name(), store.redactedUrl(), dimension.keyColumn());
    }
    return DimensionSnapshot.of(dimension, nowMillis, rows);
  }

  /**
   * Creates {@code dimension}'s table when it is missing and upserts {@code rows}, each the key and then the
   * attribute values in {@link Dimension#attributes()} order, in one transaction. A row replaces the stored row of
   * its key whatever it holds; keys not in {@code rows} keep their rows ({@link OnlineStore#clear} first to replace
   * the whole table).
   *
   * @return how many rows were inserted or changed (MariaDB does not count a row written again unchanged)
   * @throws IllegalArgumentException naming the row and the attribute, when a row has a null key or is not valid
   *     for the dimension ({@link Dimension#problemWith(List)}); nothing is written then
   */
  public static int write(OnlineStore store, Dimension dimension, List<Object[]> rows) throws SQLException {
    requireNonNull(dimension, "dimension");
    for (int i = 0; i < rows.size(); i++) {
      Object[] row = rows.get(i);
      if (row == null || row.length == 0 || !(row[0] instanceof String)) {
        throw new IllegalArgumentException(
            "row " + i + " for dimension " + dimension.name() + " must start with its " + dimension.keyColumn()
                + " as a string, got " + (row == null ? null : Arrays.toString(row)));
      }
      String problem = dimension.problemWith(Arrays.asList(row).subList(1, row.length));
      if (problem != null) {
        throw new IllegalArgumentException(
            "row " + i + " for dimension " + dimension.name() + ", " + dimension.keyColumn() + " \"" + row[0]
                + "\": " + problem);
      }
    }
    store.ensureTable(dimension.table());
    return store.upsert(dimension.table(), rows);
  }
}
