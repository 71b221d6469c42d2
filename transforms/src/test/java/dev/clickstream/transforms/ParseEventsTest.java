package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class ParseEventsTest {
  private static final String STAGE = "ParseEvents";

  /** 2024-03-01T12:00:00Z. */
  private static final long NOON = 1_709_294_400_000L;

  private static final String FULL_LINE =
      "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"item_id\":\"ad-7\","
          + "\"session_id\":\"s-9\",\"timestamp\":1709294400000}";
  private static final ClickEvent FULL_EVENT =
      ClickEvent.newBuilder()
          .setEventId("e-1")
          .setUserId("u-1")
          .setEventType("click")
          .setItemId("ad-7")
          .setSessionId("s-9")
          .setTimestamp(NOON)
          .build();

  /** No item_id at all, and an explicit null session_id: both optional. */
  private static final String MINIMAL_LINE =
      "{\"event_id\":\"e-2\",\"user_id\":\"u-2\",\"event_type\":\"impression\",\"session_id\":null,"
          + "\"timestamp\":1709294400001}";
  private static final ClickEvent MINIMAL_EVENT =
      ClickEvent.newBuilder()
          .setEventId("e-2")
          .setUserId("u-2")
          .setEventType("impression")
          .setItemId(null)
          .setSessionId(null)
          .setTimestamp(NOON + 1)
          .build();

  private static final String LONGEST_ID = "u".repeat(ClickEventDecoder.MAX_ID_LENGTH);
  private static final String TOO_LONG_ID = "u".repeat(ClickEventDecoder.MAX_ID_LENGTH + 1);

  // ---------------------------------------------------------------------------------------------------------------
  // Valid events

  @Test
  void parsesAnEventWithEveryField(TestPipeline pipeline) {
    PCollectionTuple parsed = pipeline.apply(Create.of(FULL_LINE)).apply(ParseEvents.fromJsonLines());

    PAssert.that(parsed.get(ParseEvents.EVENTS)).containsInAnyOrder(FULL_EVENT);
    PAssert.that(parsed.get(ParseEvents.DEAD_LETTERS)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, STAGE, "events_parsed"), equalTo(1L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters"), equalTo(0L));
  }

  @Test
  void parsesAnEventWithoutItsOptionalFields(TestPipeline pipeline) {
    PCollectionTuple parsed = pipeline.apply(Create.of(MINIMAL_LINE)).apply(ParseEvents.fromJsonLines());

    PAssert.that(parsed.get(ParseEvents.EVENTS)).containsInAnyOrder(MINIMAL_EVENT);
    PAssert.that(parsed.get(ParseEvents.DEAD_LETTERS)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, STAGE, "events_parsed"), equalTo(1L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters"), equalTo(0L));
  }

  @Test
  void everyRecordEndsUpInExactlyOneOutput(TestPipeline pipeline) {
    PCollectionTuple parsed =
        pipeline
            .apply(Create.of(FULL_LINE, "not json", MINIMAL_LINE, "").withCoder(StringUtf8Coder.of()))
            .apply(ParseEvents.fromJsonLines());

    PAssert.that(parsed.get(ParseEvents.EVENTS)).containsInAnyOrder(FULL_EVENT, MINIMAL_EVENT);
    PAssert.that(parsed.get(ParseEvents.DEAD_LETTERS).apply("ReasonAndRaw", reasonAndRaw()))
        .containsInAnyOrder(KV.of("malformed_json", "not json"), KV.of("empty_record", ""));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, STAGE, "events_parsed"), equalTo(2L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters"), equalTo(2L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters_malformed_json"), equalTo(1L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters_empty_record"), equalTo(1L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Rejections: one per rule, each asserting both outputs and the counters.

  @Test
  void rejectsABlankLine(TestPipeline pipeline) {
    assertRejected(pipeline, "   ", "empty_record", "the record is empty");
  }

  @Test
  void rejectsTextThatIsNotJson(TestPipeline pipeline) {
    assertRejected(pipeline, "user u-1 clicked ad-7", "malformed_json", "not valid JSON: Unrecognized token 'user'");
  }

  @Test
  void rejectsTruncatedJson(TestPipeline pipeline) {
    assertRejected(pipeline, "{\"event_id\":\"e-1\",\"user_id\":", "malformed_json", "not valid JSON: ");
  }

  @Test
  void rejectsAJsonArray(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "[{\"event_id\":\"e-1\"}]",
        "malformed_json",
        "expected a JSON object, got array [{\"event_id\":\"e-1\"}]");
  }

  @Test
  void rejectsAJsonNumber(TestPipeline pipeline) {
    assertRejected(pipeline, "42", "malformed_json", "expected a JSON object, got number 42");
  }

  @Test
  void rejectsAMissingEventId(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":1709294400000}",
        "missing_field",
        "required field 'event_id' is missing");
  }

  @Test
  void rejectsAMissingUserId(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"event_type\":\"click\",\"timestamp\":1709294400000}",
        "missing_field",
        "required field 'user_id' is missing");
  }

  @Test
  void rejectsAMissingEventType(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"timestamp\":1709294400000}",
        "missing_field",
        "required field 'event_type' is missing");
  }

  @Test
  void rejectsAMissingTimestamp(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\"}",
        "missing_field",
        "required field 'timestamp' is missing");
  }

  @Test
  void rejectsANumericUserId(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":42,\"event_type\":\"click\",\"timestamp\":1709294400000}",
        "invalid_field",
        "field 'user_id' must be a string, got number 42");
  }

  @Test
  void rejectsATimestampGivenAsAString(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":\"1709294400000\"}",
        "invalid_field",
        "field 'timestamp' must be whole epoch milliseconds, got string \"1709294400000\"");
  }

  @Test
  void rejectsAFractionalTimestamp(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":1.5}",
        "invalid_field",
        "field 'timestamp' must be whole epoch milliseconds, got number 1.5");
  }

  @Test
  void rejectsANegativeTimestamp(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":-1}",
        "invalid_field",
        "field 'timestamp' must be epoch milliseconds between 0 and 253402300799999, got -1");
  }

  @Test
  void rejectsATimestampAfterTheLargestSupported(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":253402300800000}",
        "invalid_field",
        "field 'timestamp' must be epoch milliseconds between 0 and 253402300799999, got 253402300800000");
  }

  @Test
  void rejectsAnEmptyId(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":1709294400000}",
        "invalid_field",
        "field 'event_id' is blank");
  }

  @Test
  void rejectsAnIdLongerThan256Characters(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"" + TOO_LONG_ID
            + "\",\"event_type\":\"click\",\"timestamp\":1709294400000}",
        "invalid_field",
        "field 'user_id' holds 257 characters, more than the 256 allowed");
  }

  @Test
  void rejectsANulInAUserId(TestPipeline pipeline) {
    // The audit's probe: valid JSON, and PostgreSQL refuses the NUL in text (SQLState 22021).
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"u\\u0000x\",\"event_type\":\"click\",\"timestamp\":1709294400000}",
        "invalid_field",
        "field 'user_id' holds the control character U+0000 at index 1");
  }

  @Test
  void rejectsAControlCharacterInAnyIdField() {
    for (String field : new String[] {"event_id", "user_id", "event_type", "item_id", "session_id"}) {
      String line = FULL_LINE.replace("\"" + field + "\":\"", "\"" + field + "\":\"\\u001b");
      assertInvalid(line, "invalid_field", "field '" + field + "' holds the control character U+001B at index 0");
    }
  }

  @Test
  void rejectsALoneSurrogateInAnId() {
    assertInvalid(
        "{\"event_id\":\"e-\\ud800\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":0}",
        "invalid_field",
        "field 'event_id' holds a lone surrogate U+D800 at index 2");
  }

  @Test
  void rejectsAnIdWhoseBytesWereNotUtf8InTheFile() {
    // TextIO decodes a file's bytes with replacement: what were bad bytes arrive here as U+FFFD.
    assertInvalid(
        "{\"event_id\":\"e-1\",\"user_id\":\"u\uFFFD\",\"event_type\":\"click\",\"timestamp\":0}",
        "invalid_field",
        "field 'user_id' holds U+FFFD at index 1, the mark of bytes that were not valid UTF-8");
  }

  @Test
  void acceptsAnIdOfNonAsciiLettersAndASurrogatePair() throws Exception {
    ClickEvent event =
        ParseEvents.ParseFn.parse(
            "{\"event_id\":\"e-1\",\"user_id\":\"Zoë\uD83D\uDE00\",\"event_type\":\"click\",\"timestamp\":0}");
    assertThat(event.getUserId(), equalTo("Zoë\uD83D\uDE00"));
  }

  @Test
  void anEventDatedBeyondTheFutureSkewIsADeadLetterAndTheEventsAroundItAreKept(TestPipeline pipeline) {
    String year9999 =
        "{\"event_id\":\"e-9\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":253402214400000}";
    String oneMillisecondTooFar =
        "{\"event_id\":\"e-3\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":"
            + (NOON + 60_001) + "}";
    String atTheBound =
        "{\"event_id\":\"e-4\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":" + (NOON + 60_000)
            + "}";
    PCollectionTuple parsed =
        pipeline
            .apply(Create.of(FULL_LINE, year9999, oneMillisecondTooFar, atTheBound, MINIMAL_LINE))
            .apply(
                ParseEvents.fromJsonLines()
                    .withMaxFutureSkew(org.joda.time.Duration.standardMinutes(1))
                    .withClock(() -> NOON));

    PAssert.that(parsed.get(ParseEvents.EVENTS))
        .containsInAnyOrder(
            FULL_EVENT,
            MINIMAL_EVENT,
            ClickEvent.newBuilder().setEventId("e-4").setUserId("u-1").setEventType("click")
                .setTimestamp(NOON + 60_000).build());
    PAssert.that(parsed.get(ParseEvents.DEAD_LETTERS).apply("ReasonAndRaw", reasonAndRaw()))
        .containsInAnyOrder(KV.of("future", year9999), KV.of("future", oneMillisecondTooFar));
    PAssert.that(parsed.get(ParseEvents.DEAD_LETTERS).apply("Details", details()))
        .containsInAnyOrder(
            "event time 9999-12-31T00:00:00.000Z is more than --maxFutureSkew=PT60S after the clock"
                + " (2024-03-01T12:00:00.000Z): fix the producer's clock, or raise --maxFutureSkew to read events"
                + " dated ahead on purpose",
            "event time 2024-03-01T12:01:00.001Z is more than --maxFutureSkew=PT60S after the clock"
                + " (2024-03-01T12:00:00.000Z): fix the producer's clock, or raise --maxFutureSkew to read events"
                + " dated ahead on purpose");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, STAGE, "events_parsed"), equalTo(3L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters"), equalTo(2L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters_future"), equalTo(2L));
  }

  @Test
  void theFutureSkewIsAnHourByDefaultAndCannotBeNegative() {
    assertThat(ParseEvents.DEFAULT_MAX_FUTURE_SKEW, equalTo(org.joda.time.Duration.standardHours(1)));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ParseEvents.fromJsonLines().withMaxFutureSkew(org.joda.time.Duration.millis(-1)));
    assertThat(e.getMessage(), equalTo("maxFutureSkew must be zero or more, got PT-0.001S"));
  }

  @Test
  void rejectsDuplicateKeys(TestPipeline pipeline) {
    assertRejected(
        pipeline,
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"user_id\":\"u-2\",\"event_type\":\"click\","
            + "\"timestamp\":1709294400000}",
        "malformed_json",
        "not valid JSON: Duplicate field 'user_id'");
  }

  @Test
  void rejectsTwoEventsRunTogetherOnOneLine(TestPipeline pipeline) {
    assertRejected(pipeline, FULL_LINE + MINIMAL_LINE, "malformed_json", "not valid JSON: Trailing token");
  }

  /**
   * Runs {@code line} alone through ParseEvents and checks that it comes out as exactly one dead letter, with its
   * raw text, reason and a detail containing {@code detailPhrase}, and that the counters agree.
   */
  private static void assertRejected(TestPipeline pipeline, String line, String reason, String detailPhrase) {
    long startedAt = System.currentTimeMillis();
    PCollectionTuple parsed =
        pipeline.apply(Create.of(line).withCoder(StringUtf8Coder.of())).apply(ParseEvents.fromJsonLines());
    PCollection<DeadLetter> deadLetters = parsed.get(ParseEvents.DEAD_LETTERS);

    PAssert.that(parsed.get(ParseEvents.EVENTS)).empty();
    PAssert.that(deadLetters.apply("ReasonAndRaw", reasonAndRaw())).containsInAnyOrder(KV.of(reason, line));
    PAssert.that(deadLetters)
        .satisfies(
            letters -> {
              for (DeadLetter letter : letters) {
                assertThat(letter.getStage(), equalTo(STAGE));
                assertThat(letter.getDetail(), containsString(detailPhrase));
                assertThat(
                    letter.getFailedAt(),
                    allOf(greaterThanOrEqualTo(startedAt), lessThanOrEqualTo(System.currentTimeMillis())));
              }
              return null;
            });
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, STAGE, "events_parsed"), equalTo(0L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters"), equalTo(1L));
    assertThat(PipelineCounters.value(result, STAGE, "dead_letters_" + reason), equalTo(1L));
  }

  private static MapElements<DeadLetter, String> details() {
    return MapElements.into(TypeDescriptors.strings()).via((DeadLetter letter) -> letter.getDetail());
  }

  /** Dead letters as (reason, raw payload): failed_at is processing time, so it is left out of exact asserts. */
  private static MapElements<DeadLetter, KV<String, String>> reasonAndRaw() {
    return MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
        .via((DeadLetter letter) -> KV.of(letter.getReason(), letter.getRawPayload()));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // ParseFn.parse, without a pipeline: boundaries and exact messages.

  @Test
  void parseReturnsTheExactEvent() throws Exception {
    assertThat(ParseEvents.ParseFn.parse(FULL_LINE), equalTo(FULL_EVENT));
    assertThat(ParseEvents.ParseFn.parse(MINIMAL_LINE), equalTo(MINIMAL_EVENT));
  }

  @Test
  void parseAcceptsTheBoundaryValues() throws Exception {
    String line =
        "{\"event_id\":\"" + LONGEST_ID + "\",\"user_id\":\"u-1\",\"event_type\":\"view\",\"timestamp\":"
            + ClickEventDecoder.MAX_TIMESTAMP_MILLIS + "}";
    assertThat(
        ParseEvents.ParseFn.parse(line),
        equalTo(
            ClickEvent.newBuilder()
                .setEventId(LONGEST_ID)
                .setUserId("u-1")
                .setEventType("view")
                .setTimestamp(253_402_300_799_999L)
                .build()));

    ClickEvent atEpoch =
        ParseEvents.ParseFn.parse("{\"event_id\":\"e\",\"user_id\":\"u\",\"event_type\":\"click\",\"timestamp\":0}");
    assertThat(atEpoch.getTimestamp(), equalTo(0L));
  }

  @Test
  void parseIgnoresFieldsItDoesNotKnow() throws Exception {
    String line =
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"item_id\":\"ad-7\","
            + "\"session_id\":\"s-9\",\"timestamp\":1709294400000,\"referrer\":{\"host\":\"example.com\"}}";
    assertThat(ParseEvents.ParseFn.parse(line), equalTo(FULL_EVENT));
  }

  @Test
  void parseRejectsAnEmptyString() {
    assertInvalid("", "empty_record", "the record is empty");
  }

  @Test
  void parseTreatsAnExplicitNullRequiredFieldAsMissing() {
    assertInvalid(
        "{\"event_id\":\"e-1\",\"user_id\":null,\"event_type\":\"click\",\"timestamp\":1709294400000}",
        "missing_field",
        "required field 'user_id' is missing");
  }

  @Test
  void parseRejectsAWhitespaceId() {
    assertInvalid(
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"  \",\"timestamp\":1709294400000}",
        "invalid_field",
        "field 'event_type' is blank");
  }

  @Test
  void parseChecksOptionalFieldsThatArePresent() {
    assertInvalid(
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"item_id\":7,\"timestamp\":0}",
        "invalid_field",
        "field 'item_id' must be a string, got number 7");
  }

  @Test
  void parseRejectsATimestampTooLargeForALong() {
    assertInvalid(
        "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"timestamp\":100000000000000000000}",
        "invalid_field",
        "field 'timestamp' must be whole epoch milliseconds, got number 100000000000000000000");
  }

  @Test
  void parseShortensLongValuesInItsMessages() {
    String array = "[" + "1,".repeat(30) + "1]";
    assertInvalid(array, "malformed_json", "expected a JSON object, got array " + array.substring(0, 40) + "…");
  }

  @Test
  void parseRejectsTheJsonNullLiteral() {
    InvalidEventException e =
        assertThrows(InvalidEventException.class, () -> ParseEvents.ParseFn.parse("null"));
    assertThat(e.reason, equalTo("malformed_json"));
    assertThat(e.getMessage(), containsString("expected a JSON object, got null"));
  }

  private static void assertInvalid(String line, String reason, String detail) {
    InvalidEventException e =
        assertThrows(InvalidEventException.class, () -> ParseEvents.ParseFn.parse(line));
    assertThat(e.reason, equalTo(reason));
    assertThat(e.getMessage(), equalTo(detail));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // DeadLetters

  @Test
  void deadLetterJsonIsOneLineWithEveryFieldInOrder() {
    DeadLetter letter =
        DeadLetter.newBuilder()
            .setStage("ParseEvents")
            .setReason("malformed_json")
            .setDetail("not valid JSON: Unexpected end-of-input")
            .setRawPayload("{\"user_id\":\"Zoë\",\n\t\"x\":")
            .setFailedAt(1_709_294_400_123L)
            .build();

    String json = DeadLetters.toJson(letter);

    assertThat(
        json,
        equalTo(
            "{\"stage\":\"ParseEvents\",\"reason\":\"malformed_json\","
                + "\"detail\":\"not valid JSON: Unexpected end-of-input\","
                + "\"raw_payload\":\"{\\\"user_id\\\":\\\"Zoë\\\",\\n\\t\\\"x\\\":\","
                + "\"failed_at\":1709294400123}"));
    assertThat(json, not(containsString("\n")));
  }

  @Test
  void deadLetterKeepsEverythingItIsGivenAndStampsTheTimeOfFailure() {
    long before = System.currentTimeMillis();
    DeadLetter letter = DeadLetters.of("ParseEvents", "missing_field", "required field 'user_id' is missing", "{}");
    long after = System.currentTimeMillis();

    assertThat(
        DeadLetter.newBuilder(letter).setFailedAt(0L).build(),
        equalTo(
            DeadLetter.newBuilder()
                .setStage("ParseEvents")
                .setReason("missing_field")
                .setDetail("required field 'user_id' is missing")
                .setRawPayload("{}")
                .setFailedAt(0L)
                .build()));
    assertThat(letter.getFailedAt(), allOf(greaterThanOrEqualTo(before), lessThanOrEqualTo(after)));
  }
}
