package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.store.FeatureTable;
import dev.clickstream.store.FeatureTables;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.javalin.http.NotFoundResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The request handlers: each reads its path and body, asks {@link FeatureLookup}, and writes JSON. Bad input and
 * unknown names are thrown as Javalin's HTTP exceptions, which {@link FeatureServer} turns into JSON errors.
 */
final class FeatureHandlers {
  static final String FEATURE_VIEW = "feature_view";
  static final String USER_ID = "user_id";

  private final FeatureLookup lookup;
  private final UserIds userIds;

  FeatureHandlers(FeatureLookup lookup, UserIds userIds) {
    this.lookup = requireNonNull(lookup, "lookup");
    this.userIds = requireNonNull(userIds, "userIds");
  }

  /** {@code GET /features/{feature_view}/{user_id}}: one entity's features, or 404. */
  void one(Context ctx) {
    FeatureTable table = featureView(ctx);
    String id = UserIds.check(ctx.pathParam(USER_ID), table.key().name());
    Map<String, Object> entry =
        lookup.one(table, id)
            .orElseThrow(
                () -> new NotFoundResponse("no " + table.name() + " features for " + table.key().name() + " '" + id
                    + "'"));
    ctx.json(entry);
  }

  /** {@code POST /features/{feature_view}}: many entities' features, one result per requested id, in order. */
  void many(Context ctx) {
    FeatureTable table = featureView(ctx);
    List<String> ids = userIds.parse(ctx.body());
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("feature_view", table.name());
    body.put("results", lookup.many(table, ids));
    ctx.json(body);
  }

  /** {@code GET /health}: up when the online store answers, 503 when it does not. */
  void health(Context ctx) {
    boolean up = lookup.storeReachable();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", up ? "up" : "down");
    body.put("online_store", up ? "up" : "unreachable");
    ctx.status(up ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE).json(body);
  }

  /** The table a request names, resolved through the registry only; 404 naming the known views otherwise. */
  private static FeatureTable featureView(Context ctx) {
    String name = ctx.pathParam(FEATURE_VIEW);
    return FeatureTables.byName(name)
        .orElseThrow(
            () -> new NotFoundResponse("unknown feature view '" + name + "': known feature views are "
                + FeatureTables.all().stream().map(FeatureTable::name).collect(Collectors.toList())));
  }
}
