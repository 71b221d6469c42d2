package dev.clickstream.pipelines;

import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.GaugeResult;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * A Flink metric reporter that keeps the Beam metrics of embedded Flink's jobs in this JVM, so that a run can
 * export them while it runs ({@code ./clickstream run --metricsPort=N}): the Flink runner only hands Beam its
 * metrics when a job ends, but registers them with Flink's metric system as it goes, as {@code namespace.name}
 * in each operator's group, updated at the end of each bundle.
 *
 * <p>{@link EmbeddedFlink} configures it for every embedded cluster. It keeps the job seen last: a counter of a task
 * that finished keeps counting in its totals, so a bounded job's totals do not fall as its tasks end. A job on a
 * cluster reports on the cluster's own reporters instead.
 */
public final class FlinkMetricsReporter implements MetricReporter {
  private static final String JOB_ID = "<job_id>";
  private static final String OPERATOR = "<operator_name>";

  /** The metrics of the latest job: each live Flink metric with its {@code namespace/name}. */
  private static final Map<Metric, String> LIVE = new ConcurrentHashMap<>();
  /** The final counts of counters of the latest job whose tasks ended. */
  private static final Map<String, Long> RETIRED = new ConcurrentHashMap<>();
  private static volatile String job;

  /** How Flink finds the reporter: {@code metrics.reporter.NAME.factory.class} names this class. */
  public static final class Factory implements MetricReporterFactory {
    @Override
    public MetricReporter createMetricReporter(Properties properties) {
      return new FlinkMetricsReporter();
    }
  }

  @Override
  public void open(MetricConfig config) {}

  @Override
  public void close() {}

  @Override
  public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
    Map<String, String> variables = group.getAllVariables();
    int dot = name.lastIndexOf('.');
    if (!variables.containsKey(OPERATOR) || dot <= 0) {
      return; // Flink's own metrics: Beam's are named namespace.name in an operator's group
    }
    String jobId = variables.get(JOB_ID);
    synchronized (FlinkMetricsReporter.class) {
      if (jobId != null && !jobId.equals(job)) {
        job = jobId; // a new job: the previous one's metrics are no longer this run's
        LIVE.clear();
        RETIRED.clear();
      }
      LIVE.put(metric, name.substring(0, dot) + "/" + name.substring(dot + 1));
    }
  }

  @Override
  public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
    synchronized (FlinkMetricsReporter.class) {
      String key = LIVE.remove(metric);
      if (key != null && metric instanceof Counter counter) {
        RETIRED.merge(key, counter.getCount(), Long::sum);
      }
    }
  }

  /** The latest embedded job's Beam metrics now; {@link MetricTotals#NONE} before any. */
  public static MetricTotals totals() {
    Map<String, Long> counters = new TreeMap<>();
    Map<String, DistributionResult> distributions = new TreeMap<>();
    Map<String, Long> gauges = new TreeMap<>();
    synchronized (FlinkMetricsReporter.class) {
      counters.putAll(RETIRED);
      LIVE.forEach((metric, key) -> {
        if (metric instanceof Counter counter) {
          counters.merge(key, counter.getCount(), Long::sum);
        } else if (metric instanceof Gauge<?> gauge) {
          Object value = gauge.getValue();
          if (value instanceof DistributionResult distribution && distribution.getCount() > 0) {
            distributions.merge(key, distribution, MetricTotals::merge);
          } else if (value instanceof GaugeResult latest) {
            gauges.put(key, latest.getValue());
          }
        }
      });
    }
    return new MetricTotals(counters, distributions, gauges);
  }
}
