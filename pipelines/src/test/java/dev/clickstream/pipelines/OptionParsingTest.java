package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.io.DurationOption;
import dev.clickstream.io.ReadEventRecords;
import dev.clickstream.transforms.ClickEventDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.util.common.ReflectHelpers;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;

class OptionParsingTest {
  private static final String DURATIONS = "use 0, 500ms, 30s, 10m, 1h, 2d or ISO-8601 like PT10M";

  private static FeaturePipelineOptions parse(String... args) {
    return PipelineOptionsFactory.fromArgs(args).withValidation().as(FeaturePipelineOptions.class);
  }

  /** What {@code run} prints for arguments Beam refuses. */
  private static String problem(String... args) {
    return OptionsHelp.problem(assertThrows(IllegalArgumentException.class, () -> parse(args)));
  }

  @Test
  void durationsInShortAndIsoForms() {
    List<Duration> durations = new ArrayList<>();
    List<String> printed = new ArrayList<>();
    for (String text : new String[] {"0", "500ms", "30s", "10m", "2h", "1d", "PT10M", "PT90S", "1500ms"}) {
      DurationOption lateness = parse("--allowedLateness=" + text).getAllowedLateness();
      durations.add(lateness.toDuration());
      printed.add(lateness.toString());
    }

    assertThat(durations, equalTo(List.of(Duration.ZERO, Duration.millis(500), Duration.standardSeconds(30),
        Duration.standardMinutes(10), Duration.standardHours(2), Duration.standardDays(1),
        Duration.standardMinutes(10), Duration.standardSeconds(90), Duration.millis(1500))));
    assertThat(printed, equalTo(List.of("0", "500ms", "30s", "10m", "2h", "1d", "10m", "90s", "1500ms")));
  }

  @Test
  void everyTypedOptionHasItsDefault() {
    FeaturePipelineOptions options = parse();

    assertThat(
        List.of(options.getSource(), options.getInputFormat(), options.getTopic(), options.getDeadLetterTopic(),
            options.getMaxOutOfOrderness(), options.getIdleTimeout(), options.getMaxFutureSkew(),
            options.getAllowedLateness(), options.getCounter(), options.getDimensionRefresh(),
            options.getDimensionLookback()),
        equalTo(List.of(EventSource.FILE, ClickEventDecoder.Format.AUTO, "clickstream_events", "clickstream_events_dlq",
            DurationOption.parse("30s"), DurationOption.parse("10s"), DurationOption.parse("1h"),
            DurationOption.parse("0"), ClickCounter.STATEFUL, DimensionRefresh.every(Duration.standardMinutes(5)),
            DurationOption.parse("30m"))));
  }

  @Test
  void closedSetsInTheirAcceptedSpellings() {
    FeaturePipelineOptions options =
        parse("--source=kafka", "--inputFormat=Avro", "--counter=SLIDING", "--dimensionRefresh=once");
    FeaturePipelineOptions iso = parse("--dimensionRefresh=PT2M");

    assertThat(
        List.of(options.getSource(), options.getInputFormat(), options.getCounter(), options.getDimensionRefresh()),
        equalTo(
            List.of(EventSource.KAFKA, ClickEventDecoder.Format.AVRO, ClickCounter.SLIDING, DimensionRefresh.ONCE)));
    assertThat(List.of(options.getDimensionRefresh().interval(), iso.getDimensionRefresh().interval()),
        equalTo(List.of(Optional.empty(), Optional.of(Duration.standardMinutes(2)))));
  }

  @Test
  void badDurationsSayWhatIsAccepted() {
    List<String> messages = new ArrayList<>();
    for (String bad : new String[] {"", "ten minutes", "-5m", "PT-1S", "5 m", "5"}) {
      messages.add(assertThrows(IllegalArgumentException.class, () -> DurationOption.parse(bad)).getMessage());
    }

    assertThat(messages, equalTo(List.of("'' is not a duration: " + DURATIONS,
        "'ten minutes' is not a duration: " + DURATIONS, "'-5m' is not a duration: " + DURATIONS,
        "'PT-1S' is not a duration: " + DURATIONS, "'5 m' is not a duration: " + DURATIONS,
        "'5' is not a duration: " + DURATIONS)));
    assertThat(problem("--maxOutOfOrderness=ten"), equalTo("'ten' is not a duration: " + DURATIONS));
    assertThat(problem("--idleTimeout=7"), equalTo("'7' is not a duration: " + DURATIONS));
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> DurationOption.parseFlag("span", "ten")).getMessage(),
        equalTo("--span=ten is not a duration: " + DURATIONS));
  }

  @Test
  void badValuesOfClosedSetsSayWhatToUse() {
    assertThat(
        List.of(problem("--source=pulsar"), problem("--source=KAFKA"), problem("--inputFormat=csv"),
            problem("--counter=hopping"), problem("--dimensionRefresh=0"), problem("--dimensionRefresh=soon")),
        equalTo(List.of("--source=pulsar is not supported: use file or kafka",
            "--source=KAFKA is not supported: use file or kafka",
            "--inputFormat=csv is not supported: use auto, json or avro",
            "--counter must be stateful or sliding, got 'hopping'",
            "--dimensionRefresh must be a positive duration or once, got '0'",
            "--dimensionRefresh must be a positive duration or once, got 'soon'")));
  }

  /** Flink ships the options as JSON: every typed value comes back as it was given. */
  @Test
  void typedOptionsSurviveTheJsonTheRunnerShips() throws Exception {
    ObjectMapper mapper =
        new ObjectMapper().registerModules(ObjectMapper.findModules(ReflectHelpers.findClassLoader()));
    FeaturePipelineOptions given =
        parse("--source=kafka", "--inputFormat=json", "--allowedLateness=PT1M", "--counter=sliding",
            "--dimensionRefresh=once", "--dimensionLookback=2h");

    FeaturePipelineOptions back =
        mapper.readValue(mapper.writeValueAsString(given), PipelineOptions.class).as(FeaturePipelineOptions.class);

    assertThat(
        List.of(back.getSource(), back.getInputFormat(), back.getAllowedLateness(), back.getCounter(),
            back.getDimensionRefresh(), back.getDimensionLookback(), back.getMaxFutureSkew()),
        equalTo(List.of(EventSource.KAFKA, ClickEventDecoder.Format.JSON, DurationOption.parse("1m"),
            ClickCounter.SLIDING, DimensionRefresh.ONCE, DurationOption.parse("2h"), DurationOption.parse("1h"))));
  }

  @Test
  void inputFormatFollowsTheExtensionUnlessGiven() {
    assertThat(
        List.of(ReadEventRecords.resolveFormat("a/b.avro", ClickEventDecoder.Format.AUTO),
            ReadEventRecords.resolveFormat("a/*.AVRO", ClickEventDecoder.Format.AUTO),
            ReadEventRecords.resolveFormat("a/b.jsonl", ClickEventDecoder.Format.AUTO),
            ReadEventRecords.resolveFormat("a/b.avro", ClickEventDecoder.Format.JSON),
            ReadEventRecords.resolveFormat("a/b.data", ClickEventDecoder.Format.AVRO)),
        equalTo(List.of(ReadEventRecords.Format.AVRO, ReadEventRecords.Format.AVRO, ReadEventRecords.Format.JSON,
            ReadEventRecords.Format.JSON, ReadEventRecords.Format.AVRO)));
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
