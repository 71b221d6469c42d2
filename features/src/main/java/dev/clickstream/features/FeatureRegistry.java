package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A set of declared features, each served as a view of its name. The pipelines compile the features of a registry
 * into one job, the store creates its tables, and the server serves its views; {@link FeatureDefinitions#REGISTRY}
 * is the project's own. A registry checks what no single declaration can: names and tables are unique, and every
 * drift monitor watches a numeric column of a feature in the same registry.
 *
 * <p>It also holds the {@link FeatureService}s, named lists of view columns served as one vector ({@link
 * #withServices}), and resolves them against its {@link #views()}.
 */
public final class FeatureRegistry implements Serializable {
  private static final long serialVersionUID = 1L;

  private final List<FeatureDefinition> definitions;
  private final List<FeatureService> services;
  /** Each service's columns, resolved against {@link #views()}, by service name. */
  private final Map<String, List<FeatureService.Feature>> resolved = new LinkedHashMap<>();

  private FeatureRegistry(List<FeatureDefinition> definitions) {
    this(definitions, List.of());
  }

  private FeatureRegistry(List<FeatureDefinition> definitions, List<FeatureService> services) {
    this.definitions = List.copyOf(definitions);
    this.services = List.copyOf(services);
    check();
    for (FeatureService service : this.services) {
      if (resolved.put(service.name(), resolve(service)) != null) {
        throw new IllegalArgumentException("two feature services are called " + service.name() + ": rename one");
      }
    }
  }

  public static FeatureRegistry of(FeatureDefinition... definitions) {
    return new FeatureRegistry(List.of(definitions));
  }

  public static FeatureRegistry of(Collection<? extends FeatureDefinition> definitions) {
    return new FeatureRegistry(new ArrayList<>(definitions));
  }

  /** This registry and {@code more}, in that order. */
  public FeatureRegistry plus(FeatureDefinition... more) {
    List<FeatureDefinition> all = new ArrayList<>(definitions);
    all.addAll(List.of(more));
    return new FeatureRegistry(all, services);
  }

  /**
   * This registry with {@code more} feature services after its own; fails, saying which and why, when a service
   * names a view or column this registry does not serve, views of two entity keys, or one column twice.
   */
  public FeatureRegistry withServices(FeatureService... more) {
    List<FeatureService> all = new ArrayList<>(services);
    all.addAll(List.of(more));
    return new FeatureRegistry(definitions, all);
  }

  /** Every feature service, in declaration order. */
  public List<FeatureService> services() {
    return services;
  }

  /** The feature service called {@code name}, exactly as declared. */
  public Optional<FeatureService> service(String name) {
    return services.stream().filter(service -> service.name().equals(name)).findFirst();
  }

  /** The columns of a service of this registry, {@code VIEW.*} expanded, in the order a vector lists them. */
  public List<FeatureService.Feature> features(FeatureService service) {
    List<FeatureService.Feature> features = resolved.get(service.name());
    if (features == null || !services.contains(service)) {
      throw new IllegalArgumentException("feature service " + service.name() + " is not in " + this);
    }
    return features;
  }

  /**
   * Every view this registry serves, in order: the table of each feature under the table's name (drift monitors
   * share theirs), then each rolling feature's on-demand and tiled views where it keeps the tables they read. The
   * server serves exactly these.
   */
  public List<View> views() {
    Map<String, List<FeatureDefinition>> byTable = new LinkedHashMap<>();
    definitions.forEach(d -> byTable.computeIfAbsent(d.table().name(), name -> new ArrayList<>()).add(d));
    List<View> views = new ArrayList<>();
    byTable.forEach((name, owners) -> views.add(new View(name, owners.get(0).table().key().name(),
        servedColumns(owners.get(0).table()), owners)));
    for (WindowedAggregation rolling : ofKind(WindowedAggregation.class)) {
      if (rolling.rawEventsTable() != null) {
        views.add(new View(rolling.onDemandView(), rolling.entityField(), rolling.featureColumns(), List.of(rolling)));
      }
      if (rolling.tilesTable() != null) {
        views.add(new View(rolling.tiledView(), rolling.entityField(), rolling.featureColumns(), List.of(rolling)));
      }
    }
    return views;
  }

  /**
   * A view as requests name it: its entity key, the columns it answers under {@code features} (a table's FEATURE and
   * ATTRIBUTE columns, in table order), and the declarations it serves (several only for the drift monitors' table).
   */
  public record View(String name, String entityKey, List<String> featureColumns, List<FeatureDefinition> definitions)
      implements Serializable {
    public View {
      featureColumns = List.copyOf(featureColumns);
      definitions = List.copyOf(definitions);
    }
  }

  private static List<String> servedColumns(FeatureTable table) {
    List<String> columns = new ArrayList<>();
    for (FeatureTable.Column column : table.columns()) {
      if (column.role() == FeatureTable.Role.FEATURE || column.role() == FeatureTable.Role.ATTRIBUTE) {
        columns.add(column.name());
      }
    }
    return columns;
  }

  private List<FeatureService.Feature> resolve(FeatureService service) {
    Map<String, View> views = new LinkedHashMap<>();
    views().forEach(view -> views.put(view.name(), view));
    List<FeatureService.Feature> features = new ArrayList<>();
    View first = null;
    for (FeatureService.Reference reference : service.references()) {
      View view = views.get(reference.view());
      if (view == null) {
        throw new IllegalArgumentException("feature service " + service.name() + " names view " + reference.view()
            + ", which this registry does not serve: its views are " + views.keySet());
      }
      if (first == null) {
        first = view;
      } else if (!view.entityKey().equals(first.entityKey())) {
        throw new IllegalArgumentException("feature service " + service.name() + " mixes entity keys: "
            + first.name() + " is per " + first.entityKey() + ", " + view.name() + " per " + view.entityKey()
            + "; a vector describes one entity");
      }
      if (reference.allColumns()) {
        view.featureColumns().forEach(column -> features.add(new FeatureService.Feature(view.name(), column)));
      } else if (view.featureColumns().contains(reference.column())) {
        features.add(new FeatureService.Feature(view.name(), reference.column()));
      } else {
        throw new IllegalArgumentException("feature service " + service.name() + " names column "
            + reference.column() + " of view " + view.name() + ", which has no such feature: it has "
            + view.featureColumns());
      }
    }
    java.util.Set<String> names = new java.util.HashSet<>();
    for (FeatureService.Feature feature : features) {
      if (!names.add(feature.name())) {
        throw new IllegalArgumentException(
            "feature service " + service.name() + " names " + feature.name() + " twice (" + service + ")");
      }
    }
    return List.copyOf(features);
  }

  /** Every feature, in declaration order. */
  public List<FeatureDefinition> definitions() {
    return definitions;
  }

  /** The features of one kind, in declaration order. */
  public <T extends FeatureDefinition> List<T> ofKind(Class<T> kind) {
    List<T> matching = new ArrayList<>();
    for (FeatureDefinition definition : definitions) {
      if (kind.isInstance(definition)) {
        matching.add(kind.cast(definition));
      }
    }
    return matching;
  }

  /** The feature called {@code name}, exactly as declared. */
  public Optional<FeatureDefinition> byName(String name) {
    return definitions.stream().filter(definition -> definition.name().equals(name)).findFirst();
  }

  /** The names of every feature, in declaration order. */
  public List<String> names() {
    List<String> names = new ArrayList<>();
    definitions.forEach(definition -> names.add(definition.name()));
    return names;
  }

  /** The tables the views are served from ({@link FeatureDefinition#table()}), each once, in declaration order. */
  public List<FeatureTable> servedTables() {
    Map<String, FeatureTable> tables = new LinkedHashMap<>();
    definitions.forEach(definition -> tables.putIfAbsent(definition.table().name(), definition.table()));
    return List.copyOf(tables.values());
  }

  private void check() {
    Map<String, FeatureDefinition> byName = new LinkedHashMap<>();
    Map<String, FeatureDefinition> byTable = new LinkedHashMap<>();
    for (FeatureDefinition definition : definitions) {
      requireNonNull(definition, "definition");
      FeatureDefinition before = byName.putIfAbsent(definition.name(), definition);
      if (before != null) {
        throw new IllegalArgumentException("two features are called " + definition.name() + ": rename one");
      }
      for (FeatureTable table : definition.tables()) {
        FeatureDefinition owner = byTable.putIfAbsent(table.name(), definition);
        // Drift monitors share their table by design; any other table belongs to one feature.
        if (owner != null && !(owner instanceof DriftMonitor && definition instanceof DriftMonitor)) {
          throw new IllegalArgumentException(
              "features " + owner.name() + " and " + definition.name() + " both write table " + table.name());
        }
      }
    }
    for (DriftMonitor monitor : ofKind(DriftMonitor.class)) {
      FeatureDefinition watched = byName.get(monitor.view());
      if (watched == null || monitor.view().equals(monitor.name())) {
        throw new IllegalArgumentException(
            "drift monitor " + monitor.name() + " must be named VIEW.COLUMN after a feature of this registry: "
                + names());
      }
      FeatureTable.Column column = watched.table().column(monitor.column());
      if (column.role() != FeatureTable.Role.FEATURE
          || (column.type() != FeatureTable.ColumnType.DOUBLE && column.type() != FeatureTable.ColumnType.BIGINT)) {
        throw new IllegalArgumentException(
            "drift monitor " + monitor.name() + " must watch a numeric feature column; " + monitor.column() + " is "
                + column.type() + " " + column.role());
      }
    }
  }

  @Override
  public String toString() {
    return "FeatureRegistry" + names() + (services.isEmpty() ? "" : " with services " + services);
  }
}
