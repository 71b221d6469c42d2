package dev.clickstream.transforms;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;

/** Reads Beam counters from a finished pipeline, for tests. */
public final class PipelineCounters {
  private PipelineCounters() {}

  /**
   * The value of counter {@code namespace/name}, summed over every step that reports it; 0 when no step ever
   * incremented it (runners report no counter that was never incremented).
   *
   * <p>Uses the committed value where the runner has one. The Direct runner's attempted values are folded in
   * asynchronously and can read low right after {@code waitUntilFinish()} (seen here: 995 attempted against 1001
   * committed; see apache/beam#19816), so an exact assertion on them is flaky. Runners without committed metrics
   * (Flink) give the attempted value.
   */
  public static long value(PipelineResult result, String namespace, String name) {
    long total = 0;
    Iterable<MetricResult<Long>> counters =
        result
            .metrics()
            .queryMetrics(MetricsFilter.builder().addNameFilter(MetricNameFilter.named(namespace, name)).build())
            .getCounters();
    for (MetricResult<Long> counter : counters) {
      total += counter.hasCommitted() ? counter.getCommitted() : counter.getAttempted();
    }
    return total;
  }

  /** The values of {@code counters}, each named {@code namespace/name}, in the same order. */
  public static List<Long> values(PipelineResult result, String... counters) {
    List<Long> values = new ArrayList<>();
    for (String counter : counters) {
      int slash = counter.indexOf('/');
      values.add(value(result, counter.substring(0, slash), counter.substring(slash + 1)));
    }
    return values;
  }
}
