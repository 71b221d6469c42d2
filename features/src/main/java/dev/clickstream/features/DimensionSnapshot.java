package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One load of a {@link Dimension} table: every key's attribute values as they were when it was read, and when that
 * was. Immutable and {@link Serializable}, so it can travel as a side input.
 *
 * <p>Rows map a key to its values in {@link Dimension#attributes()} order (a list that may hold nulls where the
 * attribute allows them); every row is checked against the dimension when the snapshot is made. A snapshot from an
 * empty table is {@link #of of(dimension, loadedAt, Map.of())}: loaded, with no rows. {@link #empty(Dimension)} is
 * different: no load at all, for where no snapshot exists (a side input's default), and {@link #isLoaded()} tells
 * them apart.
 */
public final class DimensionSnapshot implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The {@link #loadedAtMillis()} of {@link #empty(Dimension)}: never loaded. */
  public static final long NEVER_LOADED = Long.MIN_VALUE;

  /** How many rows {@link #toString()} shows before it only counts the rest. */
  private static final int ROWS_SHOWN = 10;

  private final Dimension dimension;
  private final long loadedAtMillis;
  private final Map<String, List<Object>> rows;

  private DimensionSnapshot(Dimension dimension, long loadedAtMillis, Map<String, List<Object>> rows) {
    this.dimension = dimension;
    this.loadedAtMillis = loadedAtMillis;
    this.rows = rows;
  }

  /**
   * The snapshot of {@code dimension} loaded at {@code loadedAtMillis} (processing time, epoch milliseconds) holding
   * {@code rows}, which is copied. Fails, naming the key and the attribute, when a row is not valid for the
   * dimension ({@link Dimension#problemWith(List)}).
   */
  public static DimensionSnapshot of(Dimension dimension, long loadedAtMillis, Map<String, List<Object>> rows) {
    requireNonNull(dimension, "dimension");
    requireNonNull(rows, "rows");
    if (loadedAtMillis == NEVER_LOADED) {
      throw new IllegalArgumentException(
          "loadedAtMillis must be when the snapshot was loaded; " + NEVER_LOADED + " means never, use empty(...)");
    }
    Map<String, List<Object>> copy = new HashMap<>(rows.size() * 4 / 3 + 1);
    for (Map.Entry<String, List<Object>> row : rows.entrySet()) {
      if (row.getKey() == null) {
        throw new IllegalArgumentException("a row of dimension " + dimension.name() + " has a null key");
      }
      String problem = dimension.problemWith(row.getValue());
      if (problem != null) {
        throw new IllegalArgumentException(
            "dimension " + dimension.name() + ", " + dimension.keyColumn() + " \"" + row.getKey() + "\": "
                + problem);
      }
      // Arrays.asList over a copy: values may be null, which List.copyOf refuses.
      copy.put(row.getKey(), Collections.unmodifiableList(Arrays.asList(row.getValue().toArray())));
    }
    return new DimensionSnapshot(dimension, loadedAtMillis, Collections.unmodifiableMap(copy));
  }

  /** No load of {@code dimension}: no rows, {@link #isLoaded()} false. Every lookup misses. */
  public static DimensionSnapshot empty(Dimension dimension) {
    return new DimensionSnapshot(requireNonNull(dimension, "dimension"), NEVER_LOADED, Map.of());
  }

  public Dimension dimension() {
    return dimension;
  }

  /** When the table was read (processing time, epoch milliseconds); {@link #NEVER_LOADED} for {@link #empty}. */
  public long loadedAtMillis() {
    return loadedAtMillis;
  }

  /** False only for {@link #empty(Dimension)}: a snapshot of an empty table was loaded. */
  public boolean isLoaded() {
    return loadedAtMillis != NEVER_LOADED;
  }

  /** Every row: key to attribute values in attribute order. Unmodifiable. */
  public Map<String, List<Object>> rows() {
    return rows;
  }

  public int rowCount() {
    return rows.size();
  }

  /** The attribute values of {@code key}, in attribute order; empty when the snapshot lacks the key (or it is null). */
  public Optional<List<Object>> lookup(String key) {
    return key == null ? Optional.empty() : Optional.ofNullable(rows.get(key));
  }

  /** The values of {@code key}, or the dimension's declared defaults when the snapshot lacks it. */
  public List<Object> valuesOrDefaults(String key) {
    return lookup(key).orElse(dimension.defaults());
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof DimensionSnapshot)) {
      return false;
    }
    DimensionSnapshot other = (DimensionSnapshot) o;
    return loadedAtMillis == other.loadedAtMillis && dimension.equals(other.dimension) && rows.equals(other.rows);
  }

  @Override
  public int hashCode() {
    return Objects.hash(dimension, loadedAtMillis, rows);
  }

  /** The dimension, when it was loaded, and the first {@value #ROWS_SHOWN} rows in key order. */
  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("DimensionSnapshot(").append(dimension.name()).append(", ");
    if (!isLoaded()) {
      return text.append("never loaded)").toString();
    }
    text.append("loaded at ").append(Instant.ofEpochMilli(loadedAtMillis)).append(", ").append(rows.size())
        .append(rows.size() == 1 ? " row" : " rows");
    int shown = 0;
    for (Map.Entry<String, List<Object>> row : new TreeMap<>(rows).entrySet()) {
      if (shown == ROWS_SHOWN) {
        text.append(", ...");
        break;
      }
      text.append(shown == 0 ? ": " : ", ").append(row.getKey()).append('=').append(row.getValue());
      shown++;
    }
    return text.append(')').toString();
  }
}
