package dev.clickstream.transforms;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.schemas.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds and renders {@link DeadLetter}s, the failure output of every transform that can reject a record. */
public final class DeadLetters {
  private static final ObjectMapper JSON = new ObjectMapper();

  private DeadLetters() {}

  public static DeadLetter of(String stage, String reason, String detail, String rawPayload) {
    return DeadLetter.newBuilder()
        .setStage(stage)
        .setReason(reason)
        .setDetail(detail)
        .setRawPayload(rawPayload)
        .setFailedAt(System.currentTimeMillis())
        .build();
  }

  /**
   * A dead letter for a message: {@code rawBytes} are kept exactly (the dead-letter topic carries them), and the
   * raw payload is their UTF-8 text, or {@code base64:...} when they are not valid UTF-8 (Avro binary, say).
   *
   * @param source where the message was read, such as {@code topic/partition@offset}
   */
  public static DeadLetter ofMessage(String stage, String reason, String detail, byte[] rawBytes, String source) {
    DeadLetter deadLetter = of(stage, reason, detail, asText(rawBytes));
    deadLetter.setRawBytes(ByteBuffer.wrap(rawBytes == null ? new byte[0] : rawBytes));
    deadLetter.setSource(source);
    return deadLetter;
  }

  /** The exact bytes the dead letter stands for: its raw bytes when it has them, else its payload as UTF-8. */
  public static byte[] rawBytes(DeadLetter deadLetter) {
    ByteBuffer raw = deadLetter.getRawBytes();
    if (raw == null) {
      return deadLetter.getRawPayload().getBytes(StandardCharsets.UTF_8);
    }
    byte[] bytes = new byte[raw.remaining()];
    raw.duplicate().get(bytes);
    return bytes;
  }

  static String asText(byte[] bytes) {
    if (bytes == null) {
      return "";
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return "base64:" + Base64.getEncoder().encodeToString(bytes);
    }
  }

  /** One JSON object per dead letter, as written to dead-letter files. */
  public static String toJson(DeadLetter deadLetter) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("stage", deadLetter.getStage());
    fields.put("reason", deadLetter.getReason());
    fields.put("detail", deadLetter.getDetail());
    fields.put("raw_payload", deadLetter.getRawPayload());
    fields.put("failed_at", deadLetter.getFailedAt());
    if (deadLetter.getSource() != null) {
      fields.put("source", deadLetter.getSource());
    }
    try {
      return JSON.writeValueAsString(fields);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render a dead letter as JSON", e);
    }
  }
}
