package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.runners.UsageException;
import dev.clickstream.schemas.ClickEvent;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code bench pipeline} on a small run: every run computes exactly what a plain-Java count of the same events gives,
 * the stores hold one row per user, and the figures are printed. (Its speed is measured by running it, never asserted here.)
 */
class PipelineBenchTest {
  private static final long EVENTS = 20_000;
  private static final int USERS = 300;
  private static final long SPAN = 2 * 3_600_000L;

  @Test
  void everyRunComputesWhatAPlainCountOfTheSameEventsGives() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    int exit = PipelineBench.run(
        List.of("--events=" + EVENTS, "--warmup=0", "--users=" + USERS, "--span=2h"), out);

    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertThat(printed, exit, equalTo(0));
    Set<String> userWindows = new HashSet<>();
    Set<String> usersWithCtrEvents = new HashSet<>();
    Set<String> usersWithClicks = new HashSet<>();
    long impressions = 0;
    long clicks = 0;
    for (long i = 0; i < EVENTS; i++) {
      ClickEvent event = PipelineBench.event(i, EVENTS, USERS, SPAN);
      String type = event.getEventType();
      if (type.equals("impression") || type.equals("click")) {
        userWindows.add(event.getUserId() + "@" + Math.floorDiv(event.getTimestamp(), 300_000L));
        usersWithCtrEvents.add(event.getUserId());
        impressions += type.equals("impression") ? 1 : 0;
      }
      if (type.equals("click")) {
        clicks++;
        usersWithClicks.add(event.getUserId());
      }
    }
    // ctr, ctr-stores, native, ctr-kafka and native-kafka each print the CTR rows and their sums; both rolling runs
    // the clicks they got.
    assertThat(occurrences(printed, String.format(Locale.ROOT, "rows %,d (impressions %,d, clicks %,d)",
        userWindows.size(), impressions, clicks)), equalTo(5));
    assertThat(occurrences(printed, String.format(Locale.ROOT, "(clicks in %,d)", clicks)), equalTo(2));
    // The stores hold one row per user: the latest window, the latest rolling counts.
    assertThat(printed, containsString(String.format(Locale.ROOT,
        "online store: %,d rows in ctr_5min, 0 dead letters", usersWithCtrEvents.size())));
    assertThat(printed, containsString(String.format(Locale.ROOT,
        "online store: %,d rows in click_counts, 0 dead letters", usersWithClicks.size())));
    for (String run : List.of("ctr", "ctr-stores", "rolling", "rolling-stores")) {
      assertThat(printed, containsString("ratio " + run + "/native: "));
    }
    assertThat(printed, containsString("ratio ctr-kafka/native-kafka: "));
    // Every record of the topic was an event: none went to the dead letters.
    assertThat(printed, containsString("\n                 0 dead letters\n"));
    assertThat(printed, containsString("Every run compared computed what its native run computed"));
  }

  @Test
  void runsAreChosenByName() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    int exit = PipelineBench.run(List.of("--events=1000", "--warmup=0", "--users=10", "--runs=rolling"), out);

    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertThat(printed, exit, equalTo(0));
    assertThat(printed, containsString("runs: rolling\n"));
    assertThat(printed, containsString("No ratio for rolling: native did not run."));
    UsageException unknown = assertThrows(UsageException.class,
        () -> PipelineBench.run(List.of("--runs=ctr,fast"), out));
    assertThat(unknown.getMessage(), equalTo(
        "bench pipeline: --runs takes ctr, ctr-stores, rolling, rolling-stores, native, ctr-kafka, native-kafka,"
            + " all-stream, counts-stream, native-stream; got 'fast'"));
  }

  @Test
  void roundsRepeatTheRunsAndGiveTheMedianRatio() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    int exit = PipelineBench.run(
        List.of("--events=1000", "--warmup=0", "--users=10", "--runs=rolling,native", "--rounds=3"), out);

    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertThat(printed, exit, equalTo(0));
    for (int round = 1; round <= 3; round++) {
      assertThat(printed, containsString("Running rolling (round " + round + " of 3) ...\n"));
      assertThat(printed, containsString("Running native (round " + round + " of 3) ...\n"));
    }
    assertThat(printed, matchesPattern(
        "(?s).*\nratio rolling/native: \\d+\\.\\d\\d, the median of \\d+\\.\\d\\d, \\d+\\.\\d\\d, \\d+\\.\\d\\d\n.*"));
    UsageException none = assertThrows(UsageException.class, () -> PipelineBench.run(List.of("--rounds=0"), out));
    assertThat(none.getMessage(), equalTo("bench pipeline: --rounds=0 must be between 1 and 100"));
  }

  @Test
  void theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
    assertThat(PipelineBench.median(List.of(0.9, 1.2, 1.0)), equalTo(1.0));
    assertThat(PipelineBench.median(List.of(1.0, 0.5, 2.0, 4.0)), equalTo(1.5));
  }

  private static int occurrences(String text, String part) {
    return text.split(Pattern.quote(part), -1).length - 1;
  }

  @Test
  void eventsArePureFunctionsOfTheirIndex() {
    ClickEvent first = PipelineBench.event(12_345, EVENTS, USERS, SPAN);
    ClickEvent again = PipelineBench.event(12_345, EVENTS, USERS, SPAN);

    assertThat(again, equalTo(first));
    assertThat(first.getEventId(), equalTo("e12345"));
    // Arrival 12,345 / 20,000 of the way through two hours, minus at most 30 s.
    long arrival = 1_763_800_000_000L + (long) (12_345.0 * SPAN / EVENTS);
    assertThat(first.getTimestamp() <= arrival && first.getTimestamp() >= arrival - 30_000, equalTo(true));
  }
}
