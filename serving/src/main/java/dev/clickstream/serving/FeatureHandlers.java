package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.serving.FeatureView.Computed;
import dev.clickstream.serving.FeatureView.Precomputed;
import dev.clickstream.features.FeatureTable;
import io.javalin.http.Context;
import io.javalin.http.Header;
import io.javalin.http.HttpStatus;
import io.javalin.http.NotFoundResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The request handlers: each reads its path and body, asks {@link FeatureLookup}, and writes JSON. Bad input and
 * unknown names are thrown as Javalin's HTTP exceptions, which {@link FeatureServer} turns into JSON errors.
 */
final class FeatureHandlers {
  static final String FEATURE_VIEW = "feature_view";
  static final String USER_ID = "user_id";

  private final FeatureViews views;
  private final FeatureLookup lookup;
  private final PrecomputedAnswers precomputed;
  private final UserIds userIds;
  private final Clock clock;

  FeatureHandlers(
      FeatureViews views, FeatureLookup lookup, PrecomputedAnswers precomputed, UserIds userIds, Clock clock) {
    this.views = views;
    this.lookup = requireNonNull(lookup, "lookup");
    this.precomputed = requireNonNull(precomputed, "precomputed");
    this.userIds = requireNonNull(userIds, "userIds");
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * {@code GET /features/{feature_view}/{user_id}}: one entity's features. A pre-computed view answers its stored
   * row as of now ({@link PrecomputedAnswers}: stale past its max age, a rolling feature's windows moved to now), or
   * 404; an on-demand or tiled view always answers, as of {@code as_of} (default now).
   */
  void one(Context ctx) {
    FeatureView view = featureView(ctx);
    String id = UserIds.check(ctx.pathParam(USER_ID), view.entityKey());
    if (view instanceof Computed computed) {
      Map<String, Object> entry = lookup.computed(computed, id, asOf(ctx));
      ServerMetrics.answered(ctx, entry);
      JsonBody.write(ctx, entry);
      return;
    }
    AsOf.reject(ctx.queryParams(AsOf.PARAM), view);
    FeatureTable table = ((Precomputed) view).table();
    Map<String, Object> entry =
        precomputed.one((Precomputed) view, id, clock.millis())
            .orElseThrow(
                () -> new NotFoundResponse("no " + table.name() + " features for " + table.key().name() + " '" + id
                    + "'"));
    ServerMetrics.answered(ctx, entry);
    JsonBody.write(ctx, entry);
  }

  /**
   * {@code POST /features/{feature_view}}: many entities' features, one result per requested id, in order; for an
   * on-demand or tiled view all as of the same {@code as_of} (default now).
   */
  void many(Context ctx) {
    FeatureView view = featureView(ctx);
    if (view instanceof Computed computed) {
      long asOf = asOf(ctx);
      List<String> ids = ids(ctx);
      JsonBody.write(ctx, results(ctx, view, lookup.computedMany(computed, ids, asOf)));
      return;
    }
    AsOf.reject(ctx.queryParams(AsOf.PARAM), view);
    List<String> ids = ids(ctx);
    JsonBody.write(ctx, results(ctx, view, precomputed.many((Precomputed) view, ids, clock.millis())));
  }

  /** {@code GET /drift}: each monitored feature's latest drift status. */
  void drift(Context ctx) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("monitors", lookup.driftStatus());
    ctx.json(body);
  }

  /**
   * {@code GET /health}: up when the online store answers; 503 when it does not, with the reason (never a
   * credential) and since when (epoch ms).
   */
  void health(Context ctx) {
    StoreBreaker.Outage outage = lookup.storeOutage();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", outage == null ? "up" : "down");
    body.put("online_store", outage == null ? "up" : "unreachable");
    if (outage != null) {
      body.put("reason", outage.reason());
      body.put("since", outage.sinceMillis());
    }
    if (outage != null) {
      ctx.header(Header.RETRY_AFTER, Long.toString(StoreBreaker.RETRY_AFTER.toSeconds()));
    }
    ctx.status(outage == null ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE).json(body);
  }

  private List<String> ids(Context ctx) {
    return ids(ctx, userIds);
  }

  /** The ids of a batch request, read from its body as it streams in ({@link UserIds#parse}). */
  static List<String> ids(Context ctx, UserIds userIds) {
    try (InputStream body = ctx.req().getInputStream()) {
      return userIds.parse(body, ctx.req().getContentLengthLong());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the request body", e);
    }
  }

  private static Map<String, Object> results(Context ctx, FeatureView view, List<Map<String, Object>> entries) {
    ServerMetrics.answered(ctx, entries);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("feature_view", view.name());
    body.put("results", entries);
    return body;
  }

  /** The request's {@code as_of}, or now by the server's clock; a 400 when it is malformed. */
  private long asOf(Context ctx) {
    return AsOf.parse(ctx.queryParams(AsOf.PARAM), clock.millis());
  }

  /** The view a request names, resolved through the registries only; 404 naming the known views otherwise. */
  private FeatureView featureView(Context ctx) {
    String name = ctx.pathParam(FEATURE_VIEW);
    return views.byName(name)
        .orElseThrow(
            () -> new NotFoundResponse("unknown feature view '" + name + "': known feature views are "
                + views.names()));
  }
}
