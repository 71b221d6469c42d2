package dev.clickstream.pipelines;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.WriteDeadLetters;
import java.util.function.Function;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;

/**
 * The ends every pipeline shares: read the events from files or Kafka, parse them, stamp each with its own time;
 * and write the dead letters back where the events came from (a file, or the dead-letter topic).
 */
final class EventInput {
  private EventInput() {}

  /**
   * Valid events under {@link ParseEvents#EVENTS}, rejected records (and damaged files) under {@link
   * ParseEvents#DEAD_LETTERS}.
   *
   * @param pipelineName names the default consumer group of a Kafka source
   */
  static PCollectionTuple readAndParse(Pipeline pipeline, ClickstreamOptions options, String pipelineName) {
    if (ClickstreamOptions.readsKafka(options)) {
      return pipeline.apply("ReadKafkaEvents", ReadKafkaEvents.from(options, pipelineName));
    }
    PCollectionTuple read =
        pipeline.apply("ReadEvents", ReadEventRecords.from(options.getInput(), options.getInputFormat()));
    PCollectionTuple parsed =
        read.get(ReadEventRecords.RECORDS)
            .apply(
                "ParseEvents",
                ParseEvents.fromJsonLines()
                    .withMaxFutureSkew(DurationOption.parse("maxFutureSkew", options.getMaxFutureSkew())));
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(read.get(ReadEventRecords.DEAD_LETTERS))
            .and(parsed.get(ParseEvents.DEAD_LETTERS))
            .apply("DamagedFilesAndBadRecords", Flatten.pCollections());
    return PCollectionTuple.of(ParseEvents.EVENTS, parsed.get(ParseEvents.EVENTS))
        .and(ParseEvents.DEAD_LETTERS, deadLetters);
  }

  /** The valid events of {@code parsed}, each at its own event time (a Kafka source stamps them as it reads). */
  static PCollection<ClickEvent> stamped(PCollectionTuple parsed, ClickstreamOptions options) {
    PCollection<ClickEvent> events = parsed.get(ParseEvents.EVENTS);
    return ClickstreamOptions.readsKafka(options)
        ? events
        : events.apply("AssignEventTime", AssignEventTime.fromEventTimestamp());
  }

  /**
   * A whole pipeline around one set of feature steps: reads, parses and stamps the events, applies {@code steps}
   * (which return the dead letters they made), and writes those with the rejected records; returns every dead letter.
   */
  static PCollection<DeadLetter> around(
      Pipeline pipeline,
      ClickstreamOptions options,
      String pipelineName,
      Function<PCollection<ClickEvent>, PCollection<DeadLetter>> steps) {
    PCollectionTuple parsed = readAndParse(pipeline, options, pipelineName);
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTERS))
            .and(steps.apply(stamped(parsed, options)))
            .apply("AllDeadLetters", Flatten.pCollections());
    writeDeadLetters(deadLetters, options, pipelineName);
    return deadLetters;
  }

  /** To the dead-letter topic for a Kafka source, else to {@code --deadLetter} (default per pipeline). */
  static void writeDeadLetters(
      PCollection<DeadLetter> deadLetters, ClickstreamOptions options, String pipelineName) {
    if (ClickstreamOptions.readsKafka(options)) {
      deadLetters.apply(
          "WriteDeadLetters",
          WriteDeadLettersToKafka.to(options.getBootstrapServers(), options.getDeadLetterTopic()));
    } else {
      deadLetters.apply(
          "WriteDeadLetters", WriteDeadLetters.toFile(ClickstreamOptions.deadLetterPath(options, pipelineName)));
    }
  }
}
