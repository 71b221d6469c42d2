package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureService;
import io.javalin.http.Context;
import io.javalin.http.NotFoundResponse;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The handlers of the feature services ({@code /vectors}) and of the registry ({@code /registry}). Names in paths
 * only select declarations of the registry; ids follow the pipelines' rule ({@link UserIds}).
 */
final class ServiceHandlers {
  static final String FEATURE_SERVICE = "feature_service";
  static final String ENTITY_ID = "entity_id";

  private final FeatureRegistry registry;
  private final FeatureVectors vectors;
  private final UserIds ids;
  private final Clock clock;
  private final Map<String, Object> registryDocument;

  ServiceHandlers(FeatureRegistry registry, FeatureViews views, FeatureVectors vectors, UserIds ids, Clock clock) {
    this.registry = requireNonNull(registry, "registry");
    this.vectors = requireNonNull(vectors, "vectors");
    this.ids = requireNonNull(ids, "ids");
    this.clock = requireNonNull(clock, "clock");
    this.registryDocument = RegistryDocument.of(registry, views);
  }

  /** {@code GET /vectors/{feature_service}/{entity_id}}: one entity's vector, as of now. */
  void one(Context ctx) {
    FeatureService service = service(ctx);
    String id = UserIds.check(ctx.pathParam(ENTITY_ID), "entity id");
    ctx.json(vectors.vectors(service, List.of(id), clock.millis()).get(0));
  }

  /** {@code POST /vectors/{feature_service}} with a JSON list of ids: one vector per id, in order, as of one now. */
  void many(Context ctx) {
    FeatureService service = service(ctx);
    List<String> requested = FeatureHandlers.ids(ctx, ids);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("feature_service", service.name());
    body.put("results", vectors.vectors(service, requested, clock.millis()));
    ctx.json(body);
  }

  /** {@code GET /registry}: every view and service with its whole declaration. */
  void registry(Context ctx) {
    ctx.json(registryDocument);
  }

  private FeatureService service(Context ctx) {
    String name = ctx.pathParam(FEATURE_SERVICE);
    return registry.service(name)
        .orElseThrow(() -> new NotFoundResponse("unknown feature service '" + name + "': known feature services are "
            + registry.services().stream().map(FeatureService::name).toList() + " (GET /registry describes them)"));
  }
}
