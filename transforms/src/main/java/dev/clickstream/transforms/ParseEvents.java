package dev.clickstream.transforms;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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

  static final String STAGE = "ParseEvents";
  /** Longest accepted id: the online store keys are VARCHAR(256). */
  static final int MAX_ID_LENGTH = 256;
  /** 9999-12-31T23:59:59.999Z: the largest timestamp every store and date format can hold. */
  static final long MAX_TIMESTAMP_MILLIS = 253_402_300_799_999L;

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

  /** Why a record was rejected: a stable code for metrics and a sentence for people. */
  static final class InvalidEventException extends Exception {
    private static final long serialVersionUID = 1L;
    final String reason;

    InvalidEventException(String reason, String detail) {
      super(detail, null, false, false);
      this.reason = reason;
    }
  }

  static class ParseFn extends DoFn<String, ClickEvent> {
    // Trailing tokens fail too: otherwise two events run together on one line would keep the first and lose the
    // second without a dead letter.
    private static final ObjectMapper JSON =
        new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

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
      if (line == null || line.isBlank()) {
        throw new InvalidEventException("empty_record", "the record is empty");
      }
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (JsonProcessingException e) {
        throw new InvalidEventException("malformed_json", "not valid JSON: " + e.getOriginalMessage());
      }
      if (node == null || !node.isObject()) {
        throw new InvalidEventException("malformed_json", "expected a JSON object, got " + describe(node));
      }
      return ClickEvent.newBuilder()
          .setEventId(requiredString(node, "event_id"))
          .setUserId(requiredString(node, "user_id"))
          .setEventType(requiredString(node, "event_type"))
          .setItemId(optionalString(node, "item_id"))
          .setSessionId(optionalString(node, "session_id"))
          .setTimestamp(requiredTimestamp(node))
          .build();
    }

    private static String requiredString(JsonNode event, String field) throws InvalidEventException {
      JsonNode value = event.get(field);
      if (value == null || value.isNull()) {
        throw new InvalidEventException("missing_field", "required field '" + field + "' is missing");
      }
      return checkedString(value, field);
    }

    private static String optionalString(JsonNode event, String field) throws InvalidEventException {
      JsonNode value = event.get(field);
      return value == null || value.isNull() ? null : checkedString(value, field);
    }

    private static String checkedString(JsonNode value, String field) throws InvalidEventException {
      if (!value.isTextual()) {
        throw new InvalidEventException(
            "invalid_field", "field '" + field + "' must be a string, got " + describe(value));
      }
      String text = value.asText();
      if (text.isBlank() || text.length() > MAX_ID_LENGTH) {
        throw new InvalidEventException(
            "invalid_field",
            "field '" + field + "' must hold 1 to " + MAX_ID_LENGTH + " characters, got " + text.length());
      }
      return text;
    }

    private static long requiredTimestamp(JsonNode event) throws InvalidEventException {
      JsonNode value = event.get("timestamp");
      if (value == null || value.isNull()) {
        throw new InvalidEventException("missing_field", "required field 'timestamp' is missing");
      }
      if (!value.isIntegralNumber() || !value.canConvertToLong()) {
        throw new InvalidEventException(
            "invalid_field", "field 'timestamp' must be whole epoch milliseconds, got " + describe(value));
      }
      long millis = value.asLong();
      if (millis < 0 || millis > MAX_TIMESTAMP_MILLIS) {
        throw new InvalidEventException(
            "invalid_field",
            "field 'timestamp' must be epoch milliseconds between 0 and " + MAX_TIMESTAMP_MILLIS + ", got "
                + millis);
      }
      return millis;
    }

    private static String describe(JsonNode node) {
      if (node == null || node.isMissingNode()) {
        return "nothing";
      }
      if (node.isNull()) {
        return "null";
      }
      String text = node.toString();
      return node.getNodeType().name().toLowerCase() + " " + (text.length() > 40 ? text.substring(0, 40) + "…" : text);
    }
  }
}
