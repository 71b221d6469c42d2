package dev.clickstream.features;

import java.io.Serializable;
import java.util.List;

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
}
