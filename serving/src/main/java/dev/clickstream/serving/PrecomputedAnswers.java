package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.Partial;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.serving.FeatureView.Computed;
import dev.clickstream.serving.FeatureView.Pattern;
import dev.clickstream.serving.FeatureView.Precomputed;
import dev.clickstream.store.WindowedFeatureReads;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The answers of pre-computed views as of the server's now: the stored row ({@link FeatureLookup}), its status from
 * its age, and, for a rolling feature, its windows moved to now.
 *
 * <p><b>Max age.</b> A row whose time ({@link FeatureDefinition#asOfColumn()}) is more than its declaration's {@link
 * FeatureDefinition#maxAge()} before now is {@value FeatureLookup#STALE}, its values as stored; otherwise {@value
 * FeatureLookup#FOUND}. A row dated after now (an event ahead of the server's clock) is current.
 *
 * <p><b>Rolling features are answered as of now.</b> A pre-computed row of a {@link WindowedAggregation} holds its
 * windows as of the entity's latest event ({@code event_time}); by now, events may have left them. So the answer is
 * as of {@code as_of} = now (or {@code event_time}, when that is later):
 *
 * <ul>
 *   <li>{@code now <= event_time}: the row as stored, nothing has left a window;
 *   <li>{@code now - longest window > event_time}: every event has left every window, so every window is empty, with
 *       no read: counts 0, the other aggregations null;
 *   <li>otherwise the windows as of now from the raw events ({@link #CORRECTION}: one range read of the entity's
 *       events of the last longest window, what the {@code _on_demand} view answers as of now). It is used only when
 *       it holds the row's latest event: when the raw events are behind the row (their pipeline is not running, or
 *       lags), or their table does not exist, the row is served as stored and {@value FeatureLookup#STALE}.
 * </ul>
 *
 * <p>So a count never includes an event that has left its window by now, as long as the raw events are as current as
 * the row; the row's {@code event_time} and {@code updated_at} stay, saying how current the stream is. See
 * docs/features.md ("Time-correct answers") for why serving corrects rather than the stream or a stale mark.
 */
final class PrecomputedAnswers {
  /**
   * Where the windows as of now come from: the raw events, one table and one range read; as cheap as the tiles for a
   * user with up to 20 events in the hour (docs/benchmarks.md, bench correction).
   */
  static final Pattern CORRECTION = Pattern.ON_DEMAND;
  /** The time a rolling answer's windows are as of. */
  static final String AS_OF = AsOf.PARAM;

  private final FeatureLookup lookup;

  PrecomputedAnswers(FeatureLookup lookup) {
    this.lookup = requireNonNull(lookup, "lookup");
  }

  /** The entry of {@code id} as of {@code now}, or empty when the store has no row for it. */
  Optional<Map<String, Object>> one(Precomputed view, String id, long now) {
    return lookup.one(view.table(), id).map(entry -> current(view, id, entry, now));
  }

  /** One entry per requested id, in request order, each as of {@code now}; missing ids are "not_found" entries. */
  List<Map<String, Object>> many(Precomputed view, List<String> ids, long now) {
    List<Map<String, Object>> entries = lookup.many(view.table(), ids);
    List<Map<String, Object>> current = new ArrayList<>(entries.size());
    for (int i = 0; i < ids.size(); i++) {
      Map<String, Object> entry = entries.get(i);
      current.add(FeatureLookup.NOT_FOUND.equals(entry.get("status")) ? entry : current(view, ids.get(i), entry, now));
    }
    return current;
  }

  /** {@code entry}, a stored row, with its status as of {@code now}, and a rolling feature's windows moved to now. */
  private Map<String, Object> current(Precomputed view, String id, Map<String, Object> entry, long now) {
    FeatureDefinition definition = view.definitionOf(id);
    long rowTime = ((Number) entry.get(definition.asOfColumn())).longValue();
    boolean stale = now - rowTime > definition.maxAge().toMillis();
    WindowedAggregation rolling = view.rolling();
    if (rolling != null) {
      stale |= !moveToNow(rolling, id, entry, rowTime, now);
    }
    entry.put("status", stale ? FeatureLookup.STALE : FeatureLookup.FOUND);
    return entry;
  }

  /**
   * Replaces the features of {@code entry}, a row as of {@code eventTime}, with the windows as of {@code now}, and
   * adds {@value #AS_OF}; false when they cannot be known (the raw events are missing or behind the row), leaving the
   * features as stored.
   */
  private boolean moveToNow(WindowedAggregation rolling, String id, Map<String, Object> entry, long eventTime,
      long now) {
    entry.put(AS_OF, Math.max(now, eventTime));
    if (now <= eventTime) {
      return true;
    }
    Partial[] perWindow;
    if (now - rolling.longestWindow().lengthMillis() > eventTime) {
      perWindow = new Partial[rolling.windows().size()];
      for (int w = 0; w < perWindow.length; w++) {
        perWindow[w] = new Partial();
      }
    } else {
      if (rolling.rawEventsTable() == null) {
        return false;
      }
      WindowedFeatureReads.Answer answer;
      try {
        answer = lookup.windows(new Computed(rolling, CORRECTION), id, now);
      } catch (FeatureLookup.MissingTable e) {
        return false;
      }
      if (answer.latestEventTime() == null || answer.latestEventTime() < eventTime) {
        return false; // the raw events do not hold the row's latest event yet
      }
      perWindow = answer.perWindow();
    }
    entry.put("features", rolling.features(perWindow));
    return true;
  }
}
