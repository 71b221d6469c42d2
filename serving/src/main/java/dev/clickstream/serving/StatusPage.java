package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.store.OnlineStore;
import io.javalin.http.BadRequestResponse;
import io.javalin.http.ContentType;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /status}: one self-contained HTML page (inline script and style, nothing fetched from elsewhere, as
 * deployments are often offline) that plots, from {@code GET /status.json} which it polls:
 *
 * <ul>
 *   <li>requests per second and p99 latency per view, from {@link ServerMetrics}' recorders;
 *   <li>the age of each view's newest row ({@link ViewFreshness});
 *   <li>each drift monitor's PSI and KS per evaluated window, with its thresholds, as {@code /drift} shows them;
 *   <li>each pipeline run's events per second and its dead letters by reason, read from the run's own {@code
 *       /metrics} page ({@code ./clickstream run --metricsPort=N}, given to the server as {@code
 *       --pipelineMetrics=URL}).
 * </ul>
 *
 * <p>A sampler thread takes one sample of everything every {@link StatusSettings#sampleEvery()} and keeps the latest
 * {@value #MAX_POINTS}; the server holds them in memory only, so a restarted server starts its plots anew, and drift
 * shows the windows evaluated while it ran (the first one it finds included).
 */
final class StatusPage {
  private static final Logger LOG = LoggerFactory.getLogger(StatusPage.class);
  /** Points kept per series: 10 minutes at the default sampling. */
  static final int MAX_POINTS = 300;
  /** The query parameter that keeps only the latest N points of each series. */
  static final String POINTS = "points";
  private static final Duration SCRAPE_TIMEOUT = Duration.ofSeconds(1);

  /** Up to {@value #MAX_POINTS} points, each a time (epoch ms) and values; oldest first. */
  private static final class Series {
    private final Deque<Object[]> points = new ArrayDeque<>();

    void add(Object... point) {
      if (points.size() == MAX_POINTS) {
        points.removeFirst();
      }
      points.addLast(point);
    }

    Object last(int index) {
      return points.isEmpty() ? null : points.getLast()[index];
    }

    /** The latest {@code limit} points as columns: {@code names[i]} holds every point's value {@code i}. */
    Map<String, Object> columns(int limit, String... names) {
      List<Object[]> kept = new ArrayList<>(points);
      kept = kept.subList(Math.max(0, kept.size() - limit), kept.size());
      Map<String, Object> columns = new LinkedHashMap<>();
      for (int i = 0; i < names.length; i++) {
        List<Object> column = new ArrayList<>(kept.size());
        for (Object[] point : kept) {
          column.add(point[i]);
        }
        columns.put(names[i], column);
      }
      return columns;
    }
  }

  /** A pipeline run whose /metrics page the sampler reads. */
  private static final class Run {
    final URI uri;
    final Series eventsPerSecond = new Series();
    Map<String, Double> deadLetters = Map.of();
    double events = Double.NaN;
    long sampledAtNanos;
    String error;

    Run(URI uri) {
      this.uri = uri;
    }
  }

  private final ServerMetrics metrics;
  private final ViewFreshness freshness;
  private final FeatureLookup lookup;
  private final List<DriftMonitor> monitors;
  private final Clock clock;
  private final StatusSettings settings;
  private final HttpClient http;
  private final String html;
  private final Map<String, Series> lookups = new TreeMap<>();
  /** Each view's previous interval histogram, handed back to its recorder to fill next. */
  private final Map<String, Histogram> recycled = new HashMap<>();
  private final Map<String, Series> ages = new TreeMap<>();
  private final Map<String, Series> drift = new LinkedHashMap<>();
  private final List<Run> runs = new ArrayList<>();
  private ScheduledExecutorService sampler;
  private long lastSampleNanos;

  StatusPage(
      OnlineStore store, StoreBreaker breaker, FeatureViews views, FeatureLookup lookup, FeatureRegistry registry,
      Clock clock, StatusSettings settings) {
    this.freshness = new ViewFreshness(store, new StoreBreaker(clock), clock, views);
    this.metrics = new ServerMetrics(store, views, freshness);
    breaker.timeReadsWith(metrics::storeRead);
    this.lookup = requireNonNull(lookup, "lookup");
    this.monitors = registry.ofKind(DriftMonitor.class);
    this.clock = requireNonNull(clock, "clock");
    this.settings = requireNonNull(settings, "settings");
    settings.pipelineMetrics().forEach(uri -> runs.add(new Run(uri)));
    this.http = HttpClient.newBuilder().connectTimeout(SCRAPE_TIMEOUT).build();
    this.html = resource("status.html");
    this.lastSampleNanos = System.nanoTime();
  }

  /** The endpoints of operations: metrics, the status page and its data. */
  List<FeatureServer.Route> routes() {
    return List.of(
        new FeatureServer.Route(HandlerType.GET, "/metrics",
            "the server's metrics in Prometheus' text format: requests by view and status, lookups by entity status,"
                + " store reads, the pool, each view's newest row age", this::metrics),
        new FeatureServer.Route(HandlerType.GET, "/status",
            "a page plotting requests/s and p99 per view, freshness, drift, dead letters and pipeline events/s;"
                + " refreshes itself", this::page),
        new FeatureServer.Route(HandlerType.GET, "/status.json",
            "what /status plots, each series cut to its latest ?" + POINTS + "=N points", this::json));
  }

  /** Javalin's request logger: every request's time, route, view and status, into the metrics. */
  void request(Context ctx, Float executionMillis) {
    metrics.request(ctx, executionMillis);
  }

  /** Starts sampling, unless the settings say to sample at each {@code /status.json} request. */
  void start() {
    if (settings.sampleEvery().isZero()) {
      return;
    }
    sampler = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "status-page-sampler");
      thread.setDaemon(true);
      return thread;
    });
    long every = settings.sampleEvery().toMillis();
    sampler.scheduleWithFixedDelay(this::sampleLogged, every, every, TimeUnit.MILLISECONDS);
  }

  void stop() {
    if (sampler != null) {
      sampler.shutdownNow();
    }
  }

  /** {@code GET /status}. */
  void page(Context ctx) {
    ctx.contentType(ContentType.TEXT_HTML).result(html);
  }

  /**
   * {@code GET /status.json[?points=N]}: every series, each cut to its latest N points (default all); with a zero
   * sampling interval, each request takes a sample first.
   */
  void json(Context ctx) {
    int points = points(ctx);
    if (settings.sampleEvery().isZero()) {
      sample();
    }
    ctx.json(snapshot(points));
  }

  /** {@code GET /metrics}. */
  void metrics(Context ctx) {
    ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape());
  }

  private static int points(Context ctx) {
    String given = ctx.queryParam(POINTS);
    if (given == null) {
      return MAX_POINTS;
    }
    try {
      int points = Integer.parseInt(given);
      if (points >= 1 && points <= MAX_POINTS) {
        return points;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw new BadRequestResponse("?" + POINTS + "= must be a whole number from 1 to " + MAX_POINTS + ", got '"
        + given + "'");
  }

  private void sampleLogged() {
    try {
      sample();
    } catch (RuntimeException e) { // a sample that fails must not end the sampling
      LOG.warn("status page: a sample failed", e);
    }
  }

  /** Takes one sample of everything the page plots. */
  synchronized void sample() {
    long now = clock.millis();
    long nanos = System.nanoTime();
    double seconds = Math.max(1e-3, (nanos - lastSampleNanos) / 1e9);
    lastSampleNanos = nanos;
    for (Map.Entry<String, Recorder> view : metrics.viewLatencies().entrySet()) {
      Histogram interval = view.getValue().getIntervalHistogram(recycled.remove(view.getKey()));
      recycled.put(view.getKey(), interval);
      long count = interval.getTotalCount();
      Series series = lookups.get(view.getKey());
      if (count == 0 && series == null) {
        continue; // a view nobody asked for stays off the plot
      }
      series = lookups.computeIfAbsent(view.getKey(), name -> new Series());
      series.add(now, count / seconds, count == 0 ? null : interval.getValueAtPercentile(99) / 1e3);
    }
    for (ViewFreshness.Source source : freshness.sources()) {
      double age = freshness.ageSeconds(source.view());
      if (!Double.isNaN(age)) {
        ages.computeIfAbsent(source.view(), name -> new Series()).add(now, age);
      }
    }
    sampleDrift();
    for (Run run : runs) {
      sampleRun(run, now, nanos);
    }
  }

  private void sampleDrift() {
    List<Map<String, Object>> evaluations;
    try {
      evaluations = lookup.driftStatus();
    } catch (RuntimeException e) { // the store is down: no new point
      return;
    }
    for (Map<String, Object> evaluation : evaluations) {
      Object windowEnd = evaluation.get(TumblingAggregation.WINDOW_END);
      Object psi = evaluation.get(DriftMonitor.PSI);
      if (windowEnd == null || psi == null) {
        continue; // not evaluated yet, or without enough data
      }
      Series series = drift.computeIfAbsent((String) evaluation.get(DriftMonitor.FEATURE), name -> new Series());
      if (!windowEnd.equals(series.last(0))) {
        series.add(windowEnd, psi, evaluation.get(DriftMonitor.KS), evaluation.get(DriftMonitor.STATUS));
      }
    }
  }

  private void sampleRun(Run run, long now, long nanos) {
    List<PrometheusText.Sample> samples;
    try {
      HttpResponse<String> response = http.send(
          HttpRequest.newBuilder(run.uri).timeout(SCRAPE_TIMEOUT).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IOException("HTTP " + response.statusCode());
      }
      samples = PrometheusText.parse(response.body());
    } catch (IOException | IllegalArgumentException e) {
      run.error = "cannot read " + run.uri + ": " + e.getMessage();
      run.events = Double.NaN;
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    run.error = null;
    double events = 0;
    Map<String, Double> deadLetters = new TreeMap<>();
    for (PrometheusText.Sample sample : samples) {
      if (sample.name().equals(PipelineMetricNames.EVENTS)) {
        events += sample.value();
      } else if (sample.name().equals(PipelineMetricNames.DEAD_LETTERS)) {
        deadLetters.merge(sample.label(PipelineMetricNames.REASON), sample.value(), Double::sum);
      }
    }
    if (!Double.isNaN(run.events)) {
      double seconds = Math.max(1e-3, (nanos - run.sampledAtNanos) / 1e9);
      run.eventsPerSecond.add(now, Math.max(0, events - run.events) / seconds);
    }
    run.events = events;
    run.sampledAtNanos = nanos;
    run.deadLetters = deadLetters;
  }

  private synchronized Map<String, Object> snapshot(int points) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("generated_at", clock.millis());
    body.put("sample_ms", settings.sampleEvery().toMillis());
    Map<String, Object> views = new LinkedHashMap<>();
    lookups.forEach((view, series) -> views.put(view, series.columns(points, "time", "requests_per_second",
        "p99_ms")));
    body.put("lookups", views);
    Map<String, Object> freshnessByView = new LinkedHashMap<>();
    ages.forEach((view, series) -> freshnessByView.put(view, series.columns(points, "time", "age_seconds")));
    body.put("freshness", freshnessByView);
    List<Map<String, Object>> driftSeries = new ArrayList<>();
    for (DriftMonitor monitor : monitors) {
      Series series = drift.get(monitor.name());
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("feature", monitor.name());
      entry.put("psi_threshold", monitor.psiThreshold());
      entry.put("ks_threshold", monitor.ksThreshold());
      entry.putAll((series == null ? new Series() : series).columns(points, "window_end", "psi", "ks", "status"));
      driftSeries.add(entry);
    }
    body.put("drift", driftSeries);
    List<Map<String, Object>> pipelines = new ArrayList<>();
    Map<String, Double> deadLetters = new TreeMap<>();
    for (Run run : runs) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("metrics", run.uri.toString());
      entry.put("up", run.error == null && !Double.isNaN(run.events));
      if (run.error != null) {
        entry.put("error", run.error);
      }
      entry.putAll(run.eventsPerSecond.columns(points, "time", "events_per_second"));
      entry.put("dead_letters", run.deadLetters);
      run.deadLetters.forEach((reason, count) -> deadLetters.merge(reason, count, Double::sum));
      pipelines.add(entry);
    }
    body.put("pipelines", pipelines);
    body.put("dead_letters", deadLetters);
    return body;
  }

  private static String resource(String name) {
    try (InputStream in = StatusPage.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the status page " + name + " is missing from the server's jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the status page " + name, e);
    }
  }
}
