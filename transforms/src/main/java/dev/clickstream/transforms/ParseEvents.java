package dev.clickstream.transforms;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Parses JSON-line click events and validates them.
 *
 * <p>Valid events go to {@link #EVENTS}; every other record goes to {@link #DEAD_LETTERS} with its raw text and a
 * reason code, and is counted in the {@code ParseEvents} metrics. A bad record never fails the bundle and never
 * vanishes: {@code events + deadLetters == records in}.
 *
 * <p>Event timestamps are not assigned here: see {@link AssignEventTime}.
 */
public final class ParseEvents extends PTransform<PCollection<String>, PCollectionTuple> {
  public static final TupleTag<ClickEvent> EVENTS = new TupleTag<ClickEvent>() {};
  public static final TupleTag<DeadLetter> DEAD_LETTERS = new TupleTag<DeadLetter>() {};

  public static final String STAGE = "ParseEvents";

  private ParseEvents() {}

  public static ParseEvents fromJsonLines() {
    return new ParseEvents();
  }

  @Override
  public PCollectionTuple expand(PCollection<String> lines) {
    PCollectionTuple result =
        lines.apply(
            "ParseAndValidate",
            ParDo.of(new ParseFn()).withOutputTags(EVENTS, TupleTagList.of(DEAD_LETTERS)));
    result.get(EVENTS).setCoder(AvroCoder.of(ClickEvent.class));
    result.get(DEAD_LETTERS).setCoder(AvroCoder.of(DeadLetter.class));
    return result;
  }

  static class ParseFn extends DoFn<String, ClickEvent> {
    private final Counter parsed = Metrics.counter(STAGE, "events_parsed");
    private final Counter deadLettered = Metrics.counter(STAGE, "dead_letters");

    @ProcessElement
    public void processElement(@Element String line, MultiOutputReceiver out) {
      try {
        out.get(EVENTS).output(parse(line));
        parsed.inc();
      } catch (InvalidEventException e) {
        deadLettered.inc();
        Metrics.counter(STAGE, "dead_letters_" + e.reason).inc();
        out.get(DEAD_LETTERS).output(DeadLetters.of(STAGE, e.reason, e.getMessage(), line));
      }
    }

    static ClickEvent parse(String line) throws InvalidEventException {
      return ClickEventDecoder.fromJson(line);
    }
  }
}
