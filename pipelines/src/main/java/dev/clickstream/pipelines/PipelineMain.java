package dev.clickstream.pipelines;

import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.flink.client.program.StreamContextEnvironment;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the pipelines' {@code main} methods run a job. On their own, or under Flink's {@code flink run}, they wait
 * for the job to end. Under {@code flink run -d} (detached) they hand the job to the cluster and return, as
 * Flink's CLI expects: Beam's default, attached execution, would fail there after the job was submitted.
 */
public final class PipelineMain {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineMain.class);

  private PipelineMain() {}

  public static PipelineResult run(Pipeline pipeline) {
    FlinkPipelineOptions flink = pipeline.getOptions().as(FlinkPipelineOptions.class);
    if (submittedDetachedByFlinkCli()) {
      flink.setAttachedMode(false);
    } else if (!(StreamExecutionEnvironment.getExecutionEnvironment() instanceof StreamContextEnvironment)) {
      // Run on its own, not under Flink's CLI: the embedded cluster listens on --flinkBindAddress only.
      EmbeddedFlink.bindTo(flink, pipeline.getOptions().as(ClickstreamOptions.class).getFlinkBindAddress());
    }
    PipelineResult result = pipeline.run();
    if (!flink.getAttachedMode()) {
      LOG.info("Submitted {} detached: it runs on the cluster until it is stopped or cancelled", flink.getJobName());
      return result;
    }
    PipelineResult.State state = result.waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      throw new IllegalStateException("the pipeline ended in state " + state);
    }
    return result;
  }

  /** Whether this main runs inside {@code flink run -d}: Flink's CLI installs a context environment for it. */
  static boolean submittedDetachedByFlinkCli() {
    StreamExecutionEnvironment environment = StreamExecutionEnvironment.getExecutionEnvironment();
    return environment instanceof StreamContextEnvironment
        && !environment.getConfiguration().get(DeploymentOptions.ATTACHED);
  }
}
