package dev.clickstream.serving;

import static dev.clickstream.features.FeatureTables.CTR_5MIN;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.DriftRecord;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import io.javalin.Javalin;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics}, {@code /status.json} and {@code /status} of a real server over H2, after a known set of
 * requests: the exposition is parsed and its counts compared exactly. The browser test of the page is {@code
 * StatusPageBrowserTest} (runners), with a pipeline run reporting.
 */
class OperationsEndpointsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  /** 2024-01-01T00:00:00Z. */
  private static final long T0 = 1_704_067_200_000L;
  private static final long WINDOW = 300_000L;
  /** The newest ctr_5min row's updated_at. */
  private static final long NEWEST = T0 + WINDOW + 60_000;
  /** The server's clock: 90 s after the newest row was written. */
  private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(NEWEST + 90_000), ZoneOffset.UTC);
  private static final String ONE = "/features/{feature_view}/{user_id}";
  private static final String MANY = "/features/{feature_view}";

  private Javalin app;

  @AfterEach
  void stop() {
    if (app != null) {
      app.stop();
    }
    ConnectionPools.closeAll();
  }

  @Test
  void metricsCountRequestsByViewAndStatusLookupsByEntityStatusStoreReadsPoolAndFreshness() throws Exception {
    serve(seededStore(), StatusSettings.DEFAULT);
    for (int i = 0; i < 3; i++) {
      assertThat(get("/features/ctr_5min/u7").statusCode(), is(200));
    }
    for (int i = 0; i < 2; i++) {
      assertThat(get("/features/ctr_5min/u9").statusCode(), is(404));
    }
    assertThat(post("/features/ctr_5min", "[\"u7\",\"u9\",\"u2\"]").statusCode(), is(200));
    assertThat(get("/features/no_such_view/u1").statusCode(), is(404));
    assertThat(get("/health").statusCode(), is(200));

    HttpResponse<String> scrape = get("/metrics");
    List<PrometheusText.Sample> samples = PrometheusText.parse(scrape.body());

    assertThat(scrape.statusCode(), is(200));
    assertThat(scrape.headers().firstValue("Content-Type").orElse(""), containsString("text/plain; version=0.0.4"));
    String requests = ServerMetrics.REQUESTS + "_seconds_count";
    assertThat(value(samples, requests, "endpoint", ONE, "method", "GET", "view", "ctr_5min", "status", "200"),
        is(3.0));
    assertThat(value(samples, requests, "endpoint", ONE, "method", "GET", "view", "ctr_5min", "status", "404"),
        is(2.0));
    assertThat(value(samples, requests, "endpoint", MANY, "method", "POST", "view", "ctr_5min", "status", "200"),
        is(1.0));
    // An unknown view's name never becomes a label value.
    assertThat(value(samples, requests, "endpoint", ONE, "method", "GET", "view", ServerMetrics.UNKNOWN,
        "status", "404"), is(1.0));
    assertThat(scrape.body(), not(containsString("no_such_view")));
    assertThat(value(samples, requests, "endpoint", "/health", "method", "GET", "view", ServerMetrics.UNKNOWN,
        "status", "200"), is(1.0));
    // The latency histogram of the 3 found lookups: its +Inf bucket holds them all.
    assertThat(value(samples, ServerMetrics.REQUESTS + "_seconds_bucket", "endpoint", ONE, "view", "ctr_5min",
        "status", "200", "le", "+Inf"), is(3.0));

    String lookups = ServerMetrics.LOOKUPS + "_total";
    assertThat(value(samples, lookups, "view", "ctr_5min", "status", "ok"), is(5.0));
    assertThat(value(samples, lookups, "view", "ctr_5min", "status", "not_found"), is(3.0));
    // 3 + 2 single reads, 1 batch read, 1 health check: the reads that reached the store.
    assertThat(value(samples, ServerMetrics.STORE_READS + "_seconds_count"), is(7.0));
    assertThat(value(samples, ServerMetrics.POOL, "state", "active"), is(0.0));
    assertThat(value(samples, ServerMetrics.POOL, "state", "waiting"), is(0.0));
    assertThat(value(samples, ServerMetrics.POOL, "state", "max"), is(8.0));
    assertThat(value(samples, ServerMetrics.NEWEST_ROW_AGE, "view", "ctr_5min", "table", "ctr_5min", "column",
        "updated_at"), is(90.0));
    // click_counts has no table in this store yet: no age.
    assertThat(Double.isNaN(value(samples, ServerMetrics.NEWEST_ROW_AGE, "view", "click_counts")), is(true));
    // A tiled view's freshness is its tiles table's, which exists but is empty: no age either.
    assertThat(Double.isNaN(value(samples, ServerMetrics.NEWEST_ROW_AGE, "view", "click_counts_tiled", "table",
        "click_tiles", "column", "updated_at")), is(true));
  }

  @Test
  void statusJsonHoldsOneSamplePerRequestOfLookupsFreshnessAndDriftWindows() throws Exception {
    OnlineStore store = seededStore();
    DriftMonitor monitor = FeatureDefinitions.CTR_DRIFT;
    store.ensureTable(FeatureTables.FEATURE_DRIFT);
    store.upsert(FeatureTables.FEATURE_DRIFT, List.<Object[]>of(monitor.row(
        new DriftRecord(monitor.name(), T0, T0 + WINDOW, 120, 41, 0.3125, 0.25, DriftRecord.Status.DRIFT), 7L)));
    serve(store, new StatusSettings(Duration.ZERO, List.of()));

    get("/features/ctr_5min/u7");
    get("/features/ctr_5min/u2");
    json("/status.json");
    get("/features/ctr_5min/u7");
    json("/status.json");
    store.upsert(FeatureTables.FEATURE_DRIFT, List.<Object[]>of(monitor.row(new DriftRecord(
        monitor.name(), T0 + WINDOW, T0 + 2 * WINDOW, 120, 44, 0.125, 0.0625, DriftRecord.Status.OK), 8L)));
    JsonNode status = json("/status.json");
    JsonNode lastTwo = json("/status.json?points=2");

    JsonNode ctr = status.get("lookups").get("ctr_5min");
    assertThat(status.get("lookups").size(), is(1));
    assertThat(ctr.get("time").toString(), is("[" + at() + "," + at() + "," + at() + "]"));
    assertThat(ctr.get("p99_ms").get(0).isNumber(), is(true));
    assertThat(ctr.get("p99_ms").get(2).isNull(), is(true)); // no request in the third interval
    assertThat(ctr.get("requests_per_second").get(2).asDouble(), is(0.0));
    assertThat(status.get("freshness").get("ctr_5min").get("age_seconds").toString(), is("[90.0,90.0,90.0]"));
    assertThat(status.get("freshness").get("feature_drift").get("age_seconds").get(0).asDouble(),
        is((CLOCK.millis() - 7) / 1000.0));
    JsonNode drift = status.get("drift").get(0);
    assertThat(drift.get("feature").asText(), is(monitor.name()));
    assertThat(drift.get("psi_threshold").asDouble(), is(monitor.psiThreshold()));
    assertThat(drift.get("ks_threshold").asDouble(), is(monitor.ksThreshold()));
    assertThat(drift.get("window_end").toString(), is("[" + (T0 + WINDOW) + "," + (T0 + 2 * WINDOW) + "]"));
    assertThat(drift.get("psi").toString(), is("[0.3125,0.125]"));
    assertThat(drift.get("ks").toString(), is("[0.25,0.0625]"));
    assertThat(drift.get("status").toString(), is("[\"drift\",\"ok\"]"));
    assertThat(status.get("pipelines").toString(), is("[]"));
    assertThat(status.get("dead_letters").toString(), is("{}"));
    assertThat(lastTwo.get("lookups").get("ctr_5min").get("time").size(), is(2));
    assertThat(lastTwo.get("drift").get(0).get("psi").toString(), is("[0.3125,0.125]"));
    assertThat(get("/status.json?points=0").statusCode(), is(400));
  }

  @Test
  void statusIsOneSelfContainedPage() throws Exception {
    serve(seededStore(), StatusSettings.DEFAULT);

    HttpResponse<String> page = get("/status");

    assertThat(page.statusCode(), is(200));
    assertThat(page.headers().firstValue("Content-Type").orElse(""), containsString("text/html"));
    assertThat(page.body(), containsString("fetch(jsonUrl"));
    for (String external : List.of("<script src", "<link", "@import", "url(", "https://", "//cdn")) {
      assertThat(page.body(), not(containsString(external)));
    }
  }

  private static long at() {
    return CLOCK.millis();
  }

  private static OnlineStore seededStore() throws Exception {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshH2Url());
    store.ensureTable(CTR_5MIN);
    store.ensureTable(FeatureDefinitions.CLICK_COUNTS.tilesTable());
    store.upsert(CTR_5MIN, List.of(
        new Object[] {"u7", T0, T0 + WINDOW, 12L, 1L, 0.0833, T0 + WINDOW + 7_000},
        new Object[] {"u2", T0 + WINDOW, T0 + 2 * WINDOW, 0L, 0L, null, NEWEST}));
    return store;
  }

  private void serve(OnlineStore store, StatusSettings settings) {
    app = FeatureServer.create(store, CLOCK, FeatureDefinitions.REGISTRY, settings).start("127.0.0.1", 0);
  }

  private static double value(List<PrometheusText.Sample> samples, String name, String... labels) {
    Map<String, String> wanted = new java.util.LinkedHashMap<>();
    for (int i = 0; i < labels.length; i += 2) {
      wanted.put(labels[i], labels[i + 1]);
    }
    return PrometheusText.value(samples, name, wanted);
  }

  private JsonNode json(String path) throws Exception {
    HttpResponse<String> response = get(path);
    assertThat(response.body(), response.statusCode(), is(200));
    return JSON.readTree(response.body());
  }

  private HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + app.port() + path);
  }
}
