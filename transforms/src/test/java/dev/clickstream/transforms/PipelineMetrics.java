package dev.clickstream.transforms;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.GaugeResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;

/**
 * Reads Beam distributions and gauges from a finished pipeline, for tests; counters are {@link PipelineCounters}'.
 * Committed values where the runner has them, for the reason {@link PipelineCounters#value} gives.
 */
final class PipelineMetrics {
  private PipelineMetrics() {}

  /**
   * Distribution {@code namespace/name} as {@code [count, sum, min, max]}, merged over every step that reports it;
   * {@code [0, 0, 0, 0]} when none ever updated it. A list, so an assertion shows all four on failure.
   */
  static List<Long> distribution(PipelineResult result, String namespace, String name) {
    DistributionResult merged = null;
    for (MetricResult<DistributionResult> step : query(result, namespace, name).getDistributions()) {
      DistributionResult value = step.hasCommitted() ? step.getCommitted() : step.getAttempted();
      merged =
          merged == null
              ? value
              : DistributionResult.create(
                  merged.getSum() + value.getSum(),
                  merged.getCount() + value.getCount(),
                  Math.min(merged.getMin(), value.getMin()),
                  Math.max(merged.getMax(), value.getMax()));
    }
    if (merged == null) {
      return List.of(0L, 0L, 0L, 0L);
    }
    return List.of(merged.getCount(), merged.getSum(), merged.getMin(), merged.getMax());
  }

  /** The values of gauge {@code namespace/name}, one per step that reports it. */
  static List<Long> gauges(PipelineResult result, String namespace, String name) {
    List<Long> values = new ArrayList<>();
    for (MetricResult<GaugeResult> step : query(result, namespace, name).getGauges()) {
      values.add((step.hasCommitted() ? step.getCommitted() : step.getAttempted()).getValue());
    }
    return values;
  }

  private static MetricQueryResults query(PipelineResult result, String namespace, String name) {
    return result
        .metrics()
        .queryMetrics(MetricsFilter.builder().addNameFilter(MetricNameFilter.named(namespace, name)).build());
  }
}
