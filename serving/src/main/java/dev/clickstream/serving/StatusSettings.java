package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * How often the status page samples what it plots, and the {@code /metrics} pages of the pipeline runs it reads
 * (their events per second and dead letters). A zero interval takes a sample at each {@code GET /status.json} instead (tests).
 */
public record StatusSettings(Duration sampleEvery, List<URI> pipelineMetrics) {
  /** Every 2 seconds, no pipeline run. */
  public static final StatusSettings DEFAULT = new StatusSettings(Duration.ofSeconds(2), List.of());

  public StatusSettings {
    requireNonNull(sampleEvery, "sampleEvery");
    pipelineMetrics = List.copyOf(pipelineMetrics);
    if (sampleEvery.isNegative()) {
      throw new IllegalArgumentException("sampleEvery must not be negative, got " + sampleEvery);
    }
    for (URI uri : pipelineMetrics) {
      if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
        throw new IllegalArgumentException(
            "a pipeline run's metrics are at an http://HOST:PORT/metrics URL, such as http://127.0.0.1:9250/metrics;"
                + " got '" + uri + "'");
      }
    }
  }
}
