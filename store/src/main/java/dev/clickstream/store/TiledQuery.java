package dev.clickstream.store;

import static dev.clickstream.features.WindowedAggregation.EVENT_COUNT;
import static dev.clickstream.features.WindowedAggregation.EVENT_TIME;
import static dev.clickstream.features.WindowedAggregation.LAST_TIME;
import static dev.clickstream.features.WindowedAggregation.LAST_VALUE;
import static dev.clickstream.features.WindowedAggregation.LATEST_TIME;
import static dev.clickstream.features.WindowedAggregation.TILE_START;
import static dev.clickstream.features.WindowedAggregation.VALUE;
import static dev.clickstream.features.WindowedAggregation.VALUE_COUNT;
import static dev.clickstream.features.WindowedAggregation.VALUE_MAX;
import static dev.clickstream.features.WindowedAggregation.VALUE_MIN;
import static dev.clickstream.features.WindowedAggregation.VALUE_SUM;

import dev.clickstream.features.FeatureWindow;
import dev.clickstream.features.Partial;
import dev.clickstream.features.WindowedAggregation;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The tiled pattern: every window of a {@link WindowedAggregation} from whole tiles plus the raw events of the
 * partial tiles at its edges, in one statement.
 *
 * <p>As of {@code t}, a window {@code [t - W, t]} splits into a left edge {@code [t - W, L)} where {@code L} is the
 * first tile boundary at or after {@code t - W}; whole tiles {@code [L, R)} where {@code R} is the last tile boundary
 * at or before {@code t + 1}; and a right edge {@code [R, t]}. The edges are shorter than one tile, so a window of an
 * hour reads at most 60 tiles and two partial minutes of raw events, and the answer is exact for any {@code t}.
 *
 * <p>The statement is a {@code UNION ALL} of the tiles {@code [L_longest, R)} and the raw events of every window's
 * edges, each row tagged with its source; {@link #partials} assigns each row to the windows it belongs to, so a row
 * is never counted twice.
 */
public final class TiledQuery {
  private static final int TILE = 0;
  private static final int EVENT = 1;

  private final WindowedAggregation feature;
  private final String sql;

  public TiledQuery(WindowedAggregation feature) {
    if (feature.tilesTable() == null) {
      throw new IllegalArgumentException("feature " + feature.name() + " keeps no tiles: no tiled reads");
    }
    this.feature = feature;
    this.sql = buildSql();
  }

  public WindowedAggregation feature() {
    return feature;
  }

  public String sql() {
    return sql;
  }

  /** The parameters of {@link #sql()}, in order. */
  public List<Object> parameters(String entity, long asOf) {
    long rightEdge = rightEdgeStart(asOf);
    List<Object> parameters = new ArrayList<>();
    parameters.add(entity);
    parameters.add(firstWholeTile(feature.longestWindow(), asOf));
    parameters.add(rightEdge);
    parameters.add(entity);
    for (FeatureWindow window : feature.windows()) {
      parameters.add(window.startAsOf(asOf));
      parameters.add(firstWholeTile(window, asOf));
    }
    parameters.add(rightEdge);
    parameters.add(asOf);
    return parameters;
  }

  /** One partial per window, shortest first, from every row of the statement. */
  public Partial[] partials(ResultSet rows, long asOf) throws SQLException {
    List<FeatureWindow> windows = feature.windows();
    Partial[] partials = new Partial[windows.size()];
    long[] firstWholeTiles = new long[windows.size()];
    for (int w = 0; w < windows.size(); w++) {
      partials[w] = new Partial();
      firstWholeTiles[w] = firstWholeTile(windows.get(w), asOf);
    }
    long rightEdge = rightEdgeStart(asOf);
    while (rows.next()) {
      int source = rows.getInt(1);
      long time = rows.getLong(2);
      Partial partial = source == TILE ? tilePartial(rows) : eventPartial(rows, time);
      for (int w = 0; w < windows.size(); w++) {
        boolean belongs =
            source == TILE
                ? time >= firstWholeTiles[w] && time < rightEdge
                : (time >= windows.get(w).startAsOf(asOf) && time < firstWholeTiles[w])
                    || (time >= rightEdge && time <= asOf);
        if (belongs) {
          partials[w].merge(partial);
        }
      }
    }
    return partials;
  }

  /** Columns: source, tile start, event count, latest time, then the value components when the feature has them. */
  private Partial tilePartial(ResultSet rows) throws SQLException {
    long count = rows.getLong(3);
    long latest = rows.getLong(4);
    long valueCount = feature.readsValues() ? rows.getLong(5) : 0;
    if (valueCount == 0) {
      return Partial.ofCount(count, latest);
    }
    return Partial.fromComponents(count, latest, valueCount, rows.getDouble(6), rows.getDouble(7),
        rows.getDouble(8), rows.getLong(9), rows.getDouble(10));
  }

  /** Columns: source, event time, 1, event time, then (for values) 0 and the value in every value column. */
  private Partial eventPartial(ResultSet rows, long time) throws SQLException {
    if (!feature.readsValues()) {
      return Partial.of(time, null);
    }
    double value = rows.getDouble(6);
    return Partial.of(time, rows.wasNull() ? null : value);
  }

  /** The first tile boundary at or after the window's start. */
  private long firstWholeTile(FeatureWindow window, long asOf) {
    long tile = feature.tileMillis();
    return Math.floorDiv(window.startAsOf(asOf) + tile - 1, tile) * tile;
  }

  /** The last tile boundary at or before {@code asOf + 1}: tiles before it are wholly at or before {@code asOf}. */
  private long rightEdgeStart(long asOf) {
    long tile = feature.tileMillis();
    return Math.floorDiv(asOf + 1, tile) * tile;
  }

  private String buildSql() {
    String tiles = feature.tilesTable().name();
    String events = feature.rawEventsTable().name();
    String entity = feature.entityField();
    String tileColumns;
    String eventColumns;
    if (feature.readsValues()) {
      tileColumns = String.join(", ", EVENT_COUNT, LATEST_TIME, VALUE_COUNT, VALUE_SUM, VALUE_MIN, VALUE_MAX,
          LAST_TIME, LAST_VALUE);
      eventColumns = "1, " + EVENT_TIME + ", 0, " + VALUE + ", " + VALUE + ", " + VALUE + ", " + EVENT_TIME + ", "
          + VALUE;
    } else {
      tileColumns = EVENT_COUNT + ", " + LATEST_TIME;
      eventColumns = "1, " + EVENT_TIME;
    }
    List<String> edges = new ArrayList<>();
    for (int w = 0; w < feature.windows().size(); w++) {
      edges.add("(" + EVENT_TIME + " >= ? AND " + EVENT_TIME + " < ?)");
    }
    edges.add("(" + EVENT_TIME + " >= ? AND " + EVENT_TIME + " <= ?)");
    return "SELECT " + TILE + ", " + TILE_START + ", " + tileColumns + " FROM " + tiles + " WHERE " + entity
        + " = ? AND " + TILE_START + " >= ? AND " + TILE_START + " < ?"
        + " UNION ALL SELECT " + EVENT + ", " + EVENT_TIME + ", " + eventColumns + " FROM " + events + " WHERE "
        + entity + " = ? AND (" + String.join(" OR ", edges) + ")";
  }
}
