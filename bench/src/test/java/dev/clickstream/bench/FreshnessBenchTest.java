package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import dev.clickstream.runners.Launcher;
import org.junit.jupiter.api.Test;

/** {@code ./clickstream bench freshness} as a user calls it, up to the point where it would start Kafka and Flink. */
class FreshnessBenchTest {
  private final Launcher launcher = new Launcher();

  @Test
  void helpDescribesTheBenchmarkAndItsOptions() {
    assertThat(launcher.run("bench", "freshness", "--help"), equalTo(0));
    assertThat(launcher.stdout(), containsString("Usage: ./clickstream bench freshness [options] [-- BEAM_OPTIONS]"));
    assertThat(launcher.stdout(), containsString("--rate=N"));
    assertThat(launcher.stdout(), containsString("--bufferTimeout=DURATION"));
    assertThat(launcher.stdout(), containsString("--pipeline=NAME        all (default: every feature)"));
    assertThat(launcher.stdout(), containsString("--coolDown=N"));
    assertThat(launcher.stdout(), not(containsString("Usage: ./clickstream bench serving")));
    assertThat(launcher.stderr(), equalTo(""));
  }

  @Test
  void benchHelpListsEveryBenchmarkAndServingKeepsItsOwn() {
    assertThat(launcher.run("bench", "--help"), equalTo(0));
    assertThat(launcher.stdout(), containsString("Usage: ./clickstream bench serving"));
    assertThat(launcher.stdout(), containsString("Usage: ./clickstream bench freshness"));

    launcher.clearStdout();
    assertThat(launcher.run("bench", "serving", "--help"), equalTo(0));
    assertThat(launcher.stdout(), containsString("Usage: ./clickstream bench serving"));
    assertThat(launcher.stdout(), not(containsString("Usage: ./clickstream bench freshness")));

    assertThat(launcher.run("bench"), equalTo(2));
    assertThat(launcher.run("bench", "latency"), equalTo(2));
    assertThat(launcher.stderr(), containsString("bench: unknown benchmark 'latency'; available: serving, freshness"));
  }

  @Test
  void anUnknownFlagIsAUsageErrorThatNamesTheAllowedOnes() {
    assertThat(launcher.run("bench", "freshness", "--rat=5000"), equalTo(2));
    assertThat(launcher.stderr(), containsString("bench freshness: unknown flag --rat"));
    assertThat(launcher.stderr(), containsString("--rate"));
  }

  @Test
  void badValuesAreUsageErrors() {
    assertThat(launcher.run("bench", "freshness", "--rate=fast"), equalTo(2));
    assertThat(launcher.stderr(), containsString("bench freshness: --rate=fast is not a number"));

    assertThat(launcher.run("bench", "freshness", "--probeEvery=soon"), equalTo(2));
    assertThat(launcher.stderr(), containsString("bench freshness:"));
    assertThat(launcher.stderr(), containsString("soon"));

    assertThat(launcher.run("bench", "freshness", "--probeEvery=0"), equalTo(2));
    assertThat(launcher.stderr(), containsString("--probeEvery=0 must be at least 1 ms"));
  }

  @Test
  void aPipelineWithoutTheProbedClickCountsIsAUsageError() {
    assertThat(launcher.run("bench", "freshness", "--pipeline=ctr"), equalTo(2));
    assertThat(launcher.stderr(), containsString("bench freshness: --pipeline=ctr is not one it runs: the probes are"
        + " clicks read back from the click counts, so use all (every feature) or click-counts"));

    assertThat(launcher.run("bench", "freshness", "--speed=10"), equalTo(2));
    assertThat(launcher.stderr(), containsString("bench freshness: unknown flag --speed"));
  }

  @Test
  void beamOptionsTheBenchSetsItselfAreRefused() {
    assertThat(launcher.run("bench", "freshness", "--", "--maxRecords=10"), equalTo(2));
    assertThat(launcher.stderr(), containsString("bench freshness: --maxRecords is set by the bench"));
    assertThat(launcher.run("bench", "freshness", "--", "--features=ctr"), equalTo(2));
    assertThat(launcher.stderr(), containsString("bench freshness: --features is set by the bench"));

    assertThat(launcher.run("bench", "freshness", "--", "maxBundleSize=10"), equalTo(2));
    assertThat(launcher.stderr(), containsString("after --, Beam options look like --name=value; got 'maxBundleSize=10'"));
  }
}
