package dev.clickstream.features;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One declared feature: a name, the event field that keys it, its typed columns (as the online table it is served
 * from) and its time semantics, which its {@link Kind} names. Every other part of the system derives from it: the
 * store its tables and SQL, the pipelines its transform, the server its view, the offline store its history.
 */
public interface FeatureDefinition extends Serializable {

  /** The pattern a feature follows; the pipelines compile each kind into its generic transform. */
  enum Kind {
    /** Aggregates per entity over tumbling event-time windows aligned to the epoch ({@link TumblingAggregation}). */
    TUMBLING,
    /** Aggregates per entity over look-back windows as of its latest event ({@link WindowedAggregation}). */
    ROLLING,
    /** Counts per entity over hopping windows ({@link SlidingAggregation}). */
    SLIDING,
    /** Per entity, its latest event-time session ({@link SessionAggregation}). */
    SESSION,
    /** Clicks attributed to earlier impressions by an interval join ({@link ClickAttribution}). */
    ATTRIBUTION,
    /** The drift of another feature's column ({@link DriftMonitor}). */
    DRIFT
  }

  /** The feature's name, which is also the name of the view that serves it. */
  String name();

  Kind kind();

  /** The field of an event whose value is the entity the feature describes. */
  String entityField();

  /**
   * Every event field the feature reads, each once: the pipelines enrich the events first when one of them is not a
   * field of the raw events. Empty for a feature over another feature's rows (a drift monitor).
   */
  List<String> eventFields();

  /** The online table the feature's view is served from: its key, typed columns and replace rule. */
  FeatureTable table();

  /** Every online table the feature writes, {@link #table()} first. */
  default List<FeatureTable> tables() {
    return List.of(table());
  }

  /**
   * The TIME column of {@link #table()} that a row's features are as of: the end of its window, its latest event, the
   * end of its session. A row's age, by the server's clock, is counted from it, and a training set's as-of join
   * compares it with the spine's time: both read {@link PointInTime#knownAtColumn}, so it is stated once.
   */
  default String asOfColumn() {
    return PointInTime.knownAtColumn(table());
  }

  /**
   * How long after {@link #asOfColumn()} a row is still current: an older row is served with status {@code stale}
   * (Feast's {@code OUTSIDE_MAX_AGE}), its values as stored. Declared with {@code .maxAge(...)}, or the kind's
   * default, derived from its windows.
   */
  Duration maxAge();

  /** What the feature means, as declared with {@code .description(...)}; its shape when none was declared. */
  String description();

  /**
   * The whole declaration as data, for {@code GET /registry} and the docs: name, kind, description, source, entity
   * key, the kind's settings (filter, windows, aggregations, ...), time semantics, {@link #asOfColumn()}, max age and
   * every table with its typed columns. Keys and values are strings, numbers, booleans, lists and maps only.
   */
  Map<String, Object> describe();
}
