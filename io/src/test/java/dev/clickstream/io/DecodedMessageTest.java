package dev.clickstream.io;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.ClickEventSchemas;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.util.CoderUtils;
import org.junit.jupiter.api.Test;

/** A message is decoded once, into its event or its reason, and crosses a coder as it is. */
class DecodedMessageTest {
  private static final ClickEvent CLICK =
      ClickEvent.newBuilder().setEventId("e1").setUserId("u1").setEventType("click").setTimestamp(1_000).build();

  @Test
  void anEventKeepsItsBytesAndEventThroughTheCoder() throws Exception {
    byte[] avro = ClickEventDecoder.toAvro(CLICK);
    DecodedMessage copy = CoderUtils.clone(DecodedMessage.CODER, decode(avro));
    assertThat(
        List.of(Arrays.equals(copy.payload, avro), copy.event, String.valueOf(copy.reason)),
        equalTo(List.of(true, CLICK, "null")));
  }

  @Test
  void aBadRecordAndATombstoneKeepTheirReasonAndDetailThroughTheCoder() throws Exception {
    byte[] noUser = "{\"event_id\":\"e1\",\"event_type\":\"click\",\"timestamp\":1}".getBytes(StandardCharsets.UTF_8);
    DecodedMessage bad = CoderUtils.clone(DecodedMessage.CODER, decode(noUser));
    DecodedMessage tombstone = CoderUtils.clone(DecodedMessage.CODER, decode(null));
    assertThat(
        List.of(new String(bad.payload, StandardCharsets.UTF_8), String.valueOf(bad.event), bad.reason, bad.detail,
            String.valueOf(tombstone.payload), tombstone.reason, tombstone.detail),
        equalTo(List.of(new String(noUser, StandardCharsets.UTF_8), "null", "missing_field",
            "required field 'user_id' is missing", "null", "empty_record", "the record is empty")));
  }

  private static DecodedMessage decode(byte[] payload) {
    return DecodedMessage.decode(payload, ClickEventDecoder.Format.AUTO, ClickEventSchemas.compiled());
  }
}
