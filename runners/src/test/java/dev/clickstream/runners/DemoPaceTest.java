package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class DemoPaceTest {
  @Test
  void aJobWithinBothTargetsKeptUp() {
    assertThat(DemoPace.verdict("click_counts", Duration.ofMillis(1_950), Duration.ofMillis(5_000)),
        equalTo("Pace: the first click_counts rows were servable 2.0 s after the first event: kept up (target 2.0 s);\n"
            + "      the job ended 5.0 s after the last event was produced, every window closed and written: kept up"
            + " (target 5.0 s)."));
  }

  @Test
  void aJobPastEitherTargetIsBehindAndToldWhatToDo() {
    String tail = "\n      A busy machine slows the job: see docs/benchmarks.md (the demo) for its figures, or lower"
        + " --rate.";
    assertThat(DemoPace.verdict("click_counts", Duration.ofMillis(2_001), Duration.ofMillis(4_000)),
        equalTo("Pace: the first click_counts rows were servable 2.0 s after the first event: behind (target 2.0 s);\n"
            + "      the job ended 4.0 s after the last event was produced, every window closed and written: kept up"
            + " (target 5.0 s)." + tail));
    assertThat(DemoPace.verdict("click_counts", null, Duration.ofMillis(5_100)),
        equalTo("Pace: no click_counts row was seen while the job ran: behind (target 2.0 s);\n"
            + "      the job ended 5.1 s after the last event was produced, every window closed and written: behind"
            + " (target 5.0 s)." + tail));
  }

  @Test
  void theFirstRowsAreTimedFromTheFirstSendToThePollThatSawThem() throws Exception {
    AtomicLong clock = new AtomicLong(1_000_000_000L);
    AtomicBoolean stored = new AtomicBoolean();
    DemoPace pace = new DemoPace(clock::get);
    pace.producingStarts(stored::get);
    clock.addAndGet(700_000_000L);
    stored.set(true);
    // The clock moves on only once the watcher has seen the rows and taken its time.
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (!pace.hasSeenFirstRows() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    clock.addAndGet(9_300_000_000L);
    pace.producerEnded();
    clock.addAndGet(3_200_000_000L);
    pace.jobEnded();
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    pace.print("click_counts", new PrintStream(printed, true, StandardCharsets.UTF_8));
    assertThat(printed.toString(StandardCharsets.UTF_8),
        equalTo(DemoPace.verdict("click_counts", Duration.ofMillis(700), Duration.ofMillis(3_200))
            + System.lineSeparator()));
  }
}
