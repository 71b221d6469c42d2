package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.store.FeatureTable;
import dev.clickstream.store.FeatureTable.Column;
import dev.clickstream.store.FeatureTable.Role;
import dev.clickstream.store.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreUnavailableException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.http.HttpStatus;
import io.javalin.json.JavalinJackson;
import io.javalin.router.EndpointNotFound;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP feature server: online-store rows as JSON, by feature view and entity id.
 *
 * <p>Endpoints (also listed by {@code GET /}):
 *
 * <ul>
 *   <li>{@code GET /features/{feature_view}/{user_id}}: one entity's latest features; 404 when there are none.
 *   <li>{@code POST /features/{feature_view}} with {@code ["u1","u2"]} or {@code {"user_ids":["u1","u2"]}}: one
 *       result per requested id, in request order, from one store read.
 *   <li>{@code GET /health}: 200 when the online store answers, 503 when it does not.
 * </ul>
 *
 * <p>Feature views are resolved through {@link FeatureTables} only, so no request text reaches SQL but as a bound
 * value. Every error is JSON {@code {"status": N, "error": "..."}}: 400 for bad input, 404 for an unknown view,
 * entity or route, 503 when the store is unavailable, 500 otherwise; never a stack trace or SQL.
 */
public final class FeatureServer {
  private static final Logger LOG = LoggerFactory.getLogger(FeatureServer.class);

  static final String STORE_UNAVAILABLE = "online store unavailable; retry later";
  static final String INTERNAL_ERROR = "internal server error";

  private FeatureServer() {}

  /** A configured server over {@code store}, not started: call {@link Javalin#start(String, int)}. */
  public static Javalin create(OnlineStore store) {
    requireNonNull(store, "store");
    ObjectMapper mapper = new ObjectMapper();
    FeatureHandlers handlers = new FeatureHandlers(new FeatureLookup(store), new UserIds(mapper));
    List<Route> routes = routes(handlers);
    return Javalin.create(
        config -> {
          config.showJavalinBanner = false;
          config.jsonMapper(new JavalinJackson(mapper, false));
          config.http.prefer405over404 = true;
          config.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler(mapper)));
          config.router.mount(
              router -> {
                routes.forEach(route -> router.addHttpHandler(route.method(), route.path(), route.handler()));
                router.exception(HttpResponseException.class, FeatureServer::httpError);
                router.exception(StoreUnavailableException.class, FeatureServer::storeUnavailable);
                router.exception(Exception.class, FeatureServer::unexpected);
              });
        });
  }

  /** {@link #create} and start on {@code host}:{@code port} (0 picks a free port; see {@link Javalin#port()}). */
  public static Javalin start(OnlineStore store, String host, int port) {
    return create(store).start(host, port);
  }

  /** Every endpoint, in one place: registered from here, and listed from here by {@code GET /}. */
  private static List<Route> routes(FeatureHandlers handlers) {
    List<Route> routes = new ArrayList<>(); // complete before the first request: the index lists it all
    routes.add(new Route(HandlerType.GET, "/features/{feature_view}/{user_id}",
        "the latest features of one entity; 404 when it has none", handlers::one));
    routes.add(new Route(HandlerType.POST, "/features/{feature_view}",
        "the latest features of many entities, one result per id in request order; the body is "
            + UserIds.BODY,
        handlers::many));
    routes.add(new Route(HandlerType.GET, "/health", "200 when the online store answers, 503 when it does not",
        handlers::health));
    routes.add(new Route(HandlerType.GET, "/", "this index", ctx -> ctx.json(index(routes))));
    return routes;
  }

  private static Map<String, Object> index(List<Route> routes) {
    List<Map<String, Object>> endpoints = new ArrayList<>();
    for (Route route : routes) {
      Map<String, Object> endpoint = new LinkedHashMap<>();
      endpoint.put("method", route.method().name());
      endpoint.put("path", route.path());
      endpoint.put("description", route.description());
      endpoints.add(endpoint);
    }
    List<Map<String, Object>> views = new ArrayList<>();
    for (FeatureTable table : FeatureTables.all()) {
      Map<String, Object> view = new LinkedHashMap<>();
      view.put("name", table.name());
      view.put("entity_key", table.key().name());
      view.put("features", columns(table, Role.FEATURE));
      view.put("times", columns(table, Role.TIME));
      view.put("example", "/features/" + table.name() + "/{" + table.key().name() + "}");
      views.add(view);
    }
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("service", "clickstream feature server");
    index.put("endpoints", endpoints);
    index.put("feature_views", views);
    return index;
  }

  private static List<String> columns(FeatureTable table, Role role) {
    return table.columns().stream().filter(c -> c.role() == role).map(Column::name).collect(Collectors.toList());
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
    error(ctx, HttpStatus.SERVICE_UNAVAILABLE.getCode(), STORE_UNAVAILABLE);
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
  private record Route(HandlerType method, String path, String description, Handler handler) {}
}
