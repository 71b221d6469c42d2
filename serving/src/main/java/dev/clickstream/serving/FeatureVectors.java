package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureService;
import dev.clickstream.serving.FeatureView.Computed;
import dev.clickstream.serving.FeatureView.Precomputed;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The vectors of a {@link FeatureService}: per entity, the service's columns in declared order, named {@code
 * view.column}, and per view its status and times.
 *
 * <pre>{@code
 * {"feature_service": "ranking_v1", "entity": {"user_id": "u1"},
 *  "features": {"ctr_5min.ctr": 0.25, "click_counts.click_count_1_min": 2, ...},
 *  "views": {"ctr_5min": {"status": "ok", "window_start": ..., "window_end": ..., "updated_at": ...},
 *            "click_counts": {"status": "ok", "event_time": ..., "updated_at": ..., "as_of": ...}, ...}}
 * }</pre>
 *
 * <p>Each view is answered as {@code /features/{view}} answers it, as of the same now: a pre-computed view's row with
 * its max age and, for a rolling feature, its windows moved to now ({@link PrecomputedAnswers}); an on-demand or tiled
 * view computed as of now. A view without a row for the entity is {@code "status": "not_found"} and its columns are
 * null. A batch reads each pre-computed view once for all entities.
 */
final class FeatureVectors {
  /** What a view's entry holds besides its times. */
  private static final Set<String> NOT_TIMES = Set.of("feature_view", "entity", "status", "features");

  private final FeatureRegistry registry;
  private final FeatureViews views;
  private final PrecomputedAnswers precomputed;
  private final FeatureLookup lookup;

  FeatureVectors(FeatureRegistry registry, FeatureViews views, PrecomputedAnswers precomputed, FeatureLookup lookup) {
    this.registry = requireNonNull(registry, "registry");
    this.views = requireNonNull(views, "views");
    this.precomputed = requireNonNull(precomputed, "precomputed");
    this.lookup = requireNonNull(lookup, "lookup");
  }

  /** One vector per id, in request order, all as of {@code now}. */
  List<Map<String, Object>> vectors(FeatureService service, List<String> ids, long now) {
    List<FeatureService.Feature> features = registry.features(service);
    Map<String, List<Map<String, Object>>> entriesByView = new LinkedHashMap<>();
    for (FeatureService.Feature feature : features) {
      entriesByView.computeIfAbsent(feature.view(), name -> entries(name, ids, now));
    }
    String entityKey = views.byName(features.get(0).view()).orElseThrow().entityKey();
    List<Map<String, Object>> vectors = new ArrayList<>(ids.size());
    for (int i = 0; i < ids.size(); i++) {
      Map<String, Object> values = new LinkedHashMap<>();
      for (FeatureService.Feature feature : features) {
        Object viewFeatures = entriesByView.get(feature.view()).get(i).get("features");
        values.put(feature.name(), viewFeatures == null ? null : ((Map<?, ?>) viewFeatures).get(feature.column()));
      }
      Map<String, Object> viewStates = new LinkedHashMap<>();
      for (Map.Entry<String, List<Map<String, Object>>> view : entriesByView.entrySet()) {
        Map<String, Object> state = new LinkedHashMap<>();
        view.getValue().get(i).forEach((key, value) -> {
          if (key.equals("status") || !NOT_TIMES.contains(key)) {
            state.put(key, value);
          }
        });
        viewStates.put(view.getKey(), state);
      }
      Map<String, Object> vector = new LinkedHashMap<>();
      vector.put("feature_service", service.name());
      vector.put("entity", Map.of(entityKey, ids.get(i)));
      vector.put("features", values);
      vector.put("views", viewStates);
      vectors.add(vector);
    }
    return vectors;
  }

  /** The entries of view {@code name} for {@code ids}, as {@code /features/{name}} answers them as of {@code now}. */
  private List<Map<String, Object>> entries(String name, List<String> ids, long now) {
    FeatureView view = views.byName(name).orElseThrow();
    return view instanceof Computed computed
        ? lookup.computedMany(computed, ids, now)
        : precomputed.many((Precomputed) view, ids, now);
  }
}
