package dev.clickstream.runners;

import static dev.clickstream.serving.PipelineMetricNames.COUNTER;
import static dev.clickstream.serving.PipelineMetricNames.CONSUMER_LAG;
import static dev.clickstream.serving.PipelineMetricNames.DEAD_LETTERS;
import static dev.clickstream.serving.PipelineMetricNames.DISTRIBUTION;
import static dev.clickstream.serving.PipelineMetricNames.EVENTS;
import static dev.clickstream.serving.PipelineMetricNames.FEATURE_ROWS;
import static dev.clickstream.serving.PipelineMetricNames.GAUGE;
import static dev.clickstream.serving.PipelineMetricNames.LATE_EVENTS;

import com.sun.net.httpserver.HttpServer;
import dev.clickstream.pipelines.MetricTotals;
import dev.clickstream.serving.PipelineMetricNames;
import dev.clickstream.transforms.CountDeadLetters;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.apache.beam.sdk.metrics.DistributionResult;

/**
 * A run's own {@code GET /metrics} page on 127.0.0.1 ({@code --metricsPort}): its Beam metrics as it runs, in
 * Prometheus' text format. Every counter, gauge and distribution under {@link PipelineMetricNames#COUNTER} and its
 * siblings, labelled with namespace and name, and these read off them: events parsed ({@code
 * ParseEvents/events_parsed}), dead letters by reason ({@link CountDeadLetters}), events too late by stage ({@code
 * STAGE/events_too_late}), rows per feature table ({@code TABLE/rows_out}) and, for a Kafka run, the consumer
 * group's lag. The write path is the namespace {@code WriteToOnlineStore}.
 */
final class RunMetricsEndpoint implements AutoCloseable {
  static final String PATH = "/metrics";
  private static final String EVENTS_PARSED = "ParseEvents/events_parsed";
  private static final String EVENTS_TOO_LATE = "events_too_late";
  private static final String ROWS_OUT = "rows_out";

  private final HttpServer server;

  private RunMetricsEndpoint(HttpServer server) {
    this.server = server;
  }

  /**
   * Serves {@code totals} (read at each request) and {@code lag} on 127.0.0.1:{@code port} (0 picks a free port);
   * a {@link UsageException} when the port is taken.
   */
  static RunMetricsEndpoint start(int port, Supplier<MetricTotals> totals, Supplier<OptionalLong> lag) {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    } catch (IOException e) {
      throw new UsageException("--metricsPort=" + port + ": cannot listen on 127.0.0.1:" + port + " ("
          + e.getMessage() + "); pick another port, or 0 for any free one");
    }
    server.createContext(PATH, exchange -> {
      try (exchange) {
        if (!exchange.getRequestMethod().equals("GET") || !exchange.getRequestURI().getPath().equals(PATH)) {
          exchange.sendResponseHeaders(404, -1);
          return;
        }
        byte[] body = exposition(totals.get(), lag.get()).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      } catch (RuntimeException e) {
        throw new UncheckedIOException(new IOException("cannot read the run's metrics", e));
      }
    });
    server.setExecutor(null); // the server's own thread: one scrape at a time is plenty
    server.start();
    return new RunMetricsEndpoint(server);
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + PATH);
  }

  @Override
  public void close() {
    server.stop(0);
  }

  /** The page: {@code totals} and {@code lag} in Prometheus' text format 0.0.4. */
  static String exposition(MetricTotals totals, OptionalLong lag) {
    StringBuilder page = new StringBuilder();
    Map<String, Long> counters = totals.counters();
    family(page, EVENTS, "counter", "events parsed and handed to the features");
    sample(page, EVENTS, "", counters.getOrDefault(EVENTS_PARSED, 0L));
    family(page, DEAD_LETTERS, "counter", "dead letters by reason");
    counters.forEach((key, value) -> {
      if (namespace(key).equals(CountDeadLetters.NAMESPACE)) {
        sample(page, DEAD_LETTERS, labels(PipelineMetricNames.REASON, name(key)), value);
      }
    });
    family(page, LATE_EVENTS, "counter", "events too late to change a feature, by stage");
    counters.forEach((key, value) -> {
      if (name(key).equals(EVENTS_TOO_LATE)) {
        sample(page, LATE_EVENTS, labels(PipelineMetricNames.STAGE, namespace(key)), value);
      }
    });
    family(page, FEATURE_ROWS, "counter", "rows computed per feature table");
    counters.forEach((key, value) -> {
      if (name(key).equals(ROWS_OUT)) {
        sample(page, FEATURE_ROWS, labels(PipelineMetricNames.TABLE, namespace(key)), value);
      }
    });
    if (lag.isPresent()) {
      family(page, CONSUMER_LAG, "gauge", "records of the topic the consumer group has not committed");
      sample(page, CONSUMER_LAG, "", lag.getAsLong());
    }
    family(page, COUNTER, "counter", "every Beam counter of the run");
    counters.forEach((key, value) -> sample(page, COUNTER, labels(key), value));
    family(page, GAUGE, "gauge", "every Beam gauge of the run, its latest value");
    totals.gauges().forEach((key, value) -> sample(page, GAUGE, labels(key), value));
    for (String part : new String[] {"count", "sum", "min", "max"}) {
      String name = DISTRIBUTION + "_" + part;
      family(page, name, "gauge", "every Beam distribution of the run: " + part);
      totals.distributions().forEach((key, value) -> sample(page, name, labels(key), part(value, part)));
    }
    return page.toString();
  }

  private static long part(DistributionResult distribution, String part) {
    switch (part) {
      case "count":
        return distribution.getCount();
      case "sum":
        return distribution.getSum();
      case "min":
        return distribution.getMin();
      default:
        return distribution.getMax();
    }
  }

  private static void family(StringBuilder page, String name, String type, String help) {
    page.append("# HELP ").append(name).append(' ').append(help).append('\n');
    page.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void sample(StringBuilder page, String name, String labels, long value) {
    page.append(name).append(labels).append(' ').append(String.format(Locale.ROOT, "%d", value)).append('\n');
  }

  private static String labels(String key) {
    return "{" + PipelineMetricNames.NAMESPACE + "=\"" + escape(namespace(key)) + "\"," + PipelineMetricNames.NAME
        + "=\"" + escape(name(key)) + "\"}";
  }

  private static String labels(String label, String value) {
    return "{" + label + "=\"" + escape(value) + "\"}";
  }

  private static String escape(String value) {
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  private static String namespace(String key) {
    return key.substring(0, key.lastIndexOf('/'));
  }

  private static String name(String key) {
    return key.substring(key.lastIndexOf('/') + 1);
  }
}
