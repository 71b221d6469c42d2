package dev.clickstream.pipelines;

import java.util.Map;
import java.util.Properties;
import java.util.Set;
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
  /** The operators of the latest job that have set up. */
  private static final Set<String> STARTED = ConcurrentHashMap.newKeySet();
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
    String operator = variables.get(OPERATOR);
    if (operator == null) {
      return; // the JobManager's and TaskManagers' own metrics
    }
    String jobId = variables.get(JOB_ID);
    int dot = name.lastIndexOf('.');
    synchronized (FlinkMetricsReporter.class) {
      if (jobId != null && !jobId.equals(job)) {
        job = jobId; // a new job: the previous one's metrics are no longer this run's
        LIVE.clear();
        RETIRED.clear();
        STARTED.clear();
      }
      // An operator registers Flink's metrics as its task sets up, before any element: it has started.
      STARTED.add(operator);
      if (dot > 0) {
        // Beam's, named namespace.name; Flink's own have no dot.
        LIVE.put(metric, name.substring(0, dot) + "/" + name.substring(dot + 1));
      }
    }
  }

  /** The id of the latest embedded job that has an operator set up; null before any. */
  public static String latestJob() {
    return job;
  }

  /**
   * Whether the latest embedded job, if it is not {@code previousJob} (null: any job), has set up an operator whose
   * name contains {@code operatorName}: its task is running or about to, so what it reads will be processed as it
   * arrives.
   */
  public static boolean hasStarted(String previousJob, String operatorName) {
    synchronized (FlinkMetricsReporter.class) {
      return job != null && !job.equals(previousJob)
          && STARTED.stream().anyMatch(operator -> operator.contains(operatorName));
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
