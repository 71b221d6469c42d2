package dev.clickstream.pipelines;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.WriteDeadLetters;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;

/**
 * The ends every pipeline shares: read the events from files or Kafka, parse them, stamp each with its own time;
 * and write the dead letters back where the events came from (a file, or the dead-letter topic).
 */
final class EventInput {
  private EventInput() {}

  /**
   * Valid events under {@link ParseEvents#EVENTS}, rejected records under {@link ParseEvents#DEAD_LETTERS}.
   *
   * @param pipelineName names the default consumer group of a Kafka source
   */
  static PCollectionTuple readAndParse(Pipeline pipeline, ClickstreamOptions options, String pipelineName) {
    if (ClickstreamOptions.readsKafka(options)) {
      return pipeline.apply("ReadKafkaEvents", ReadKafkaEvents.from(options, pipelineName));
    }
    return pipeline
        .apply("ReadEvents", ReadEventRecords.from(options.getInput(), options.getInputFormat()))
        .apply("ParseEvents", ParseEvents.fromJsonLines());
  }

  /** The valid events of {@code parsed}, each at its own event time (a Kafka source stamps them as it reads). */
  static PCollection<ClickEvent> stamped(PCollectionTuple parsed, ClickstreamOptions options) {
    PCollection<ClickEvent> events = parsed.get(ParseEvents.EVENTS);
    return ClickstreamOptions.readsKafka(options)
        ? events
        : events.apply("AssignEventTime", AssignEventTime.fromEventTimestamp());
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
