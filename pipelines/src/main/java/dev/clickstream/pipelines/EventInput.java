package dev.clickstream.pipelines;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.ParseEvents;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;

/** The head every pipeline shares: read the input, parse it, and stamp each event with its own time. */
final class EventInput {
  private EventInput() {}

  /** Valid events under {@link ParseEvents#EVENTS}, rejected records under {@link ParseEvents#DEAD_LETTERS}. */
  static PCollectionTuple readAndParse(Pipeline pipeline, ClickstreamOptions options) {
    return pipeline
        .apply("ReadEvents", ReadEventRecords.from(options.getInput(), options.getInputFormat()))
        .apply("ParseEvents", ParseEvents.fromJsonLines());
  }

  /** The valid events of {@code parsed}, each at its own event time. */
  static PCollection<ClickEvent> stamped(PCollectionTuple parsed) {
    return parsed.get(ParseEvents.EVENTS).apply("AssignEventTime", AssignEventTime.fromEventTimestamp());
  }
}
