package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.io.ReadEventRecords;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;

class OptionParsingTest {

  @Test
  void durationsInShortAndIsoForms() {
    assertThat(DurationOption.parse("x", "0"), equalTo(Duration.ZERO));
    assertThat(DurationOption.parse("x", "500ms"), equalTo(Duration.millis(500)));
    assertThat(DurationOption.parse("x", "30s"), equalTo(Duration.standardSeconds(30)));
    assertThat(DurationOption.parse("x", "10m"), equalTo(Duration.standardMinutes(10)));
    assertThat(DurationOption.parse("x", "2h"), equalTo(Duration.standardHours(2)));
    assertThat(DurationOption.parse("x", "1d"), equalTo(Duration.standardDays(1)));
    assertThat(DurationOption.parse("x", "PT10M"), equalTo(Duration.standardMinutes(10)));
  }

  @Test
  void badDurationsSayWhatIsAccepted() {
    for (String bad : new String[] {"", "ten minutes", "-5m", "PT-1S", "5 m"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> DurationOption.parse("allowedLateness", bad));
      assertThat(
          e.getMessage(),
          equalTo("--allowedLateness=" + bad + " is not a duration: use 0, 500ms, 30s, 10m, 1h, 2d or ISO-8601 like"
              + " PT10M"));
    }
  }

  @Test
  void inputFormatFollowsTheExtensionUnlessGiven() {
    assertThat(ReadEventRecords.resolveFormat("a/b.avro", "auto"), equalTo(ReadEventRecords.Format.AVRO));
    assertThat(ReadEventRecords.resolveFormat("a/*.AVRO", "auto"), equalTo(ReadEventRecords.Format.AVRO));
    assertThat(ReadEventRecords.resolveFormat("a/b.jsonl", "auto"), equalTo(ReadEventRecords.Format.JSON));
    assertThat(ReadEventRecords.resolveFormat("a/b.avro", "json"), equalTo(ReadEventRecords.Format.JSON));
    assertThat(ReadEventRecords.resolveFormat("a/b.data", "avro"), equalTo(ReadEventRecords.Format.AVRO));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ReadEventRecords.resolveFormat("a", "csv"));
    assertThat(e.getMessage(), equalTo("--inputFormat=csv is not supported: use auto, json or avro"));
  }

  /** --restate is for bounded reruns: a file, or Kafka up to --maxRecords; never an unbounded stream. */
  @Test
  void restateIsRefusedForAnUnboundedRead() {
    ClickstreamOptions file = PipelineOptionsFactory.fromArgs("--restate=true").as(ClickstreamOptions.class);
    ClickstreamOptions boundedKafka =
        PipelineOptionsFactory.fromArgs("--restate=true", "--source=kafka", "--maxRecords=100")
            .as(ClickstreamOptions.class);
    ClickstreamOptions unboundedKafka =
        PipelineOptionsFactory.fromArgs("--restate=true", "--source=kafka").as(ClickstreamOptions.class);
    ClickstreamOptions guardedKafka = PipelineOptionsFactory.fromArgs("--source=kafka").as(ClickstreamOptions.class);

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ClickstreamOptions.restates(unboundedKafka));

    assertThat(ClickstreamOptions.restates(file), equalTo(true));
    assertThat(ClickstreamOptions.restates(boundedKafka), equalTo(true));
    assertThat(ClickstreamOptions.restates(guardedKafka), equalTo(false));
    assertThat(
        e.getMessage(),
        equalTo("--restate replaces stored rows whatever they hold, so it is for a bounded rerun over corrected"
            + " input: use --source=file, or --source=kafka with --maxRecords=N"));
  }
}
