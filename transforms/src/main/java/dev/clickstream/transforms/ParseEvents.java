package dev.clickstream.transforms;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import java.io.Serializable;
import java.util.function.Supplier;
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
import org.joda.time.Duration;

/**
 * Parses JSON-line click events and validates them.
 *
 * <p>Valid events go to {@link #EVENTS}; every other record goes to {@link #DEAD_LETTERS} with its raw text and a
 * reason code, and is counted in the {@code ParseEvents} metrics. A bad record never fails the bundle and never
 * vanishes: {@code events + deadLetters == records in}.
 *
 * <p>An event dated more than {@link #withMaxFutureSkew max future skew} (default {@link #DEFAULT_MAX_FUTURE_SKEW})
 * after the clock at the time it is parsed is a dead letter with reason {@value ClickEventDecoder#FUTURE}: one such
 * event would hold the features and the retention of its user at its time. A file of past events always passes; a
 * file of events generated ahead of the clock needs a larger skew.
 *
 * <p>Event timestamps are not assigned here: see {@link AssignEventTime}.
 */
public final class ParseEvents extends PTransform<PCollection<String>, PCollectionTuple> {
  public static final TupleTag<ClickEvent> EVENTS = new TupleTag<ClickEvent>() {};
  public static final TupleTag<DeadLetter> DEAD_LETTERS = new TupleTag<DeadLetter>() {};

  public static final String STAGE = "ParseEvents";

  /** How far ahead of the clock an event may be dated unless {@link #withMaxFutureSkew} says otherwise. */
  public static final Duration DEFAULT_MAX_FUTURE_SKEW = Duration.standardHours(1);

  private final Duration maxFutureSkew;
  private final ProcessingClock clock;

  private ParseEvents(Duration maxFutureSkew, ProcessingClock clock) {
    this.maxFutureSkew = maxFutureSkew;
    this.clock = clock;
  }

  public static ParseEvents fromJsonLines() {
    return new ParseEvents(DEFAULT_MAX_FUTURE_SKEW, ProcessingClock.SYSTEM);
  }

  /** Events dated more than {@code maxFutureSkew} after the clock are dead letters with reason future. */
  public ParseEvents withMaxFutureSkew(Duration maxFutureSkew) {
    if (maxFutureSkew == null || maxFutureSkew.isShorterThan(Duration.ZERO)) {
      throw new IllegalArgumentException("maxFutureSkew must be zero or more, got " + maxFutureSkew);
    }
    return new ParseEvents(maxFutureSkew, clock);
  }

  /** The clock events are compared with; tests fix it. */
  public ParseEvents withClock(ProcessingClock clock) {
    if (clock == null) {
      throw new IllegalArgumentException("clock must not be null");
    }
    return new ParseEvents(maxFutureSkew, clock);
  }

  /** The rules and counters of this transform, for a reader that decodes its records itself (Avro files). */
  public Validation validation() {
    return new Validation(maxFutureSkew, clock);
  }

  @Override
  public PCollectionTuple expand(PCollection<String> lines) {
    PCollectionTuple result =
        lines.apply(
            "ParseAndValidate",
            ParDo.of(new ParseFn(validation())).withOutputTags(EVENTS, TupleTagList.of(DEAD_LETTERS)));
    result.get(EVENTS).setCoder(AvroCoder.of(ClickEvent.class));
    result.get(DEAD_LETTERS).setCoder(AvroCoder.of(DeadLetter.class));
    return result;
  }

  /** How one record decodes: a valid event, or an {@link InvalidEventException} that says why not. */
  @FunctionalInterface
  public interface Decoding {
    ClickEvent decode() throws InvalidEventException;
  }

  /**
   * Where {@link ParseEvents} sends a record and how it counts it, for any reader's records: a valid event not dated
   * beyond the future skew under {@link #EVENTS}, anything else under {@link #DEAD_LETTERS} with its payload and
   * reason; counted in {@code ParseEvents/events_parsed}, {@code dead_letters} and {@code dead_letters_REASON}.
   */
  public static final class Validation implements Serializable {
    private final Counter parsed = Metrics.counter(STAGE, "events_parsed");
    private final Counter deadLettered = Metrics.counter(STAGE, "dead_letters");
    private final Duration maxFutureSkew;
    private final ProcessingClock clock;

    private Validation(Duration maxFutureSkew, ProcessingClock clock) {
      this.maxFutureSkew = maxFutureSkew;
      this.clock = clock;
    }

    /** Outputs the event {@code decoding} gives, or a dead letter whose payload is {@code payload}'s. */
    public void output(Decoding decoding, Supplier<String> payload, DoFn.MultiOutputReceiver out) {
      try {
        ClickEvent event = decoding.decode();
        ClickEventDecoder.checkNotInFuture(event, clock.nowMillis(), maxFutureSkew);
        out.get(EVENTS).output(event);
        parsed.inc();
      } catch (InvalidEventException e) {
        deadLettered.inc();
        Metrics.counter(STAGE, "dead_letters_" + e.reason).inc();
        out.get(DEAD_LETTERS).output(DeadLetters.of(STAGE, e.reason, e.getMessage(), payload.get()));
      }
    }
  }

  static class ParseFn extends DoFn<String, ClickEvent> {
    private final Validation validation;

    ParseFn(Validation validation) {
      this.validation = validation;
    }

    @ProcessElement
    public void processElement(@Element String line, MultiOutputReceiver out) {
      validation.output(() -> parse(line), () -> line, out);
    }

    static ClickEvent parse(String line) throws InvalidEventException {
      return ClickEventDecoder.fromJson(line);
    }
  }
}
