package dev.clickstream.runners;

import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.serving.FeatureServer;
import dev.clickstream.serving.StatusSettings;
import dev.clickstream.store.OnlineStore;
import io.javalin.Javalin;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** {@code ./clickstream serve}: the HTTP feature server over the online store, until Ctrl-C. */
public final class ServeCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream serve [options]",
          "",
          "Serves feature vectors from the online store over HTTP until stopped with Ctrl-C.",
          "",
          "  --onlineStore=JDBC_URL   default " + ClickstreamOptions.DEFAULT_ONLINE_STORE,
          "  --host=HOST              interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
          "  --port=N                 default 8080",
          "  --pipelineMetrics=URL    the /metrics page of a pipeline run (run --metricsPort=N), whose events/s and",
          "                           dead letters GET /status plots; several separated by commas",
          "",
          "Endpoints (GET / lists them all, with every feature view):",
          "  GET  /features/ctr_5min/{user_id}                       latest 5-minute CTR window",
          "  GET  /features/click_counts/{user_id}                   click counts, pre-computed",
          "  GET  /features/click_counts_on_demand/{user_id}?as_of=MS  computed from click_events now",
          "  GET  /features/click_counts_tiled/{user_id}?as_of=MS      from click_tiles plus edge events",
          "  POST /features/{view}  with a JSON list of user ids     one result per id",
          "  GET  /vectors/{service}/{id}, POST /vectors/{service}   a feature service's vector (ranking_v1)",
          "  GET  /registry                                          every view and service, as declared",
          "  GET  /health",
          "  GET  /metrics                                           Prometheus text: requests, lookups, store, freshness",
          "  GET  /status                                            a page plotting them, refreshing itself",
          "",
          "A pre-computed row older than its view's max_age is served with status stale; click_counts is",
          "answered as of now. ./clickstream get VIEW ID prints vectors from a running server.");

  private static final Set<String> FLAGS = Set.of("onlineStore", "host", "port", "pipelineMetrics");

  private ServeCommand() {}

  static int run(List<String> args, PrintStream out) throws InterruptedException {
    Flags flags = Flags.parse("serve", args, FLAGS);
    String host = flags.string("host", "127.0.0.1");
    int port = (int) flags.longValue("port", 8080, 0, 65_535);
    OnlineStore store = servingStore(flags.string("onlineStore", ClickstreamOptions.DEFAULT_ONLINE_STORE));
    Javalin server = start(store, host, port, statusSettings(flags.string("pipelineMetrics", "")));
    out.printf("Serving features from %s on http://%s:%d/ (Ctrl-C stops)%n", store.redactedUrl(), host, server.port());
    out.printf("Try: curl http://%s:%d/features/ctr_5min/u0%n", host, server.port());
    out.printf("Status page: http://%s:%d/status (metrics for Prometheus at /metrics)%n", host, server.port());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.stop();
      stopped.countDown();
    }, "stop-feature-server"));
    stopped.await();
    return 0;
  }

  public static OnlineStore onlineStore(String url) {
    try {
      return OnlineStore.forUrl(url);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /**
   * The store the server reads: a read waits at most 500 ms for a connection, so that a store that is down is a quick
   * 503 ({@link OnlineStore#forServing}).
   */
  static OnlineStore servingStore(String url) {
    try {
      return OnlineStore.forServing(url);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  public static Javalin start(OnlineStore store, String host, int port) {
    return start(store, host, port, StatusSettings.DEFAULT);
  }

  /** {@link #start(OnlineStore, String, int)} whose status page samples as {@code status} says. */
  public static Javalin start(OnlineStore store, String host, int port, StatusSettings status) {
    try {
      return FeatureServer.create(store, Clock.systemUTC(), FeatureDefinitions.REGISTRY, status).start(host, port);
    } catch (RuntimeException e) {
      throw new UsageException(
          "cannot listen on " + host + ":" + port + " (" + rootMessage(e) + "); pick another with --port=N");
    }
  }

  /** The status page's settings for {@code --pipelineMetrics}: URLs separated by commas, or none. */
  static StatusSettings statusSettings(String pipelineMetrics) {
    List<URI> runs = new ArrayList<>();
    for (String url : pipelineMetrics.split(",")) {
      if (!url.isBlank()) {
        try {
          runs.add(new URI(url.strip()));
        } catch (URISyntaxException e) {
          throw new UsageException("--pipelineMetrics: '" + url + "' is not a URL (" + e.getReason()
              + "); give the run's http://127.0.0.1:PORT/metrics");
        }
      }
    }
    try {
      return new StatusSettings(StatusSettings.DEFAULT.sampleEvery(), runs);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--pipelineMetrics: " + e.getMessage());
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable cause = e;
    while (cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.getMessage();
  }
}
