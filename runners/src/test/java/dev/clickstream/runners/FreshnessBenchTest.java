package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code ./clickstream bench freshness} as a user calls it, up to the point where it would start Kafka and Flink. */
class FreshnessBenchTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Clickstream.run(
        List.of(args),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String stdout() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void helpDescribesTheBenchmarkAndItsOptions() {
    assertThat(run("bench", "freshness", "--help"), equalTo(0));
    assertThat(stdout(), containsString("Usage: ./clickstream bench freshness [options] [-- BEAM_OPTIONS]"));
    assertThat(stdout(), containsString("--rate=N"));
    assertThat(stdout(), containsString("--bufferTimeout=DURATION"));
    assertThat(stdout(), not(containsString("Usage: ./clickstream bench serving")));
    assertThat(stderr(), equalTo(""));
  }

  @Test
  void benchHelpListsEveryBenchmarkAndServingKeepsItsOwn() {
    assertThat(run("bench", "--help"), equalTo(0));
    assertThat(stdout(), containsString("Usage: ./clickstream bench serving"));
    assertThat(stdout(), containsString("Usage: ./clickstream bench freshness"));

    out.reset();
    assertThat(run("bench", "serving", "--help"), equalTo(0));
    assertThat(stdout(), containsString("Usage: ./clickstream bench serving"));
    assertThat(stdout(), not(containsString("Usage: ./clickstream bench freshness")));

    assertThat(run("bench"), equalTo(2));
    assertThat(run("bench", "latency"), equalTo(2));
    assertThat(stderr(), containsString("bench: unknown benchmark 'latency'; available: serving, freshness"));
  }

  @Test
  void anUnknownFlagIsAUsageErrorThatNamesTheAllowedOnes() {
    assertThat(run("bench", "freshness", "--rat=5000"), equalTo(2));
    assertThat(stderr(), containsString("bench freshness: unknown flag --rat"));
    assertThat(stderr(), containsString("--rate"));
  }

  @Test
  void badValuesAreUsageErrors() {
    assertThat(run("bench", "freshness", "--rate=fast"), equalTo(2));
    assertThat(stderr(), containsString("bench freshness: --rate=fast is not a number"));

    assertThat(run("bench", "freshness", "--probeEvery=soon"), equalTo(2));
    assertThat(stderr(), containsString("bench freshness:"));
    assertThat(stderr(), containsString("soon"));

    assertThat(run("bench", "freshness", "--probeEvery=0"), equalTo(2));
    assertThat(stderr(), containsString("--probeEvery=0 must be at least 1 ms"));
  }

  @Test
  void beamOptionsTheBenchSetsItselfAreRefused() {
    assertThat(run("bench", "freshness", "--", "--maxRecords=10"), equalTo(2));
    assertThat(stderr(), containsString("bench freshness: --maxRecords is set by the bench"));

    assertThat(run("bench", "freshness", "--", "maxBundleSize=10"), equalTo(2));
    assertThat(stderr(), containsString("after --, Beam options look like --name=value; got 'maxBundleSize=10'"));
  }
}
