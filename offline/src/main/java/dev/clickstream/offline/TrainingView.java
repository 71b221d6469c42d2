package dev.clickstream.offline;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.PointInTime;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.pipelines.FeatureSelection;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * One view of a training set and how its declaration says to answer it as of a time {@code T}: the value a fully
 * caught-up online store would have served at {@code T}. Everything here derives from the registry.
 *
 * <ul>
 *   <li>{@link Source#HISTORY}: the offline history of the view's table; the row known latest at or before
 *       {@code T} ({@link PointInTime#knownAtColumn}: a tumbling or attribution window's end, a session's end, a
 *       hopping window's end), each row's version the one its table's replace rule keeps.
 *   <li>{@link Source#LATEST_EVENT}: a rolling feature's pre-computed row, as of the entity's latest matching event
 *       at or before {@code T}, computed from the offline raw events (the row the stream wrote for that event once
 *       every event before it had arrived).
 *   <li>{@link Source#ON_DEMAND}: a rolling feature's on-demand (or tiled) view as of {@code T}, from the offline
 *       raw events.
 * </ul>
 */
public final class TrainingView implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Output columns are named {@code VIEW__COLUMN}. */
  public static final String SEPARATOR = "__";

  /** Where a view's values come from. */
  public enum Source {
    HISTORY,
    LATEST_EVENT,
    ON_DEMAND
  }

  private final String name;
  private final FeatureDefinition definition;
  private final Source source;
  private final FeatureTable table;

  private TrainingView(String name, FeatureDefinition definition, Source source, FeatureTable table) {
    this.name = name;
    this.definition = definition;
    this.source = source;
    this.table = table;
  }

  /**
   * The view called {@code name} in {@code registry}: a feature's own view, or a rolling feature's on-demand or
   * tiled view.
   *
   * @throws IllegalArgumentException naming every view there is, when there is none called so, or when it cannot
   *     be answered from the offline store
   */
  public static TrainingView of(FeatureRegistry registry, String name) {
    FeatureDefinition named = registry.byName(name).orElse(null);
    if (named instanceof DriftMonitor) {
      throw new IllegalArgumentException(
          name + " is a drift monitor, not a feature of an entity: a training set cannot join it");
    }
    if (named instanceof WindowedAggregation) {
      return fromEvents(name, (WindowedAggregation) named, Source.LATEST_EVENT);
    }
    if (named != null) {
      return new TrainingView(name, named, Source.HISTORY, named.table());
    }
    for (WindowedAggregation rolling : registry.ofKind(WindowedAggregation.class)) {
      if (name.equals(rolling.onDemandView()) || name.equals(rolling.tiledView())) {
        return fromEvents(name, rolling, Source.ON_DEMAND);
      }
    }
    throw new IllegalArgumentException("no view called '" + name + "'; views: " + String.join(", ", names(registry)));
  }

  /** Every view a training set can join, in the registry's order. */
  public static List<String> names(FeatureRegistry registry) {
    List<String> names = new ArrayList<>();
    for (FeatureDefinition definition : registry.definitions()) {
      if (definition instanceof DriftMonitor) {
        continue;
      }
      names.add(definition.name());
      if (definition instanceof WindowedAggregation && !FeatureSelection.readsEnrichedFields(definition)) {
        names.add(((WindowedAggregation) definition).onDemandView());
        names.add(((WindowedAggregation) definition).tiledView());
      }
    }
    return names;
  }

  private static TrainingView fromEvents(String name, WindowedAggregation rolling, Source source) {
    if (FeatureSelection.readsEnrichedFields(rolling)) {
      throw new IllegalArgumentException(
          name + " reads " + rolling.eventFields() + ", which the offline raw events do not hold (they are not"
              + " enriched): it cannot be recomputed for a training set");
    }
    return new TrainingView(name, rolling, source, rolling.precomputedTable());
  }

  public String name() {
    return name;
  }

  public Source source() {
    return source;
  }

  /** The spine column this view is joined on: its declaration's entity field. */
  public String entityField() {
    return definition.entityField();
  }

  public FeatureDefinition definition() {
    return definition;
  }

  /** The rolling feature of a {@link Source#LATEST_EVENT} or {@link Source#ON_DEMAND} view. */
  public WindowedAggregation rolling() {
    return (WindowedAggregation) definition;
  }

  /** Whether a row's version is told apart by its interval rather than its time: sessions merge and grow. */
  boolean versionsByInterval() {
    return definition instanceof SessionAggregation;
  }

  /** The table whose rows the view's values are: the view's history, or the pre-computed rows it recomputes. */
  public FeatureTable table() {
    return table;
  }

  /** The columns of {@link #table()} a training set holds: all but the entity key and the write time. */
  public List<FeatureTable.Column> columns() {
    List<FeatureTable.Column> columns = new ArrayList<>();
    for (FeatureTable.Column column : table.columns()) {
      if (column != table.key() && !column.name().equals(WindowedAggregation.UPDATED_AT)) {
        columns.add(column);
      }
    }
    return columns;
  }

  /** The output name of {@code column}: {@code VIEW__COLUMN}. */
  public String outputColumn(FeatureTable.Column column) {
    return name + SEPARATOR + column.name();
  }

  @Override
  public String toString() {
    return name + " (" + source.name().toLowerCase(java.util.Locale.ROOT) + ", per " + entityField() + ")";
  }
}
