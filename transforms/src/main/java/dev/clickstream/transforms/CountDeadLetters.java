package dev.clickstream.transforms;

import dev.clickstream.schemas.DeadLetter;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;

/**
 * Counts a job's dead letters by reason, in the counter {@value #NAMESPACE}/{@code <reason>}, and passes them on
 * unchanged: one place that sees every dead letter, whichever step made it, so that a run's metrics can show them
 * by reason ({@code clickstream_pipeline_dead_letters_total}). Counts are per bundle attempt, like every Beam metric.
 */
public final class CountDeadLetters extends PTransform<PCollection<DeadLetter>, PCollection<DeadLetter>> {
  public static final String NAMESPACE = "DeadLetters";

  private CountDeadLetters() {}

  public static CountDeadLetters byReason() {
    return new CountDeadLetters();
  }

  @Override
  public PCollection<DeadLetter> expand(PCollection<DeadLetter> deadLetters) {
    return deadLetters.apply("CountByReason", ParDo.of(new CountFn())).setCoder(deadLetters.getCoder());
  }

  private static final class CountFn extends DoFn<DeadLetter, DeadLetter> {
    private transient Map<String, Long> counts;

    @StartBundle
    public void startBundle() {
      counts = new HashMap<>();
    }

    @ProcessElement
    public void process(@Element DeadLetter deadLetter, OutputReceiver<DeadLetter> out) {
      counts.merge(String.valueOf(deadLetter.getReason()), 1L, Long::sum);
      out.output(deadLetter);
    }

    @FinishBundle
    public void finishBundle() {
      counts.forEach((reason, count) -> Metrics.counter(NAMESPACE, reason).inc(count));
    }
  }
}
