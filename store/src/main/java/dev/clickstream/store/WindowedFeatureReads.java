package dev.clickstream.store;

import static java.util.Objects.requireNonNull;

import dev.clickstream.store.OnDemandQuery;
import dev.clickstream.features.Partial;
import dev.clickstream.store.TiledQuery;
import dev.clickstream.features.WindowedAggregation;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The on-demand and tiled reads of a {@link WindowedAggregation}: the statements its definition derives ({@link
 * OnDemandQuery}, {@link TiledQuery}), run on the store's pool with the entity and time bound as parameters.
 */
public final class WindowedFeatureReads {

  /** What a read found: one merged partial per window (shortest first), and the latest event it saw. */
  public static final class Answer {
    private final Partial[] perWindow;
    private final Long latestEventTime;

    Answer(Partial[] perWindow, Long latestEventTime) {
      this.perWindow = perWindow;
      this.latestEventTime = latestEventTime;
    }

    public Partial[] perWindow() {
      return perWindow.clone();
    }

    /** The latest matching event at or before the read's time within the longest window; null when none. */
    public Long latestEventTime() {
      return latestEventTime;
    }
  }

  private static final Map<String, OnDemandQuery> ON_DEMAND = new ConcurrentHashMap<>();
  private static final Map<String, TiledQuery> TILED = new ConcurrentHashMap<>();

  private final OnlineStore store;

  private WindowedFeatureReads(OnlineStore store) {
    this.store = store;
  }

  public static WindowedFeatureReads forStore(OnlineStore store) {
    return new WindowedFeatureReads(requireNonNull(store, "store"));
  }

  /** Every window of {@code feature} for {@code entity} as of {@code asOf}, aggregated from the raw events. */
  public Answer onDemand(WindowedAggregation feature, String entity, long asOf) {
    OnDemandQuery query = ON_DEMAND.computeIfAbsent(feature.name(), name -> new OnDemandQuery(feature));
    return store.query(
        query.sql(),
        query.parameters(entity, asOf),
        aggregates -> {
          aggregates.next();
          Long latest = query.latestEventTime(aggregates);
          Partial[] perWindow =
              query.lastValueSql() == null
                  ? query.partials(aggregates, null, asOf)
                  : store.query(
                      query.lastValueSql(),
                      query.lastValueParameters(entity, asOf),
                      lastValue -> query.partials(aggregates, lastValue, asOf));
          return new Answer(perWindow, latest);
        });
  }

  /**
   * Every window of {@code feature} for {@code entity} as of {@code asOf}, from whole tiles plus the raw events of
   * the partial tiles at the edges.
   */
  public Answer tiled(WindowedAggregation feature, String entity, long asOf) {
    TiledQuery query = TILED.computeIfAbsent(feature.name(), name -> new TiledQuery(feature));
    return store.query(
        query.sql(),
        query.parameters(entity, asOf),
        rows -> {
          Partial[] perWindow = query.partials(rows, asOf);
          Partial longest = perWindow[perWindow.length - 1];
          return new Answer(perWindow, longest.isEmpty() ? null : longest.latestTimestamp());
        });
  }
}
