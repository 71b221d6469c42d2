package dev.clickstream.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One answer of the feature server: for a view, an entity's status ({@code ok}, {@code stale}, {@code not_found}),
 * features and times; for a feature service, its features named {@code view.column} and each view's status and times
 * under {@link #views()}.
 *
 * @param name the view or feature service that answered; null for a view's {@code not_found} entry
 * @param entityKey the entity key's name, such as {@code user_id}
 * @param entity the id
 * @param status a view's status; null for a service's vector, whose views each have theirs
 * @param features the values by column name, in the server's order; empty when not found
 * @param times the times of a view's answer (epoch milliseconds), such as {@code window_end} or {@code as_of}
 * @param views a service vector's views: each view's status and times; empty for a view's answer
 * @param json the answer as the server sent it
 */
public record FeatureVector(
    String name, String entityKey, String entity, String status, Map<String, Object> features,
    Map<String, Long> times, Map<String, Map<String, Object>> views, JsonNode json) {

  static FeatureVector of(JsonNode json) {
    String name = json.has("feature_service") ? json.path("feature_service").asText()
        : json.has("feature_view") ? json.path("feature_view").asText() : null;
    Map.Entry<String, JsonNode> entity = json.path("entity").fields().next();
    Map<String, Object> features = new LinkedHashMap<>();
    json.path("features").fields().forEachRemaining(f -> features.put(f.getKey(), value(f.getValue())));
    Map<String, Long> times = new LinkedHashMap<>();
    Map<String, Map<String, Object>> views = new LinkedHashMap<>();
    json.fields().forEachRemaining(field -> {
      if (field.getValue().isIntegralNumber()) {
        times.put(field.getKey(), field.getValue().asLong());
      }
    });
    json.path("views").fields().forEachRemaining(view -> {
      Map<String, Object> state = new LinkedHashMap<>();
      view.getValue().fields().forEachRemaining(f -> state.put(f.getKey(), value(f.getValue())));
      views.put(view.getKey(), Collections.unmodifiableMap(state));
    });
    return new FeatureVector(name, entity.getKey(), entity.getValue().asText(),
        json.has("status") ? json.path("status").asText() : null, Collections.unmodifiableMap(features),
        Collections.unmodifiableMap(times), Collections.unmodifiableMap(views), json);
  }

  /** A JSON value as a Long, Double, String, Boolean or null. */
  private static Object value(JsonNode value) {
    if (value.isNull()) {
      return null;
    }
    if (value.isIntegralNumber()) {
      return value.asLong();
    }
    if (value.isNumber()) {
      return value.asDouble();
    }
    return value.isBoolean() ? (Object) value.asBoolean() : value.asText();
  }
}
