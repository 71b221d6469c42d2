package dev.clickstream.serving;

import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureService;
import dev.clickstream.serving.FeatureView.Computed;
import dev.clickstream.serving.FeatureView.Precomputed;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code GET /registry}: every view and feature service the server answers, each with its whole declaration ({@link
 * FeatureDefinition#describe()}): source, filter, key, windows, aggregations, typed columns, time semantics, max age
 * and description. Built once, from the registry only.
 */
final class RegistryDocument {
  private RegistryDocument() {}

  static Map<String, Object> of(FeatureRegistry registry, FeatureViews views) {
    List<Map<String, Object>> viewEntries = new ArrayList<>();
    for (FeatureView view : views.all()) {
      viewEntries.add(view(view));
    }
    List<Map<String, Object>> services = new ArrayList<>();
    for (FeatureService service : registry.services()) {
      List<FeatureService.Feature> features = registry.features(service);
      Set<String> serviceViews = new LinkedHashSet<>();
      List<String> names = new ArrayList<>();
      for (FeatureService.Feature feature : features) {
        serviceViews.add(feature.view());
        names.add(feature.name());
      }
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("name", service.name());
      entry.put("description", service.description());
      entry.put("declared_as", service.toString());
      entry.put("entity_key", views.byName(features.get(0).view()).orElseThrow().entityKey());
      entry.put("views", List.copyOf(serviceViews));
      entry.put("features", names);
      entry.put("path", "/vectors/" + service.name() + "/{" + entry.get("entity_key") + "}");
      services.add(entry);
    }
    Map<String, Object> document = new LinkedHashMap<>();
    document.put("views", viewEntries);
    document.put("feature_services", services);
    return document;
  }

  /** A view's name, pattern, entity key, feature columns and times: its line in the index and in the registry. */
  static Map<String, Object> summary(FeatureView view) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("name", view.name());
    entry.put("pattern", view.pattern().label());
    entry.put("entity_key", view.entityKey());
    entry.put("features", view.features());
    entry.put("times", view.times());
    return entry;
  }

  private static Map<String, Object> view(FeatureView view) {
    Map<String, Object> entry = summary(view);
    List<FeatureDefinition> definitions;
    if (view instanceof Precomputed precomputed) {
      definitions = precomputed.definitions();
      FeatureDefinition first = definitions.get(0);
      entry.put("freshness", "a row is stale when its " + first.asOfColumn() + " is more than its feature's max_age"
          + " before the server's now" + (precomputed.rolling() == null ? ""
              : "; its windows are answered as of the server's now (as_of), corrected from the raw events"));
    } else {
      definitions = List.of(((Computed) view).feature());
      entry.put("freshness", "computed from the stored events as of as_of (default the server's now): never stale");
    }
    List<Map<String, Object>> described = new ArrayList<>();
    definitions.forEach(definition -> described.add(definition.describe()));
    entry.put("definitions", described);
    return entry;
  }
}
