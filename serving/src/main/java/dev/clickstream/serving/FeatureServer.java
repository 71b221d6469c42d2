package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureService;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreUnavailableException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.Header;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.http.HttpStatus;
import io.javalin.json.JavalinJackson;
import io.javalin.router.EndpointNotFound;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP feature server: features as JSON, by feature view and entity id.
 *
 * <p>A feature view is one of three patterns ({@link FeatureViews}):
 *
 * <ul>
 *   <li>pre-computed, such as {@code ctr_5min} and {@code click_counts}: the row a pipeline keeps per entity, with
 *       status {@code stale} when it is older than its declaration's max age by the server's clock, and a rolling
 *       feature's windows moved to the server's now ({@link PrecomputedAnswers}); a pre-computed view takes no
 *       {@code as_of} (400 if given) and answers 404 for an entity without a row;
 *   <li>on-demand, {@code <feature>_on_demand} such as {@code click_counts_on_demand}: every window of the feature
 *       aggregated from its raw events at request time;
 *   <li>tiled, {@code <feature>_tiled} such as {@code click_counts_tiled}: the same windows from per-minute tiles,
 *       plus the raw events of the partial tiles at the window edges.
 * </ul>
 *
 * <p>On-demand and tiled views answer as of {@code ?as_of=EPOCH_MS} (each window is {@code [as_of - length,
 * as_of]}, both ends included), or as of now by the server's clock; as of a pre-computed row's {@code event_time}
 * they equal that row. They always answer: an entity without events in the windows has zero counts and a null
 * {@code event_time}. Their responses have the pre-computed view's shape, without {@code updated_at} and with
 * {@code as_of} (see {@link FeatureLookup}).
 *
 * <p>Endpoints (also listed by {@code GET /}, with every feature view):
 *
 * <ul>
 *   <li>{@code GET /features/{feature_view}/{user_id}[?as_of=EPOCH_MS]}: one entity's features.
 *   <li>{@code POST /features/{feature_view}[?as_of=EPOCH_MS]} with {@code ["u1","u2"]} or {@code
 *       {"user_ids":["u1","u2"]}}: one result per requested id, in request order; from one store read for a
 *       pre-computed view, one read per distinct id for an on-demand or tiled view, all as of the same time.
 *   <li>{@code GET /vectors/{feature_service}/{entity_id}} and {@code POST /vectors/{feature_service}} with a list of
 *       ids: one vector per entity of a feature service of the registry ({@link FeatureVectors}).
 *   <li>{@code GET /registry}: every view and feature service with its whole declaration ({@link RegistryDocument}).
 *   <li>{@code GET /drift}: each monitored feature's latest drift status (also {@code
 *       /features/feature_drift/{feature}}).
 *   <li>{@code GET /health}: 200 when the online store answers; 503 when it does not, with the reason and since
 *       when.
 *   <li>{@code GET /metrics}, {@code GET /status}, {@code GET /status.json}: Prometheus metrics and a status page
 *       ({@link StatusPage}).
 *   <li>{@code GET /}: the endpoints and feature views.
 * </ul>
 *
 * <p>A view name only selects a view derived from the registries, and ids and times reach SQL only as bound values,
 * so no request text is ever SQL. Ids follow the pipelines' rule ({@link dev.clickstream.features.EntityIds}): 1 to
 * 256 characters, no control characters, lone surrogates or U+FFFD. A batch body is read as it streams in, up to 1 MB
 * and 1000 ids ({@link UserIds}). Every error is JSON {@code {"status": N, "error": "..."}}: 400 for bad input
 * (including a malformed {@code as_of}), 404 for an unknown view, entity or route, 413 for a body over 1 MB, 503
 * when the store is unavailable or a view's table does not exist yet, 500 otherwise; never a stack trace, SQL or a
 * credential.
 *
 * <p>The server only reads: it creates no table, so its database user needs only SELECT rights. The pipelines
 * create the tables; until one has, its views answer 503 saying so. Give it a store from {@link
 * OnlineStore#forServing}, whose reads wait at most 500 ms for a connection: with the {@link StoreBreaker}, a store
 * that is down is a 503 within a second (at once while it is known to be down), and the server recovers by itself
 * when the store is back.
 */
public final class FeatureServer {
  private static final Logger LOG = LoggerFactory.getLogger(FeatureServer.class);

  static final String STORE_UNAVAILABLE = "online store unavailable; retry later";
  static final String INTERNAL_ERROR = "internal server error";

  private FeatureServer() {}

  /** A configured server over {@code store}, not started: call {@link Javalin#start(String, int)}. */
  public static Javalin create(OnlineStore store) {
    return create(store, Clock.systemUTC());
  }

  /**
   * {@link #create(OnlineStore)} whose answers are as of {@code clock}'s now: on-demand and tiled views when a request
   * gives no {@code as_of}, rolling pre-computed views always, and every row's age against its max age.
   */
  public static Javalin create(OnlineStore store, Clock clock) {
    return create(store, clock, FeatureDefinitions.REGISTRY);
  }

  /** {@link #create(OnlineStore, Clock)} serving the views of {@code registry} instead of the project's own. */
  public static Javalin create(OnlineStore store, Clock clock, FeatureRegistry registry) {
    return create(store, clock, registry, StatusSettings.DEFAULT);
  }

  /** {@link #create(OnlineStore, Clock, FeatureRegistry)} whose status page samples as {@code status} says. */
  public static Javalin create(OnlineStore store, Clock clock, FeatureRegistry registry, StatusSettings status) {
    requireNonNull(store, "store");
    requireNonNull(clock, "clock");
    requireNonNull(registry, "registry");
    ObjectMapper mapper = new ObjectMapper();
    FeatureViews views = FeatureViews.of(registry);
    StoreBreaker breaker = new StoreBreaker(clock);
    FeatureLookup lookup = new FeatureLookup(store, breaker, registry);
    PrecomputedAnswers precomputed = new PrecomputedAnswers(lookup);
    UserIds ids = new UserIds(mapper);
    FeatureHandlers handlers = new FeatureHandlers(views, lookup, precomputed, ids, clock);
    ServiceHandlers services =
        new ServiceHandlers(registry, views, new FeatureVectors(registry, views, precomputed, lookup), ids, clock);
    StatusPage statusPage = new StatusPage(store, breaker, views, lookup, registry, clock, status);
    List<Route> routes = routes(handlers, services, views, registry);
    routes.addAll(routes.size() - 1, statusPage.routes()); // before the index, which stays last
    return Javalin.create(
        config -> {
          config.showJavalinBanner = false;
          config.requestLogger.http(statusPage::request);
          config.events.serverStarted(statusPage::start);
          config.events.serverStopped(statusPage::stop);
          config.jsonMapper(new JavalinJackson(mapper, false));
          config.http.prefer405over404 = true;
          config.http.maxRequestSize = UserIds.MAX_BODY_BYTES; // batch bodies are also capped while they stream in
          config.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler(mapper)));
          config.router.mount(
              router -> {
                routes.forEach(route -> router.addHttpHandler(route.method(), route.path(), route.handler()));
                router.exception(HttpResponseException.class, FeatureServer::httpError);
                router.exception(StoreUnavailableException.class, FeatureServer::storeUnavailable);
                router.exception(StoreBreaker.StoreDown.class, FeatureServer::storeDown);
                router.exception(FeatureLookup.MissingTable.class, FeatureServer::missingTable);
                router.exception(Exception.class, FeatureServer::unexpected);
              });
        });
  }

  /** {@link #create} and start on {@code host}:{@code port} (0 picks a free port; see {@link Javalin#port()}). */
  public static Javalin start(OnlineStore store, String host, int port) {
    return create(store).start(host, port);
  }

  /** Every endpoint, in one place: registered from here, and listed from here by {@code GET /}. */
  private static List<Route> routes(
      FeatureHandlers handlers, ServiceHandlers services, FeatureViews views, FeatureRegistry registry) {
    List<Route> routes = new ArrayList<>(); // complete before the first request: the index lists it all
    routes.add(new Route(HandlerType.GET, "/features/{feature_view}/{user_id}",
        "the features of one entity: a pre-computed view's latest row, status stale past its max_age, a rolling"
            + " feature's windows as of now, 404 when it has none; an on-demand or tiled view's windows as of ?"
            + AsOf.PARAM + "=EPOCH_MS (default now), zero counts when it has no events",
        handlers::one));
    routes.add(new Route(HandlerType.POST, "/features/{feature_view}",
        "the features of many entities, one result per id in request order, on-demand and tiled views as of ?"
            + AsOf.PARAM + "=EPOCH_MS (default now); the body is " + UserIds.BODY,
        handlers::many));
    routes.add(new Route(HandlerType.GET, "/vectors/{feature_service}/{entity_id}",
        "one entity's vector of a feature service: its columns as view.column, and each view's status and times",
        services::one));
    routes.add(new Route(HandlerType.POST, "/vectors/{feature_service}",
        "one vector per entity, in request order, as of one now; the body is " + UserIds.BODY,
        services::many));
    routes.add(new Route(HandlerType.GET, "/registry",
        "every view and feature service with its whole declaration: source, filter, key, windows, aggregations,"
            + " column types, time semantics, max_age and description",
        services::registry));
    routes.add(new Route(HandlerType.GET, "/drift",
        "each monitored feature's latest drift evaluation: PSI and KS of its latest window against the windows"
            + " before, and ok, drift, insufficient_data or not_evaluated",
        handlers::drift));
    routes.add(new Route(HandlerType.GET, "/health",
        "200 when the online store answers, 503 with the reason when it does not",
        handlers::health));
    routes.add(new Route(HandlerType.GET, "/", "this index", ctx -> ctx.json(index(routes, views, registry))));
    return routes;
  }

  private static Map<String, Object> index(List<Route> routes, FeatureViews views, FeatureRegistry registry) {
    List<Map<String, Object>> endpoints = new ArrayList<>();
    for (Route route : routes) {
      Map<String, Object> endpoint = new LinkedHashMap<>();
      endpoint.put("method", route.method().name());
      endpoint.put("path", route.path());
      endpoint.put("description", route.description());
      endpoints.add(endpoint);
    }
    List<Map<String, Object>> viewEntries = new ArrayList<>();
    for (FeatureView view : views.all()) {
      Map<String, Object> entry = RegistryDocument.summary(view);
      String path = "/features/" + view.name() + "/{" + view.entityKey() + "}";
      entry.put("example", view instanceof FeatureView.Computed ? path + "?" + AsOf.PARAM + "={epoch_ms}" : path);
      viewEntries.add(entry);
    }
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("service", "clickstream feature server");
    index.put("endpoints", endpoints);
    index.put("feature_views", viewEntries);
    List<Map<String, Object>> serviceEntries = new ArrayList<>();
    for (FeatureService service : registry.services()) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("name", service.name());
      entry.put("features", registry.features(service).stream().map(FeatureService.Feature::name).toList());
      entry.put("example", "/vectors/" + service.name() + "/{entity_id}");
      serviceEntries.add(entry);
    }
    index.put("feature_services", serviceEntries);
    return index;
  }

  private static void httpError(HttpResponseException e, Context ctx) {
    String message = e.getMessage();
    if (e instanceof EndpointNotFound) {
      message = "no endpoint " + ctx.method() + " " + ctx.path() + "; GET / lists the endpoints";
    } else if (e.getStatus() == HttpStatus.METHOD_NOT_ALLOWED.getCode()) {
      message = ctx.method() + " is not allowed on " + ctx.path() + "; GET / lists the endpoints";
    }
    error(ctx, e.getStatus(), message);
  }

  private static void storeUnavailable(StoreUnavailableException e, Context ctx) {
    // The cause names the store (password redacted) and the driver's reason: for the log, not for the client.
    LOG.warn("{} {}: {}", ctx.method(), ctx.path(), e.getMessage());
    ctx.header(Header.RETRY_AFTER, Long.toString(StoreBreaker.RETRY_AFTER.toSeconds()));
    error(ctx, HttpStatus.SERVICE_UNAVAILABLE.getCode(), STORE_UNAVAILABLE);
  }

  /** The breaker is open: it logged the outage once, so each request fails quietly and at once. */
  private static void storeDown(StoreBreaker.StoreDown e, Context ctx) {
    ctx.header(Header.RETRY_AFTER, Long.toString(StoreBreaker.RETRY_AFTER.toSeconds()));
    error(ctx, HttpStatus.SERVICE_UNAVAILABLE.getCode(), STORE_UNAVAILABLE);
  }

  /** Names only registry tables and what creates them: nothing from the driver. */
  private static void missingTable(FeatureLookup.MissingTable e, Context ctx) {
    error(ctx, HttpStatus.SERVICE_UNAVAILABLE.getCode(), e.getMessage());
  }

  private static void unexpected(Exception e, Context ctx) {
    LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
    error(ctx, HttpStatus.INTERNAL_SERVER_ERROR.getCode(), INTERNAL_ERROR);
  }

  private static void error(Context ctx, int status, String message) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", status);
    body.put("error", message);
    ctx.status(status).json(body);
  }

  /** One endpoint: how it is called, what it does, and who handles it. */
  record Route(HandlerType method, String path, String description, Handler handler) {}
}
