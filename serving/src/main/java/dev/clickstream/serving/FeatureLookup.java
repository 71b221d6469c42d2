package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.serving.FeatureView.Computed;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTable.Column;
import dev.clickstream.features.FeatureTable.Role;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreUnavailableException;
import dev.clickstream.store.WindowedFeatureReads;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The server's only access to the online store: reads rows and turns them into response entries.
 *
 * <p>A found entry is {@code {"feature_view", "entity": {key: id}, "status": "ok", "features": {...}, times...}}:
 * the table's FEATURE and ATTRIBUTE columns (such as a drift status), in table order, under {@code features}, and
 * its TIME columns (epoch milliseconds) at the top level. A missing one is {@code {"entity": {key: id}, "status":
 * "not_found"}}. Values are passed through as stored, so a NULL feature stays JSON null.
 *
 * <p>A computed (on-demand or tiled) view always has an entry, since no events is an answer too (zero counts):
 * {@code {"feature_view", "entity": {key: id}, "status": "ok", "features": {...}, "event_time", "as_of"}}, the
 * shape of its pre-computed table's entries without {@code updated_at} (nothing was written) and with the requested
 * {@code as_of}, the time its features are as of. Its {@code event_time} is the entity's latest matching event at
 * or before {@code as_of} within the longest window, null when there is none; a pre-computed row's is the latest
 * event it has seen, and its features are as of that time.
 *
 * <p>It only reads, so the server's database user needs no DDL rights. The tables are the pipelines' to create: a
 * view whose table does not exist yet fails with {@link MissingTable} (a 503 that says what creates it), except
 * {@link #driftStatus()}, where a missing table means no monitor was evaluated yet. Every read goes through the
 * {@link StoreBreaker}, so a store that is down fails reads at once.
 */
final class FeatureLookup {
  static final String FOUND = "ok";
  static final String NOT_FOUND = "not_found";
  /** A row older than its view's max age (Feast's OUTSIDE_MAX_AGE): served as stored, marked ({@link Freshness}). */
  static final String STALE = "stale";

  /** A view's table does not exist yet: no pipeline that writes it has run on this store. */
  static final class MissingTable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MissingTable(String view, List<FeatureTable> tables) {
      super("feature view " + view + " has no data yet: "
          + (tables.size() == 1 ? "table " : "tables ")
          + tables.stream().map(FeatureTable::name).collect(Collectors.joining(" and "))
          + (tables.size() == 1 ? " does" : " do") + " not exist in the online store. The pipeline that computes it"
          + " creates it on its first run (./clickstream run --help lists them); then retry", null, false, false);
    }
  }

  private final OnlineStore store;
  private final WindowedFeatureReads reads;
  private final StoreBreaker breaker;
  private final FeatureRegistry registry;

  FeatureLookup(OnlineStore store, StoreBreaker breaker, FeatureRegistry registry) {
    this.registry = registry;
    this.store = requireNonNull(store, "store");
    this.reads = WindowedFeatureReads.forStore(store);
    this.breaker = requireNonNull(breaker, "breaker");
  }

  /** The entry for {@code id}, or empty when the store has no row for it. */
  Optional<Map<String, Object>> one(FeatureTable table, String id) {
    return read(table.name(), List.of(table), () -> store.read(table, id)).map(row -> found(table, row));
  }

  /** One entry per requested id, in request order: duplicates repeat, missing ids are "not_found" entries. */
  List<Map<String, Object>> many(FeatureTable table, List<String> ids) {
    Map<String, Map<String, Object>> rows = read(table.name(), List.of(table), () -> store.readAll(table, ids));
    List<Map<String, Object>> entries = new ArrayList<>(ids.size());
    for (String id : ids) {
      Map<String, Object> row = rows.get(id);
      entries.add(row == null ? notFound(table, id) : found(table, row));
    }
    return entries;
  }

  /** The entry of a computed view for {@code id} as of {@code asOf}: one read of the store. */
  Map<String, Object> computed(Computed view, String id, long asOf) {
    WindowedAggregation feature = view.feature();
    WindowedFeatureReads.Answer answer = windows(view, id, asOf);
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("feature_view", view.name());
    entry.put("entity", entity(feature.entityField(), id));
    entry.put("status", FOUND);
    entry.put("features", feature.features(answer.perWindow()));
    entry.put(Computed.EVENT_TIME, answer.latestEventTime());
    entry.put(Computed.AS_OF, asOf);
    return entry;
  }

  /** Every window of a computed view for {@code id} as of {@code asOf}: one read of the store. */
  WindowedFeatureReads.Answer windows(Computed view, String id, long asOf) {
    WindowedAggregation feature = view.feature();
    return view.pattern() == FeatureView.Pattern.ON_DEMAND
        ? read(view.name(), List.of(feature.rawEventsTable()), () -> reads.onDemand(feature, id, asOf))
        : read(view.name(), List.of(feature.tilesTable(), feature.rawEventsTable()),
            () -> reads.tiled(feature, id, asOf));
  }

  /** One entry per requested id, in request order, all as of {@code asOf}: one read per distinct id. */
  List<Map<String, Object>> computedMany(Computed view, List<String> ids, long asOf) {
    Map<String, Map<String, Object>> byId = new LinkedHashMap<>();
    List<Map<String, Object>> entries = new ArrayList<>(ids.size());
    for (String id : ids) {
      entries.add(byId.computeIfAbsent(id, distinct -> computed(view, distinct, asOf)));
    }
    return entries;
  }

  /**
   * Every drift monitor of the registry, in its order, with its latest evaluation: the {@code feature_drift} row's
   * columns, or {@code "drift_status": "not_evaluated"} before its first one.
   */
  List<Map<String, Object>> driftStatus() {
    FeatureTable table = FeatureTables.FEATURE_DRIFT;
    List<String> names = new ArrayList<>();
    registry.ofKind(DriftMonitor.class).forEach(monitor -> names.add(monitor.name()));
    Map<String, Map<String, Object>> rows;
    try {
      rows = read(table.name(), List.of(table), () -> store.readAll(table, names));
    } catch (MissingTable e) {
      rows = Map.of(); // no monitor has run yet
    }
    List<Map<String, Object>> monitors = new ArrayList<>();
    for (String name : names) {
      Map<String, Object> row = rows.get(name);
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put(DriftMonitor.FEATURE, name);
      if (row == null) {
        entry.put(DriftMonitor.STATUS, "not_evaluated");
      } else {
        for (Column column : table.columns()) {
          if (!column.name().equals(DriftMonitor.FEATURE)) {
            entry.put(column.name(), row.get(column.name()));
          }
        }
      }
      monitors.add(entry);
    }
    return monitors;
  }

  /**
   * Null when the store answers; otherwise why not. Asks the store, unless the breaker is open and not yet due to
   * try again: then the reason it opened with.
   */
  StoreBreaker.Outage storeOutage() {
    try {
      breaker.call(() -> {
        store.checkReachable();
        return null;
      });
    } catch (StoreBreaker.StoreDown | StoreUnavailableException e) {
      // The breaker holds the outage.
    }
    return breaker.outage();
  }

  /**
   * {@code read} of view {@code view}, which reads {@code tables}, through the breaker; a {@link MissingTable}
   * naming the missing ones when one does not exist.
   */
  private <T> T read(String view, List<FeatureTable> tables, Supplier<T> read) {
    try {
      return breaker.call(read);
    } catch (StoreUnavailableException e) {
      if (!OnlineStore.isMissingTable(e)) {
        throw e;
      }
      List<FeatureTable> missing =
          tables.size() == 1
              ? tables
              : tables.stream().filter(table -> !breaker.call(() -> store.hasTable(table))).toList();
      throw new MissingTable(view, missing.isEmpty() ? tables : missing);
    }
  }

  private static Map<String, Object> found(FeatureTable table, Map<String, Object> row) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("feature_view", table.name());
    entry.put("entity", entity(table.key().name(), (String) row.get(table.key().name())));
    entry.put("status", FOUND);
    Map<String, Object> features = new LinkedHashMap<>();
    for (Column column : table.columns()) {
      if (column.role() == Role.FEATURE || column.role() == Role.ATTRIBUTE) {
        features.put(column.name(), row.get(column.name()));
      }
    }
    entry.put("features", features);
    for (Column column : table.columns()) {
      if (column.role() == Role.TIME) {
        entry.put(column.name(), row.get(column.name()));
      }
    }
    return entry;
  }

  private static Map<String, Object> notFound(FeatureTable table, String id) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("entity", entity(table.key().name(), id));
    entry.put("status", NOT_FOUND);
    return entry;
  }

  private static Map<String, Object> entity(String key, String id) {
    Map<String, Object> entity = new LinkedHashMap<>();
    entity.put(key, id);
    return entity;
  }
}
