package dev.clickstream.pipelines;

import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.GaugeResult;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;

/**
 * A run's Beam metrics, each merged over the steps that report it and keyed {@code namespace/name}: counters summed,
 * distributions merged, gauges the latest value. Attempted values, so that a running job has them.
 */
public record MetricTotals(
    Map<String, Long> counters, Map<String, DistributionResult> distributions, Map<String, Long> gauges) {
  public static final MetricTotals NONE = new MetricTotals(Map.of(), Map.of(), Map.of());

  public MetricTotals {
    counters = Map.copyOf(counters);
    distributions = Map.copyOf(distributions);
    gauges = Map.copyOf(gauges);
  }

  /** The totals of what a runner's {@code PipelineResult.metrics()} answered. */
  public static MetricTotals of(MetricQueryResults results) {
    Map<String, Long> counters = new TreeMap<>();
    for (MetricResult<Long> counter : results.getCounters()) {
      counters.merge(key(counter), counter.getAttempted(), Long::sum);
    }
    Map<String, DistributionResult> distributions = new TreeMap<>();
    for (MetricResult<DistributionResult> distribution : results.getDistributions()) {
      if (distribution.getAttempted().getCount() > 0) {
        distributions.merge(key(distribution), distribution.getAttempted(), MetricTotals::merge);
      }
    }
    Map<String, Long> gauges = new TreeMap<>();
    Map<String, GaugeResult> latest = new TreeMap<>();
    for (MetricResult<GaugeResult> gauge : results.getGauges()) {
      latest.merge(key(gauge), gauge.getAttempted(),
          (a, b) -> a.getTimestamp().isAfter(b.getTimestamp()) ? a : b);
    }
    latest.forEach((key, gauge) -> gauges.put(key, gauge.getValue()));
    return new MetricTotals(counters, distributions, gauges);
  }

  /** The distribution of the values of both {@code a} and {@code b}. */
  public static DistributionResult merge(DistributionResult a, DistributionResult b) {
    return DistributionResult.create(a.getSum() + b.getSum(), a.getCount() + b.getCount(),
        Math.min(a.getMin(), b.getMin()), Math.max(a.getMax(), b.getMax()));
  }

  private static String key(MetricResult<?> result) {
    return result.getName().getNamespace() + "/" + result.getName().getName();
  }
}
