package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OptionsHelpTest {
  private static final List<String> CLICKSTREAM = OptionsHelp.lines(ClickstreamOptions.class);

  /** The lines of {@code --name}: its own and the continuation lines after it; none for an option not listed. */
  private static List<String> linesOf(List<String> help, String name) {
    List<String> lines = new ArrayList<>();
    for (String line : help) {
      if (line.startsWith("  --" + name + "=") || !lines.isEmpty() && !line.startsWith("  --")) {
        lines.add(line);
      } else if (!lines.isEmpty()) {
        break;
      }
    }
    return lines;
  }

  @Test
  void anOptionIsItsDescriptionAndDefaultWrappedUnderItsName() {
    assertThat(linesOf(CLICKSTREAM, "maxOutOfOrderness"), equalTo(List.of(
        "  --maxOutOfOrderness=DURATION        With --source=kafka: how far behind the latest event time read from a"
            + " partition",
        "                                      its events may still arrive before the watermark passes them (500ms, 5s,"
            + " 1m,",
        "                                      PT1M). (default 30s)")));
    assertThat(linesOf(CLICKSTREAM, "topic"), equalTo(List.of(
        "  --topic=TOPIC                       Kafka topic of the events, with --source=kafka. (default"
            + " clickstream_events)")));
  }

  @Test
  void aClosedSetListsItsValuesAndALongNameGetsALineOfItsOwn() {
    assertThat(linesOf(CLICKSTREAM, "source"), equalTo(List.of(
        "  --source=file|kafka                 Where events come from: file (--input) or kafka (--bootstrapServers,"
            + " --topic).",
        "                                      (default file)")));
    assertThat(linesOf(CLICKSTREAM, "deadLetterTopic"), equalTo(List.of(
        "  --deadLetterTopic=DEAD_LETTER_TOPIC",
        "                                      Kafka topic for dead letters with --source=kafka: each holds the original"
            + " message",
        "                                      bytes, with the reason, detail, stage and source position in its headers."
            + " (default",
        "                                      clickstream_events_dlq)")));
  }

  @Test
  void aPipelinesOwnOptionsAreListedAndBeamsAreNot() {
    List<String> all = OptionsHelp.lines(FeaturePipelineOptions.class);

    assertThat(linesOf(all, "dimensionRefresh"), equalTo(List.of(
        "  --dimensionRefresh=DURATION|once    How often an unbounded run (Kafka without --maxRecords) reloads the"
            + " dimension",
        "                                      tables; each event uses the load of its own time's interval. once: load"
            + " them once.",
        "                                      A bounded run always loads them once, so it ends. 30s, 5m, 1h or ISO-8601"
            + " (PT5M).",
        "                                      (default 5m)")));
    long tooWide = all.stream().filter(line -> line.length() > OptionsHelp.WIDTH).count();
    assertThat(List.of(linesOf(all, "runner"), linesOf(CLICKSTREAM, "counter"), tooWide),
        equalTo(List.of(List.of(), List.of(), 0L)));
  }
}
