package dev.clickstream.transforms;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.EntityIds;
import dev.clickstream.schemas.ClickEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Turns one record (a JSON line, or a Kafka message holding JSON or Avro binary) into a validated {@link
 * ClickEvent}, or says exactly why it cannot. Every source shares these rules, so a record means the same thing
 * whether it came from a file or a topic.
 */
public final class ClickEventDecoder {
  /** How message bytes are encoded. */
  public enum Format {
    /** JSON when the first non-blank byte is '{', else Avro binary: a '{' can never start a valid Avro event. */
    AUTO,
    JSON,
    /**
     * Avro in the single-object encoding (header {@code C3 01}, the writer schema's fingerprint, then the binary),
     * read with the writer schema {@link ClickEventSchemas} holds for that fingerprint; or Avro binary of {@link
     * ClickEvent#getClassSchema()} with no header.
     */
    AVRO;

    /** auto, json or avro, in any case: the value of {@code --inputFormat}. */
    @JsonCreator
    public static Format parse(String option) {
      try {
        return valueOf(option.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new IllegalArgumentException("--inputFormat=" + option + " is not supported: use auto, json or avro");
      }
    }

    /** auto, json or avro, as {@link #parse} takes it. */
    @JsonValue
    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Longest accepted id: {@link EntityIds#MAX_LENGTH}, as the online store keys are VARCHAR(256). */
  static final int MAX_ID_LENGTH = EntityIds.MAX_LENGTH;
  /** 9999-12-31T23:59:59.999Z: the largest timestamp every store and date format can hold. */
  static final long MAX_TIMESTAMP_MILLIS = 253_402_300_799_999L;

  // Trailing tokens fail too: otherwise two events run together on one line would keep the first and lose the
  // second without a dead letter.
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private static final ThreadLocal<DatumReader<ClickEvent>> AVRO_READER =
      ThreadLocal.withInitial(() -> new SpecificDatumReader<>(ClickEvent.class));
  private static final ThreadLocal<BinaryDecoder> AVRO_DECODER = new ThreadLocal<>();

  /** Avro's single-object encoding: these two bytes, the writer schema's 8-byte fingerprint, then the binary. */
  private static final byte[] SINGLE_OBJECT_MAGIC = {(byte) 0xC3, 0x01};
  private static final int SINGLE_OBJECT_HEADER_BYTES = 10;

  private ClickEventDecoder() {}

  /** Decodes message bytes in {@code format}; Avro written with the compiled schema only. */
  public static ClickEvent decode(byte[] payload, Format format) throws InvalidEventException {
    return decode(payload, format, ClickEventSchemas.compiled());
  }

  /** Decodes message bytes in {@code format}; Avro written with any of {@code writerSchemas}. */
  public static ClickEvent decode(byte[] payload, Format format, ClickEventSchemas writerSchemas)
      throws InvalidEventException {
    if (payload == null || isBlank(payload)) {
      throw new InvalidEventException("empty_record", "the record is empty");
    }
    switch (format) {
      case JSON:
        return fromJson(payload);
      case AVRO:
        return fromAvro(payload, writerSchemas);
      default:
        return startsWithBrace(payload) ? fromJson(payload) : fromAvro(payload, writerSchemas);
    }
  }

  /** One JSON object with the fields of {@link ClickEvent}, snake_case; unknown fields are ignored. */
  public static ClickEvent fromJson(String line) throws InvalidEventException {
    if (line == null || line.isBlank()) {
      throw new InvalidEventException("empty_record", "the record is empty");
    }
    try {
      return fromJsonTree(JSON.readTree(line));
    } catch (JsonProcessingException e) {
      throw new InvalidEventException("malformed_json", "not valid JSON: " + e.getOriginalMessage());
    }
  }

  /**
   * JSON message bytes, which must be UTF-8 throughout: a decoder that replaced bad bytes with U+FFFD (or guessed
   * another encoding, as Jackson does from the first bytes) would make different ids equal.
   */
  private static ClickEvent fromJson(byte[] payload) throws InvalidEventException {
    return fromJson(strictUtf8(payload));
  }

  private static String strictUtf8(byte[] payload) throws InvalidEventException {
    CharsetDecoder utf8 =
        StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer bytes = ByteBuffer.wrap(payload);
    try {
      return utf8.decode(bytes).toString();
    } catch (CharacterCodingException e) {
      throw new InvalidEventException(
          "malformed_json",
          "not valid JSON: the bytes are not UTF-8 (at byte " + bytes.position() + " of " + payload.length
              + "); send JSON encoded as UTF-8");
    }
  }

  /**
   * One {@link ClickEvent} in Avro, every byte of it: trailing bytes are an error, not ignored. A message that starts
   * with the single-object header is read with its writer schema; anything else is Avro binary of the compiled
   * schema. Raw binary never starts with the header: its first field, a string, would have a negative length.
   */
  static ClickEvent fromAvro(byte[] payload, ClickEventSchemas writerSchemas) throws InvalidEventException {
    DatumReader<ClickEvent> reader = AVRO_READER.get();
    int start = 0;
    if (payload.length >= 2 && payload[0] == SINGLE_OBJECT_MAGIC[0] && payload[1] == SINGLE_OBJECT_MAGIC[1]) {
      if (payload.length < SINGLE_OBJECT_HEADER_BYTES) {
        throw new InvalidEventException("malformed_avro",
            "an Avro single-object header cut short: " + payload.length + " bytes, the header alone is "
                + SINGLE_OBJECT_HEADER_BYTES);
      }
      long fingerprint = ByteBuffer.wrap(payload, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
      reader = writerSchemas.readerFor(fingerprint);
      if (reader == null) {
        throw new InvalidEventException("unknown_schema", String.format(Locale.ROOT,
            "written with an Avro schema this job does not know (fingerprint %016x): give the producer's .avsc to"
                + " --writerSchemas", fingerprint));
      }
      start = SINGLE_OBJECT_HEADER_BYTES;
    }
    BinaryDecoder decoder =
        DecoderFactory.get().binaryDecoder(payload, start, payload.length - start, AVRO_DECODER.get());
    AVRO_DECODER.set(decoder);
    ClickEvent event;
    try {
      event = reader.read(null, decoder);
      if (!decoder.isEnd()) {
        throw new InvalidEventException(
            "malformed_avro", "not one Avro binary ClickEvent: bytes are left after the record");
      }
    } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | NegativeArraySizeException
        | OutOfMemoryError e) {
      throw new InvalidEventException(
          "malformed_avro",
          "neither a JSON object nor an Avro binary ClickEvent (" + e.getClass().getSimpleName() + ": "
              + e.getMessage() + ")");
    }
    return validated(event);
  }

  /**
   * {@code event} in Avro's single-object encoding, as Kafka producers write it: the compiled schema's fingerprint,
   * then the binary, so a reader whose schema has changed since still reads it right.
   */
  public static byte[] toAvro(ClickEvent event) {
    try {
      ByteBuffer encoded = ClickEvent.getEncoder().encode(event);
      byte[] bytes = new byte[encoded.remaining()];
      encoded.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode " + event, e);
    }
  }

  /** Avro binary of {@code event} without a header, as older producers wrote it and {@link Format#AVRO} still reads. */
  public static byte[] toAvroBinary(ClickEvent event) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(bytes, null);
    DatumWriter<ClickEvent> writer = new SpecificDatumWriter<>(ClickEvent.class);
    try {
      writer.write(event, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode " + event, e);
    }
    return bytes.toByteArray();
  }

  private static ClickEvent fromJsonTree(JsonNode node) throws InvalidEventException {
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

  /**
   * The JSON rules for values, applied to a decoded Avro event (a message, or a record of an Avro file): Avro's types
   * cannot say "1 to 256 characters". Returns {@code event}.
   */
  public static ClickEvent validated(ClickEvent event) throws InvalidEventException {
    checkedString(event.getEventId().toString(), "event_id");
    checkedString(event.getUserId().toString(), "user_id");
    checkedString(event.getEventType().toString(), "event_type");
    if (event.getItemId() != null) {
      checkedString(event.getItemId().toString(), "item_id");
    }
    if (event.getSessionId() != null) {
      checkedString(event.getSessionId().toString(), "session_id");
    }
    checkedTimestamp(event.getTimestamp());
    return event;
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
    return checkedString(value.asText(), field);
  }

  /** Every string field is an id of some kind, so {@link EntityIds} decides, as the server does. */
  private static String checkedString(String text, String field) throws InvalidEventException {
    String problem = EntityIds.problem(text);
    if (problem != null) {
      throw new InvalidEventException("invalid_field", "field '" + field + "' " + problem);
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
    return checkedTimestamp(value.asLong());
  }

  private static long checkedTimestamp(long millis) throws InvalidEventException {
    if (millis < 0 || millis > MAX_TIMESTAMP_MILLIS) {
      throw new InvalidEventException(
          "invalid_field",
          "field 'timestamp' must be epoch milliseconds between 0 and " + MAX_TIMESTAMP_MILLIS + ", got " + millis);
    }
    return millis;
  }

  /** Reason of an event dated further ahead of the clock than the allowed skew. */
  public static final String FUTURE = "future";

  /**
   * Fails with reason {@value #FUTURE} when {@code event} is dated more than {@code maxFutureSkew} after {@code
   * nowMillis}. Such an event is a clock error: applied, it would move the watermark and pin features and retention
   * to its time, so every later event would look late and every real one expired.
   */
  public static void checkNotInFuture(ClickEvent event, long nowMillis, Duration maxFutureSkew)
      throws InvalidEventException {
    if (isInFuture(event.getTimestamp(), nowMillis, maxFutureSkew)) {
      throw new InvalidEventException(FUTURE, futureDetail(event.getTimestamp(), nowMillis, maxFutureSkew));
    }
  }

  /** Whether {@code eventTime} is more than {@code maxFutureSkew} after {@code nowMillis}. */
  public static boolean isInFuture(long eventTime, long nowMillis, Duration maxFutureSkew) {
    return eventTime - nowMillis > maxFutureSkew.getMillis();
  }

  /** Why an event at {@code eventTime} is refused as {@value #FUTURE}, and what to do about it. */
  public static String futureDetail(long eventTime, long nowMillis, Duration maxFutureSkew) {
    return "event time " + new Instant(eventTime) + " is more than --maxFutureSkew=" + maxFutureSkew
        + " after the clock (" + new Instant(nowMillis) + "): fix the producer's clock, or raise"
        + " --maxFutureSkew to read events dated ahead on purpose";
  }

  private static boolean isBlank(byte[] payload) {
    for (byte b : payload) {
      if (!Character.isWhitespace(b)) {
        return false;
      }
    }
    return true;
  }

  private static boolean startsWithBrace(byte[] payload) {
    for (byte b : payload) {
      if (!Character.isWhitespace(b)) {
        return b == '{';
      }
    }
    return false;
  }

  private static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "nothing";
    }
    if (node.isNull()) {
      return "null";
    }
    String text = node.toString();
    return node.getNodeType().name().toLowerCase(Locale.ROOT) + " "
        + (text.length() > 40 ? text.substring(0, 40) + "…" : text);
  }
}
