package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.serving.FeatureView.Computed;
import dev.clickstream.store.FeatureTable;
import dev.clickstream.store.FeatureTable.Column;
import dev.clickstream.store.FeatureTable.Role;
import dev.clickstream.store.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.WindowedFeatureReads;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
 */
final class FeatureLookup {
  static final String FOUND = "ok";
  static final String NOT_FOUND = "not_found";

  private final OnlineStore store;
  private final WindowedFeatureReads reads;

  FeatureLookup(OnlineStore store) {
    this.store = requireNonNull(store, "store");
    this.reads = WindowedFeatureReads.forStore(store);
  }

  /** The entry for {@code id}, or empty when the store has no row for it. */
  Optional<Map<String, Object>> one(FeatureTable table, String id) {
    ensureTable(table);
    return store.read(table, id).map(row -> found(table, row));
  }

  /** One entry per requested id, in request order: duplicates repeat, missing ids are "not_found" entries. */
  List<Map<String, Object>> many(FeatureTable table, List<String> ids) {
    ensureTable(table);
    Map<String, Map<String, Object>> rows = store.readAll(table, ids);
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
    WindowedFeatureReads.Answer answer =
        view.pattern() == FeatureView.Pattern.ON_DEMAND
            ? reads.onDemand(feature, id, asOf)
            : reads.tiled(feature, id, asOf);
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("feature_view", view.name());
    entry.put("entity", entity(feature.entityField(), id));
    entry.put("status", FOUND);
    entry.put("features", feature.features(answer.perWindow()));
    entry.put(Computed.EVENT_TIME, answer.latestEventTime());
    entry.put(Computed.AS_OF, asOf);
    return entry;
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
    ensureTable(table);
    List<String> names = new ArrayList<>();
    FeatureDefinitions.driftMonitors().forEach(monitor -> names.add(monitor.name()));
    Map<String, Map<String, Object>> rows = store.readAll(table, names);
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

  boolean storeReachable() {
    return store.isReachable();
  }

  /**
   * A server may start before any pipeline has written: an empty store then answers "not found" rather than
   * failing on a missing table. Cheap after the first call per table.
   */
  private void ensureTable(FeatureTable table) {
    store.ensureTable(table);
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
