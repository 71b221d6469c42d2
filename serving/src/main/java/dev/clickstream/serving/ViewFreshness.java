package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTable.Column;
import dev.clickstream.features.FeatureTable.Role;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.serving.FeatureView.Computed;
import dev.clickstream.serving.FeatureView.Pattern;
import dev.clickstream.serving.FeatureView.Precomputed;
import dev.clickstream.store.OnlineStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The age of each view's newest row: freshness as the server sees it. A pre-computed view reads its table, an
 * on-demand view its raw-events table, a tiled view its tiles table; the time is the table's {@value
 * WindowedAggregation#UPDATED_AT} when it has one (when a pipeline last wrote), else its last TIME column (a raw
 * event's {@code event_time}).
 *
 * <p>Finding the newest row can scan a table, so the times are read at most once per {@link #REFRESH} per table;
 * ages are computed from them at each call, so they grow between reads. An empty table, a table that does not
 * exist yet or a store that cannot be read has no age (NaN).
 */
final class ViewFreshness {
  /** How long a table's newest time is reused before it is read again. */
  static final Duration REFRESH = Duration.ofSeconds(10);

  /** Where a view's freshness comes from. */
  record Source(String view, FeatureTable table, String column) {}

  private record Newest(OptionalLong millis, long readAtNanos) {}

  private final OnlineStore store;
  private final StoreBreaker breaker;
  private final Clock clock;
  private final Map<String, Source> sources = new LinkedHashMap<>();
  private final Map<String, Newest> newest = new ConcurrentHashMap<>();

  ViewFreshness(OnlineStore store, StoreBreaker breaker, Clock clock, FeatureViews views) {
    this.store = requireNonNull(store, "store");
    this.breaker = requireNonNull(breaker, "breaker");
    this.clock = requireNonNull(clock, "clock");
    for (FeatureView view : views.all()) {
      FeatureTable table = table(view);
      String column = timeColumn(table);
      if (column != null) { // a table without times (a dimension) has no freshness to tell
        sources.put(view.name(), new Source(view.name(), table, column));
      }
    }
  }

  List<Source> sources() {
    return new ArrayList<>(sources.values());
  }

  /** Seconds since the newest row of {@code view}'s table was written (or happened); NaN when unknown. */
  double ageSeconds(String view) {
    Source source = sources.get(view);
    if (source == null) {
      return Double.NaN;
    }
    OptionalLong millis = newestMillis(source);
    return millis.isPresent() ? (clock.millis() - millis.getAsLong()) / 1000.0 : Double.NaN;
  }

  private OptionalLong newestMillis(Source source) {
    String key = source.table().name() + "." + source.column();
    Newest known = newest.get(key);
    long now = System.nanoTime();
    if (known != null && now - known.readAtNanos() < REFRESH.toNanos()) {
      return known.millis();
    }
    synchronized (this) { // one reader per refresh; the others wait for its answer
      known = newest.get(key);
      if (known != null && System.nanoTime() - known.readAtNanos() < REFRESH.toNanos()) {
        return known.millis();
      }
      OptionalLong millis;
      try {
        millis = breaker.call(() -> store.newest(source.table(), source.column()));
      } catch (RuntimeException e) { // the store is down or the table missing: unknown until the next refresh
        millis = OptionalLong.empty();
      }
      newest.put(key, new Newest(millis, System.nanoTime()));
      return millis;
    }
  }

  private static FeatureTable table(FeatureView view) {
    if (view instanceof Precomputed precomputed) {
      return precomputed.table();
    }
    Computed computed = (Computed) view;
    return computed.pattern() == Pattern.ON_DEMAND
        ? computed.feature().rawEventsTable()
        : computed.feature().tilesTable();
  }

  private static String timeColumn(FeatureTable table) {
    String last = null;
    for (Column column : table.columns()) {
      if (column.role() == Role.TIME) {
        if (column.name().equals(WindowedAggregation.UPDATED_AT)) {
          return column.name();
        }
        last = column.name();
      }
    }
    return last;
  }
}
