package dev.clickstream.io;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.ClickEventSchemas;
import dev.clickstream.transforms.InvalidEventException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.kafka.DeserializerProvider;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * A Kafka message's value, decoded once, as it is read: its exact bytes, and the {@link ClickEvent} they hold or the
 * reason and detail of why they hold none. The event-time policy stamps the message from it and {@link
 * ReadKafkaEvents} sorts it into events and dead letters from it, so no message is decoded twice.
 *
 * <p>Decoding never throws: a deserializer that threw would fail the job (KafkaIO's bad-record handler is ignored by
 * the classic Flink runner), so a message that is not an event is a value like any other.
 */
final class DecodedMessage {
  /** The message's bytes; null for a tombstone. */
  final byte[] payload;
  /** The valid event, or null. */
  final ClickEvent event;
  /** Why {@link #payload} is not a valid event, or null when it is. */
  final String reason;
  final String detail;

  private DecodedMessage(byte[] payload, ClickEvent event, String reason, String detail) {
    this.payload = payload;
    this.event = event;
    this.reason = reason;
    this.detail = detail;
  }

  static DecodedMessage decode(byte[] payload, ClickEventDecoder.Format format, ClickEventSchemas writerSchemas) {
    try {
      return new DecodedMessage(payload, ClickEventDecoder.decode(payload, format, writerSchemas), null, null);
    } catch (InvalidEventException e) {
      return new DecodedMessage(payload, null, e.reason, e.getMessage());
    }
  }

  /** How both readers decode a message's value: the value deserializer of their consumers. */
  static DeserializerProvider<DecodedMessage> deserializer(
      ClickEventDecoder.Format format, ClickEventSchemas writerSchemas) {
    return new DeserializerProvider<>() {
      @Override
      public Deserializer<DecodedMessage> getDeserializer(Map<String, ?> configs, boolean isKey) {
        return (topic, payload) -> decode(payload, format, writerSchemas);
      }

      @Override
      public Coder<DecodedMessage> getCoder(CoderRegistry registry) {
        return CODER;
      }
    };
  }

  static final Coder<DecodedMessage> CODER = new DecodedMessageCoder();

  /** The bytes, then the event or the reason and detail; a decoded message is never decoded again. */
  private static final class DecodedMessageCoder extends CustomCoder<DecodedMessage> {
    private static final Coder<byte[]> PAYLOAD = NullableCoder.of(ByteArrayCoder.of());
    private static final Coder<ClickEvent> EVENT = NullableCoder.of(AvroCoder.of(ClickEvent.class));
    private static final Coder<String> TEXT = NullableCoder.of(StringUtf8Coder.of());

    @Override
    public void encode(DecodedMessage message, OutputStream out) throws IOException {
      PAYLOAD.encode(message.payload, out);
      EVENT.encode(message.event, out);
      TEXT.encode(message.reason, out);
      TEXT.encode(message.detail, out);
    }

    @Override
    public DecodedMessage decode(InputStream in) throws IOException {
      return new DecodedMessage(PAYLOAD.decode(in), EVENT.decode(in), TEXT.decode(in), TEXT.decode(in));
    }
  }
}
