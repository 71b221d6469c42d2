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
 */
public final class FeatureRegistry implements Serializable {
  private static final long serialVersionUID = 1L;

  private final List<FeatureDefinition> definitions;

  private FeatureRegistry(List<FeatureDefinition> definitions) {
    this.definitions = List.copyOf(definitions);
    check();
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
    return new FeatureRegistry(all);
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
    return "FeatureRegistry" + names();
  }
}
