package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.Aggregation.Component;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One declarative definition of a rolling windowed aggregation feature, from which every serving pattern is derived:
 *
 * <pre>{@code
 * WindowedAggregation.named("click_counts")
 *     .filter("event_type", "click")
 *     .groupBy("user_id")
 *     .window(minutes(1), minutes(10), minutes(30), minutes(60))
 *     .agg(count().as("click_count"))
 *     .rawEventsTable("click_events")
 *     .tilesTable("click_tiles")
 *     .build();
 * }</pre>
 *
 * <ul>
 *   <li>pre-computed: {@link #precomputedTable()}, one row per entity as of its latest matching event, kept by a
 *       streaming per-entity counter;
 *   <li>on-demand: {@link #rawEventsTable()} holds every matching event, and the store's on-demand query aggregates it
 *       in one SQL statement at request time;
 *   <li>tiled: {@link #tilesTable()} holds one partial per entity and tile (a minute), and the store's tiled query adds
 *       whole tiles and reads raw events only for the partial tiles at the window edges.
 * </ul>
 *
 * <p>All three reduce events to {@link Partial}s and call the same {@link Aggregation#result}, so they agree.
 */
public final class WindowedAggregation extends DeclaredFeature {
  private static final long serialVersionUID = 1L;

  /** Column of the time the pre-computed row is as of: the entity's latest matching event. */
  public static final String EVENT_TIME = "event_time";
  /** Processing time a row was written. */
  public static final String UPDATED_AT = "updated_at";
  /** Raw events: the event's id (the key), and its value when the feature reads one. */
  public static final String EVENT_ID = "event_id";
  public static final String VALUE = "event_value";
  /** Tiles: the tile's first millisecond, and the partial's components. */
  public static final String TILE_START = "tile_start";
  public static final String EVENT_COUNT = "event_count";
  public static final String LATEST_TIME = "latest_time";
  public static final String VALUE_COUNT = "value_count";
  public static final String VALUE_SUM = "value_sum";
  public static final String VALUE_MIN = "value_min";
  public static final String VALUE_MAX = "value_max";
  public static final String LAST_TIME = "last_time";
  public static final String LAST_VALUE = "last_value";

  private static final long DEFAULT_TILE_MILLIS = 60_000L;
  /** What the names of the on-demand and tiled views add to the feature's name. */
  public static final String ON_DEMAND_SUFFIX = "_on_demand";
  public static final String TILED_SUFFIX = "_tiled";
  private static final long DEFAULT_RETENTION_MARGIN_MILLIS = 5 * 60_000L;

  private final EventFilter filter;
  private final String valueField;
  private final List<FeatureWindow> windows;
  private final List<Aggregation> aggregations;
  private final long tileMillis;
  private final long retentionMarginMillis;
  private final FeatureTable precomputedTable;
  private final FeatureTable rawEventsTable;
  private final FeatureTable tilesTable;

  private WindowedAggregation(Builder builder) {
    // Past the longest window a row holds no event and says nothing the server can check.
    super(builder.name, Kind.ROLLING, builder.entityField, builder, longest(builder.windows).length());
    this.filter = builder.filter;
    this.valueField = builder.valueField;
    this.windows = List.copyOf(new TreeSet<>(builder.windows));
    this.aggregations = List.copyOf(builder.aggregations);
    this.tileMillis = builder.tileMillis;
    this.retentionMarginMillis = builder.retentionMarginMillis;
    this.precomputedTable = declarePrecomputedTable();
    this.rawEventsTable = builder.rawEventsTable == null ? null : declareRawEventsTable(builder.rawEventsTable);
    this.tilesTable = builder.tilesTable == null ? null : declareTilesTable(builder.tilesTable);
  }

  /** Starts a definition; {@code name} is also the pre-computed table's name. */
  public static Builder named(String name) {
    return new Builder(name);
  }



  /** The events it aggregates; null for every event. */
  public EventFilter filter() {
    return filter;
  }


  /** The numeric event field the value aggregations read; null when there are only counts. */
  public String valueField() {
    return valueField;
  }

  /** The windows, shortest first. */
  public List<FeatureWindow> windows() {
    return windows;
  }

  public FeatureWindow longestWindow() {
    return windows.get(windows.size() - 1);
  }

  public List<Aggregation> aggregations() {
    return aggregations;
  }

  /** The tile length of the tiled pattern. */
  public long tileMillis() {
    return tileMillis;
  }

  /** Raw events of an entity older than its latest event by more than this are deleted. */
  public long retentionMillis() {
    return longestWindow().lengthMillis() + retentionMarginMillis;
  }

  /** Every partial component some aggregation reads. */
  public Set<Component> components() {
    Set<Component> components = EnumSet.of(Component.COUNT);
    aggregations.forEach(a -> components.addAll(a.components()));
    return components;
  }

  public boolean readsValues() {
    return valueField != null;
  }

  /** The feature column names, aggregation by aggregation, shortest window first. */
  public List<String> featureColumns() {
    List<String> columns = new ArrayList<>();
    for (Aggregation aggregation : aggregations) {
      for (FeatureWindow window : windows) {
        columns.add(aggregation.column(window));
      }
    }
    return columns;
  }

  /** The feature values as named by {@link #featureColumns()}, from one merged partial per window. */
  public Map<String, Object> features(Partial[] perWindow) {
    checkPerWindow(perWindow);
    Map<String, Object> features = new LinkedHashMap<>();
    for (Aggregation aggregation : aggregations) {
      for (int w = 0; w < windows.size(); w++) {
        features.put(aggregation.column(windows.get(w)), aggregation.result(perWindow[w]));
      }
    }
    return features;
  }

  /**
   * One row per entity: the features as of the entity's latest matching event ({@value #EVENT_TIME}). A row
   * replaces the stored one for a later event time, or for the same event time with more events in the longest
   * window (an event that arrived late), so replays and out-of-order writes never move an entity back.
   */
  public FeatureTable precomputedTable() {
    return precomputedTable;
  }

  /**
   * Every matching event, keyed by its entity and {@value #EVENT_ID}; null when the definition has no raw-events
   * table.
   */
  public FeatureTable rawEventsTable() {
    return rawEventsTable;
  }

  /** One partial per entity and tile; null when the definition has no tiles table. */
  public FeatureTable tilesTable() {
    return tilesTable;
  }

  /** The pre-computed table: the view served as of each entity's latest event. */
  @Override
  public FeatureTable table() {
    return precomputedTable;
  }

  /** The entity, the filter's field, then the aggregated value's field when there is one. */
  @Override
  public List<String> eventFields() {
    java.util.Set<String> fields = new java.util.LinkedHashSet<>();
    fields.add(entityField);
    if (filter != null) {
      fields.add(filter.field());
    }
    if (valueField != null) {
      fields.add(valueField);
    }
    return List.copyOf(fields);
  }

  /** The name of the view computed at request time from {@link #rawEventsTable()}: {@code NAME_on_demand}. */
  public String onDemandView() {
    return name + ON_DEMAND_SUFFIX;
  }

  /** The name of the view computed at request time from {@link #tilesTable()}: {@code NAME_tiled}. */
  public String tiledView() {
    return name + TILED_SUFFIX;
  }

  /** The pre-computed table, then the raw-events and tiles tables when declared. */
  @Override
  public List<FeatureTable> tables() {
    List<FeatureTable> tables = new ArrayList<>(List.of(precomputedTable));
    if (rawEventsTable != null) {
      tables.add(rawEventsTable);
    }
    if (tilesTable != null) {
      tables.add(tilesTable);
    }
    return tables;
  }

  /** A {@link #precomputedTable()} row, values in column order. */
  public Object[] precomputedRow(String entity, long eventTime, Partial[] perWindow, long updatedAt) {
    List<Object> row = new ArrayList<>();
    row.add(entity);
    row.add(eventTime);
    row.addAll(features(perWindow).values());
    row.add(updatedAt);
    return row.toArray();
  }

  /** A {@link #rawEventsTable()} row: the entity first, as it leads the primary key. */
  public Object[] rawEventRow(String eventId, String entity, long timestamp, Double value) {
    return readsValues()
        ? new Object[] {entity, eventId, timestamp, value}
        : new Object[] {entity, eventId, timestamp};
  }

  /** A {@link #tilesTable()} row for the tile starting at {@code tileStart}. */
  public Object[] tileRow(String entity, long tileStart, Partial partial, long updatedAt) {
    List<Object> row = new ArrayList<>(Arrays.asList(entity, tileStart, partial.count(), partial.latestTimestamp()));
    if (readsValues()) {
      boolean any = partial.valueCount() > 0;
      row.add(partial.valueCount());
      row.add(any ? partial.sum() : null);
      row.add(any ? partial.min() : null);
      row.add(any ? partial.max() : null);
      row.add(any ? partial.lastTimestamp() : null);
      row.add(any ? partial.lastValue() : null);
    }
    row.add(updatedAt);
    return row.toArray();
  }

  /** The first millisecond of the tile holding {@code timestamp}. */
  public long tileStart(long timestamp) {
    return Math.floorDiv(timestamp, tileMillis) * tileMillis;
  }


  @Override
  void describeShape(Map<String, Object> described) {
    described.put("filter", filter == null ? null : filter.toString());
    described.put("windows", describeWindows(windows));
    described.put("aggregations", describeAggregations(aggregations));
    described.put("value_field", valueField);
    described.put("tile_ms", tileMillis);
    described.put("views", List.of(name, onDemandView(), tiledView()));
  }

  @Override
  String timeSemantics() {
    return "look-back windows " + windows + " as of a time t, each [t - length, t] with both ends included;"
        + " pre-computed as of the entity's latest event (" + EVENT_TIME + ") and served as of the server's now,"
        + " corrected from the raw events when an event has left a window since; " + onDemandView() + " and "
        + tiledView() + " compute the same windows as of any as_of; stale " + maxAge() + " after " + EVENT_TIME;
  }

  private static FeatureWindow longest(List<FeatureWindow> windows) {
    return windows.stream().max(FeatureWindow::compareTo).orElseThrow();
  }

  private void checkPerWindow(Partial[] perWindow) {
    if (perWindow.length != windows.size()) {
      throw new IllegalArgumentException(
          "expected one partial per window (" + windows + "), got " + perWindow.length);
    }
  }

  private FeatureTable declarePrecomputedTable() {
    FeatureTable.Builder table = FeatureTable.builder(name, entityField).time(EVENT_TIME);
    for (Aggregation aggregation : aggregations) {
      for (FeatureWindow window : windows) {
        aggregation.declareColumn(table, window);
      }
    }
    String longestCount = countColumnOfLongestWindow();
    return table
        .time(UPDATED_AT)
        .replaceWhen(ReplaceRule.newerBy(EVENT_TIME).thenMoreOf(longestCount))
        .build();
  }

  private String countColumnOfLongestWindow() {
    for (Aggregation aggregation : aggregations) {
      if (aggregation.kind().equals("count")) {
        return aggregation.column(longestWindow());
      }
    }
    throw new IllegalStateException(
        "feature " + name + " needs count() among its aggregations: rows of the same event time are ordered by it");
  }

  private FeatureTable declareRawEventsTable(String tableName) {
    // Keyed by (entity, event id): event ids are unique per entity at most (every generated file numbers its events
    // e0, e1, ...), and a key of the event id alone kept one entity's event and dropped another's that the tiles
    // counted.
    FeatureTable.Builder table =
        FeatureTable.builder(tableName, entityField).stringKey(EVENT_ID).time(EVENT_TIME);
    if (readsValues()) {
      table.nullableDoubleFeature(VALUE);
    }
    // Events never change: the first write of an entity's event id stands, and a replay writes nothing (counted in
    // WriteToOnlineStore/rows_skipped_not_newer).
    return table.index(entityField, EVENT_TIME).replaceWhen(ReplaceRule.never()).build();
  }

  private FeatureTable declareTilesTable(String tableName) {
    FeatureTable.Builder table = FeatureTable.builder(tableName, entityField).timeKey(TILE_START).longFeature(EVENT_COUNT)
        .time(LATEST_TIME);
    if (readsValues()) {
      table
          .longFeature(VALUE_COUNT)
          .nullableDoubleFeature(VALUE_SUM)
          .nullableDoubleFeature(VALUE_MIN)
          .nullableDoubleFeature(VALUE_MAX)
          .nullableLongFeature(LAST_TIME)
          .nullableDoubleFeature(LAST_VALUE);
    }
    // A later pane of the same tile holds every event of the earlier ones, and more.
    return table.time(UPDATED_AT).replaceWhen(ReplaceRule.moreOf(EVENT_COUNT)).build();
  }

  @Override
  public String toString() {
    return name + ": events" + (filter == null ? "" : ".filter(" + filter + ")") + ".groupBy(" + entityField
        + ").window" + windows + ".agg" + aggregations;
  }

  /** Builds a {@link WindowedAggregation}; see the class documentation for the shape. */
  public static final class Builder extends DeclarationBuilder<Builder> {
    private EventFilter filter;
    private String entityField;
    private String valueField;
    private final List<FeatureWindow> windows = new ArrayList<>();
    private final List<Aggregation> aggregations = new ArrayList<>();
    private long tileMillis = DEFAULT_TILE_MILLIS;
    private long retentionMarginMillis = DEFAULT_RETENTION_MARGIN_MILLIS;
    private String rawEventsTable;
    private String tilesTable;

    private Builder(String name) {
      super(name);
    }

    /** Only events whose {@code field} equals {@code value}. */
    public Builder filter(String field, String value) {
      this.filter = EventFilter.fieldEquals(field, value);
      return this;
    }

    public Builder groupBy(String entityField) {
      this.entityField = requireNonNull(entityField, "entityField");
      return this;
    }

    public Builder window(FeatureWindow... windows) {
      this.windows.addAll(Arrays.asList(windows));
      return this;
    }

    /** The numeric event field that sum, avg, min, max and last read. */
    public Builder value(String field) {
      this.valueField = requireNonNull(field, "field");
      return this;
    }

    public Builder agg(Aggregation... aggregations) {
      this.aggregations.addAll(Arrays.asList(aggregations));
      return this;
    }

    /** Where the raw-events pipeline keeps every matching event, for the on-demand and tiled patterns. */
    public Builder rawEventsTable(String table) {
      this.rawEventsTable = requireNonNull(table, "table");
      return this;
    }

    /** Where the raw-events pipeline keeps per-tile partials, for the tiled pattern. */
    public Builder tilesTable(String table) {
      this.tilesTable = requireNonNull(table, "table");
      return this;
    }

    /** How much longer than the longest window raw events are kept; 5 minutes unless set. */
    public Builder retentionMargin(java.time.Duration margin) {
      this.retentionMarginMillis = margin.toMillis();
      return this;
    }

    public WindowedAggregation build() {
      if (entityField == null) {
        throw new IllegalStateException("feature " + name + " needs groupBy(entityField)");
      }
      if (windows.isEmpty()) {
        throw new IllegalStateException("feature " + name + " needs at least one window(...)");
      }
      if (aggregations.isEmpty()) {
        throw new IllegalStateException("feature " + name + " needs at least one agg(...)");
      }
      for (Aggregation aggregation : aggregations) {
        if (!aggregation.fromPartial()) {
          throw new IllegalStateException(
              "feature " + name + " aggregates " + aggregation + ": a rolling feature computes count, sum, avg, min,"
                  + " max and last; " + aggregation.kind() + "() is for tumbling features (TumblingAggregation)");
        }
      }
      boolean needsValues = aggregations.stream().anyMatch(Aggregation::needsValues);
      if (needsValues && valueField == null) {
        throw new IllegalStateException(
            "feature " + name + " aggregates values (" + aggregations + "): say which field with value(field)");
      }
      if (tilesTable != null && rawEventsTable == null) {
        throw new IllegalStateException(
            "feature " + name + " has tiles but no raw-events table: tiled reads need raw events at the edges");
      }
      long distinct = aggregations.stream().map(Aggregation::columnPrefix).distinct().count();
      if (distinct != aggregations.size()) {
        throw new IllegalStateException(
            "feature " + name + " names two aggregations alike: give each its own as(prefix)");
      }
      // Its patterns keep one partial per entity for all its events: a per-aggregation condition would be ignored.
      for (Aggregation aggregation : aggregations) {
        if (aggregation.filter() != null) {
          throw new IllegalStateException(
              "feature " + name + " counts with a condition (" + aggregation + "): a rolling feature filters all"
                  + " its events with filter(field, value)");
        }
      }
      return new WindowedAggregation(this);
    }
  }
}
