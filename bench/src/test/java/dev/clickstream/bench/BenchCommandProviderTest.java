package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.runners.ClickstreamCommand;
import dev.clickstream.runners.Launcher;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/**
 * The launcher in runners reaches {@code bench} through {@link ServiceLoader} when this module's jar is on its
 * classpath.
 */
class BenchCommandProviderTest {
  private final Launcher launcher = new Launcher();

  @Test
  void theServicesFileRegistersTheBenchCommand() {
    assertThat(
        ServiceLoader.load(ClickstreamCommand.class).stream().map(ServiceLoader.Provider::type).toList(),
        contains(BenchCommandProvider.class));
    assertThat(new BenchCommandProvider().name(), equalTo("bench"));
  }

  @Test
  void theLauncherDispatchesBenchHelpToThisModule() {
    assertThat(launcher.run("bench", "--help"), equalTo(0));
    assertThat(launcher.stdout(), equalTo(BenchCommand.HELP + "\n\n" + FreshnessBench.HELP + "\n\n" + PipelineBench.HELP
        + "\n\n" + StateBench.HELP + "\n\n" + CorrectionBench.HELP + "\n"));
    assertThat(launcher.stderr(), equalTo(""));
  }

  @Test
  void anUnknownBenchmarkIsAUsageErrorFromThisModule() {
    assertThat(launcher.run("bench", "throughput"), equalTo(2));
    assertThat(launcher.stderr(), equalTo(
        "error: bench: unknown benchmark 'throughput'; available: serving, freshness, pipeline, state, correction\n"));
  }
}
