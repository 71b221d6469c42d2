package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.schemas.ClickEvent;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code bench pipeline} on a small run: both sides compute exactly the rows a plain-Java count of the same events
 * gives, and the figures are printed. (Its speed is measured by running it, never asserted here.)
 */
class PipelineBenchTest {
  private static final long EVENTS = 20_000;
  private static final int USERS = 300;
  private static final long SPAN = 2 * 3_600_000L;

  @Test
  void bothSidesComputeTheRowsOfAPlainCountOfTheSameEvents() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    int exit = PipelineBench.run(
        List.of("--events=" + EVENTS, "--warmup=0", "--users=" + USERS, "--span=2h"), out);

    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertThat(printed, exit, equalTo(0));
    Set<String> userWindows = new HashSet<>();
    long impressions = 0;
    long clicks = 0;
    for (long i = 0; i < EVENTS; i++) {
      ClickEvent event = PipelineBench.event(i, EVENTS, USERS, SPAN);
      String type = event.getEventType();
      if (type.equals("impression") || type.equals("click")) {
        userWindows.add(event.getUserId() + "@" + Math.floorDiv(event.getTimestamp(), 300_000L));
        impressions += type.equals("impression") ? 1 : 0;
        clicks += type.equals("click") ? 1 : 0;
      }
    }
    String rows = String.format(Locale.ROOT, "rows %,d (impressions %,d, clicks %,d)", userWindows.size(),
        impressions, clicks);
    assertThat(printed, containsString("beam"));
    assertThat(printed.split(java.util.regex.Pattern.quote(rows), -1).length - 1, equalTo(2));
    assertThat(printed, containsString("ratio beam/native: "));
    assertThat(printed, containsString("Both sides computed the same rows."));
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
