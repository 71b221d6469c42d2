package dev.clickstream.serving;

import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.serving.FeatureView.Computed;
import dev.clickstream.serving.FeatureView.Pattern;
import dev.clickstream.serving.FeatureView.Precomputed;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Every view the server answers, as {@link FeatureRegistry#views()} lists them and nowhere else: the table each
 * feature is served from as a pre-computed view, then for each rolling feature an {@code <name>_on_demand} view when
 * it has a raw-events table and a {@code <name>_tiled} view when it has a tiles table. A request's view name only
 * ever selects one of these, so it never reaches SQL.
 */
final class FeatureViews {
  private final List<FeatureView> views;
  /** By name, for the lookup every request makes. */
  private final Map<String, FeatureView> byName = new HashMap<>();

  private FeatureViews(FeatureRegistry registry) {
    this.views = derive(registry);
    views.forEach(view -> byName.put(view.name(), view));
  }

  static FeatureViews of(FeatureRegistry registry) {
    return new FeatureViews(registry);
  }

  List<FeatureView> all() {
    return views;
  }

  Optional<FeatureView> byName(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  List<String> names() {
    return views.stream().map(FeatureView::name).collect(Collectors.toList());
  }

  /**
   * The views of {@code registry} ({@link FeatureRegistry#views()}), in its order; fails if two would share a name.
   */
  static List<FeatureView> derive(FeatureRegistry registry) {
    List<FeatureView> views = new ArrayList<>();
    for (FeatureRegistry.View view : registry.views()) {
      FeatureDefinition first = view.definitions().get(0);
      if (first.table().name().equals(view.name())) {
        views.add(new Precomputed(first.table(), view.definitions()));
      } else {
        WindowedAggregation rolling = (WindowedAggregation) first;
        views.add(new Computed(rolling, view.name().equals(rolling.onDemandView()) ? Pattern.ON_DEMAND : Pattern.TILED));
      }
    }
    Set<String> names = new HashSet<>();
    for (FeatureView view : views) {
      if (!names.add(view.name())) {
        throw new IllegalStateException(
            "two feature views are named " + view.name() + ": rename a table or a feature definition");
      }
    }
    return List.copyOf(views);
  }
}
