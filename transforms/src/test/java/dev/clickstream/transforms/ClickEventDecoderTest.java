package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.schemas.ClickEvent;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ClickEventDecoderTest {
  private static final ClickEvent EVENT =
      ClickEvent.newBuilder()
          .setEventId("e-1")
          .setUserId("u-1")
          .setEventType("click")
          .setItemId("ad-7")
          .setSessionId(null)
          .setTimestamp(1_709_294_400_000L)
          .build();
  private static final String JSON =
      "{\"event_id\":\"e-1\",\"user_id\":\"u-1\",\"event_type\":\"click\",\"item_id\":\"ad-7\","
          + "\"timestamp\":1709294400000}";

  @Test
  void avroBinaryRoundTripsAndAutoTellsItFromJson() throws Exception {
    byte[] avro = ClickEventDecoder.toAvro(EVENT);
    assertThat(ClickEventDecoder.decode(avro, ClickEventDecoder.Format.AVRO), equalTo(EVENT));
    assertThat(ClickEventDecoder.decode(avro, ClickEventDecoder.Format.AUTO), equalTo(EVENT));
    byte[] json = ("  " + JSON).getBytes(StandardCharsets.UTF_8);
    assertThat(ClickEventDecoder.decode(json, ClickEventDecoder.Format.AUTO), equalTo(EVENT));
    assertThat(ClickEventDecoder.decode(json, ClickEventDecoder.Format.JSON), equalTo(EVENT));
  }

  @Test
  void trailingBytesAfterAnAvroRecordAreRejected() {
    byte[] avro = ClickEventDecoder.toAvro(EVENT);
    byte[] longer = Arrays.copyOf(avro, avro.length + 1);
    assertInvalid(longer, ClickEventDecoder.Format.AVRO, "malformed_avro",
        "not one Avro binary ClickEvent: bytes are left after the record");
  }

  @Test
  void aTruncatedAvroRecordIsRejected() {
    byte[] avro = ClickEventDecoder.toAvro(EVENT);
    InvalidEventException e =
        assertThrows(InvalidEventException.class,
            () -> ClickEventDecoder.decode(Arrays.copyOf(avro, avro.length - 2), ClickEventDecoder.Format.AVRO));
    assertThat(e.reason, equalTo("malformed_avro"));
    assertThat(e.getMessage(), startsWith("neither a JSON object nor an Avro binary ClickEvent (EOFException"));
  }

  @Test
  void aHugeDeclaredStringLengthIsRejectedWithoutAllocatingIt() {
    // Zigzag varint of 2^30: a string of a billion bytes in a five-byte message.
    byte[] bytes = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08};
    InvalidEventException e =
        assertThrows(InvalidEventException.class,
            () -> ClickEventDecoder.decode(bytes, ClickEventDecoder.Format.AUTO));
    assertThat(e.reason, equalTo("malformed_avro"));
  }

  @Test
  void avroEventsFollowTheSameValueRulesAsJson() {
    ClickEvent blankUser = ClickEvent.newBuilder(EVENT).setUserId(" ").build();
    assertInvalid(ClickEventDecoder.toAvro(blankUser), ClickEventDecoder.Format.AVRO, "invalid_field",
        "field 'user_id' is blank");
    ClickEvent negative = ClickEvent.newBuilder(EVENT).setTimestamp(-1).build();
    assertInvalid(ClickEventDecoder.toAvro(negative), ClickEventDecoder.Format.AVRO, "invalid_field",
        "field 'timestamp' must be epoch milliseconds between 0 and 253402300799999, got -1");
  }

  @Test
  void emptyAndBlankMessagesAreEmptyRecords() {
    assertInvalid(new byte[0], ClickEventDecoder.Format.AUTO, "empty_record", "the record is empty");
    assertInvalid(" \n".getBytes(StandardCharsets.UTF_8), ClickEventDecoder.Format.AVRO, "empty_record",
        "the record is empty");
  }

  @Test
  void invalidUtf8InJsonIsMalformedJson() {
    byte[] json = JSON.getBytes(StandardCharsets.UTF_8);
    json[20] = (byte) 0xC3;
    json[21] = (byte) 0x28;
    assertInvalid(json, ClickEventDecoder.Format.AUTO, "malformed_json",
        "not valid JSON: the bytes are not UTF-8 (at byte 20 of " + json.length + "); send JSON encoded as UTF-8");
  }

  @Test
  void invalidUtf8InAJsonIdNeverBecomesTheReplacementCharacter() {
    // Two ids that differ only in their bad bytes must not both decode to "u\uFFFD" and collide.
    for (byte bad : new byte[] {(byte) 0xFF, (byte) 0xFE}) {
      byte[] json = ("{\"event_id\":\"e-1\",\"user_id\":\"u?\",\"event_type\":\"click\",\"timestamp\":0}")
          .getBytes(StandardCharsets.UTF_8);
      json[30] = bad;
      assertInvalid(json, ClickEventDecoder.Format.JSON, "malformed_json",
          "not valid JSON: the bytes are not UTF-8 (at byte 30 of " + json.length + "); send JSON encoded as UTF-8");
    }
  }

  @Test
  void aNulInAJsonMessageIdIsAnInvalidField() {
    byte[] json = "{\"event_id\":\"e-1\",\"user_id\":\"u\\u0000x\",\"event_type\":\"click\",\"timestamp\":0}"
        .getBytes(StandardCharsets.UTF_8);
    assertInvalid(json, ClickEventDecoder.Format.AUTO, "invalid_field",
        "field 'user_id' holds the control character U+0000 at index 1");
  }

  @Test
  void avroIdsFollowTheSameIdRuleAsJson() {
    assertInvalid(ClickEventDecoder.toAvro(ClickEvent.newBuilder(EVENT).setUserId("u\u0000x").build()),
        ClickEventDecoder.Format.AVRO, "invalid_field", "field 'user_id' holds the control character U+0000 at index 1");
    byte[] badUtf8 = ClickEventDecoder.toAvroBinary(ClickEvent.newBuilder(EVENT).setEventId("e\u00a7").build());
    badUtf8[3] = (byte) 0xFF; // the second byte of '§' (C2 A7): Avro's reader decodes it as U+FFFD
    assertInvalid(badUtf8, ClickEventDecoder.Format.AVRO, "invalid_field",
        "field 'event_id' holds U+FFFD at index 1, the mark of bytes that were not valid UTF-8");
    assertInvalid(ClickEventDecoder.toAvro(ClickEvent.newBuilder(EVENT).setItemId("ad\u007f").build()),
        ClickEventDecoder.Format.AVRO, "invalid_field", "field 'item_id' holds the control character U+007F at index 2");
    assertInvalid(ClickEventDecoder.toAvro(ClickEvent.newBuilder(EVENT).setSessionId("s\u0085").build()),
        ClickEventDecoder.Format.AVRO, "invalid_field", "field 'session_id' holds the control character U+0085 at index 1");
    assertInvalid(ClickEventDecoder.toAvro(ClickEvent.newBuilder(EVENT).setEventType("\u0000").build()),
        ClickEventDecoder.Format.AVRO, "invalid_field", "field 'event_type' holds the control character U+0000 at index 0");
  }

  @Test
  void formatNamesParseInAnyCaseAndUnknownOnesSayWhatToUse() {
    assertThat(ClickEventDecoder.Format.parse("Avro"), equalTo(ClickEventDecoder.Format.AVRO));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ClickEventDecoder.Format.parse("xml"));
    assertThat(e.getMessage(), equalTo("--inputFormat=xml is not supported: use auto, json or avro"));
  }

  private static void assertInvalid(byte[] bytes, ClickEventDecoder.Format format, String reason, String detail) {
    InvalidEventException e =
        assertThrows(InvalidEventException.class, () -> ClickEventDecoder.decode(bytes, format));
    assertThat(e.reason, equalTo(reason));
    assertThat(e.getMessage(), equalTo(detail));
  }
}
