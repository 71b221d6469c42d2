package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.store.OnlineStore;
import io.javalin.http.Context;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.HdrHistogram.Recorder;

/**
 * The server's metrics, kept with Micrometer and read by Prometheus from {@code GET /metrics} (text format 0.0.4):
 *
 * <ul>
 *   <li>{@value #REQUESTS}: every HTTP request, a histogram of its latency, by route ({@code endpoint}), method,
 *       view and HTTP status;
 *   <li>{@value #LOOKUPS}: every entity a feature request answered, by view and the entity's status as the handler
 *       gave it ({@code ok}, {@code not_found}, or any other): not-found and stale counts;
 *   <li>{@value #STORE_READS}: a histogram of the time the lookups' store reads took;
 *   <li>{@value #POOL}: the serving pool's connections, by state ({@code active}, {@code idle}, {@code waiting}
 *       requests, {@code max});
 *   <li>{@value #NEWEST_ROW_AGE}: per view, the age of the newest row of the table it reads ({@link
 *       ViewFreshness}): freshness as the server sees it.
 * </ul>
 *
 * <p>Label values come from the registry (view names) and from the router (route templates), never from request
 * text: an unknown view is {@value #UNKNOWN}, so a client cannot grow the number of series. It also keeps, per view,
 * an HdrHistogram recorder of request latencies that {@link StatusPage} samples for its plots.
 */
final class ServerMetrics {
  static final String REQUESTS = "clickstream_http_requests";
  static final String LOOKUPS = "clickstream_lookups";
  static final String STORE_READS = "clickstream_store_reads";
  static final String POOL = "clickstream_store_pool_connections";
  static final String NEWEST_ROW_AGE = "clickstream_view_newest_row_age_seconds";
  /** The view label of requests that name no view, or one the server does not have. */
  static final String UNKNOWN = "none";
  /** The endpoint label of requests that matched no route. */
  static final String UNMATCHED = "unmatched";
  /** Where a handler leaves the statuses of the entities it answered, for {@link #request}. */
  private static final String ENTITY_STATUSES = ServerMetrics.class.getName() + ".statuses";
  /**
   * The status page's recorders hold microseconds from 1 to a minute (longer ones count as a minute) with 2
   * significant digits: a fixed range, so that recording never resizes (and allocates), in 27 KB per histogram.
   */
  private static final long MAX_RECORDED_MICROS = TimeUnit.MINUTES.toMicros(1);

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Set<String> views;
  private final ConcurrentMap<RequestKey, Timer> requests = new ConcurrentHashMap<>();
  private final ConcurrentMap<LookupKey, Counter> lookups = new ConcurrentHashMap<>();
  private final Map<String, Recorder> viewLatencies = new ConcurrentHashMap<>();
  private final Timer storeReads;

  private record RequestKey(String endpoint, String method, String view, int status) {}

  private record LookupKey(String view, String status) {}

  ServerMetrics(OnlineStore store, FeatureViews views, ViewFreshness freshness) {
    requireNonNull(store, "store");
    this.views = Set.copyOf(views.names());
    for (String view : views.names()) {
      viewLatencies.put(view, new Recorder(1, MAX_RECORDED_MICROS, 2));
    }
    this.storeReads =
        Timer.builder(STORE_READS)
            .description("time the online store took to answer the reads of feature lookups")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1).dividedBy(20))
            .maximumExpectedValue(Duration.ofSeconds(5))
            .register(registry);
    poolGauge(store, "active", OnlineStore.PoolUsage::active);
    poolGauge(store, "idle", OnlineStore.PoolUsage::idle);
    poolGauge(store, "waiting", OnlineStore.PoolUsage::waiting);
    poolGauge(store, "max", OnlineStore.PoolUsage::max);
    for (ViewFreshness.Source source : freshness.sources()) {
      Gauge.builder(NEWEST_ROW_AGE, () -> freshness.ageSeconds(source.view()))
          .description("age of the newest row of the table a view reads, by its time column; NaN when unknown")
          .tags("view", source.view(), "table", source.table().name(), "column", source.column())
          .register(registry);
    }
  }

  private void poolGauge(OnlineStore store, String state, ToDoubleFunction<OnlineStore.PoolUsage> value) {
    Gauge.builder(POOL, () -> store.poolUsage().map(value::applyAsDouble).orElse(Double.NaN))
        .description("connections of the server's pool to the online store, by state")
        .tag("state", state)
        .register(registry);
  }

  /** Notes the statuses of the entities {@code entries} answered (each entry's {@code status}), for the metrics. */
  static void answered(Context ctx, List<Map<String, Object>> entries) {
    String[] statuses = new String[entries.size()];
    for (int i = 0; i < statuses.length; i++) {
      statuses[i] = String.valueOf(entries.get(i).get("status"));
    }
    ctx.attribute(ENTITY_STATUSES, statuses);
  }

  /** {@link #answered(Context, List)} of one entry. */
  static void answered(Context ctx, Map<String, Object> entry) {
    ctx.attribute(ENTITY_STATUSES, new String[] {String.valueOf(entry.get("status"))});
  }

  /** Javalin's request logger: called once per request, after its handler and exception mapping. */
  void request(Context ctx, Float executionMillis) {
    long nanos = (long) (executionMillis * 1_000_000.0);
    String endpoint = endpoint(ctx);
    String view = view(ctx);
    int status = ctx.statusCode();
    requests
        .computeIfAbsent(new RequestKey(endpoint, ctx.method().name(), view, status), this::requestTimer)
        .record(nanos, TimeUnit.NANOSECONDS);
    if (view.equals(UNKNOWN)) {
      return;
    }
    viewLatencies.get(view).recordValue(Math.min(Math.max(nanos / 1_000, 1), MAX_RECORDED_MICROS));
    String[] statuses = ctx.attribute(ENTITY_STATUSES);
    if (statuses != null) {
      for (String entityStatus : statuses) {
        lookup(view, entityStatus).increment();
      }
    } else if (status == 404) {
      lookup(view, FeatureLookup.NOT_FOUND).increment(); // a single lookup of an entity without a row
    }
  }

  /** Times one store read of a lookup. */
  void storeRead(long nanos) {
    storeReads.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Every metric in Prometheus' text format. */
  String scrape() {
    return registry.scrape();
  }

  /** The recorder of request latencies (µs) of each view, for the status page to sample and reset. */
  Map<String, Recorder> viewLatencies() {
    return viewLatencies;
  }

  private Timer requestTimer(RequestKey key) {
    return Timer.builder(REQUESTS)
        .description("HTTP requests: latency by route, method, view and status")
        .tags("endpoint", key.endpoint(), "method", key.method(), "view", key.view(), "status",
            Integer.toString(key.status()))
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1).dividedBy(20))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
  }

  private Counter lookup(String view, String status) {
    return lookups.computeIfAbsent(new LookupKey(view, status), key ->
        Counter.builder(LOOKUPS)
            .description("entities answered by feature requests, by view and entity status")
            .tags("view", key.view(), "status", key.status())
            .register(registry));
  }

  /** The route template the request matched, such as {@code /features/{feature_view}/{user_id}}. */
  private static String endpoint(Context ctx) {
    try {
      return ctx.endpointHandlerPath();
    } catch (IllegalStateException e) { // no endpoint matched: Javalin answered 404 from its own handler
      return UNMATCHED;
    }
  }

  private String view(Context ctx) {
    String name = ctx.pathParamMap().get(FeatureHandlers.FEATURE_VIEW);
    return name != null && views.contains(name) ? name : UNKNOWN;
  }
}
