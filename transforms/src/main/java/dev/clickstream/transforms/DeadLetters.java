package dev.clickstream.transforms;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.schemas.DeadLetter;
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

  /** One JSON object per dead letter, as written to dead-letter files. */
  public static String toJson(DeadLetter deadLetter) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("stage", deadLetter.getStage());
    fields.put("reason", deadLetter.getReason());
    fields.put("detail", deadLetter.getDetail());
    fields.put("raw_payload", deadLetter.getRawPayload());
    fields.put("failed_at", deadLetter.getFailedAt());
    try {
      return JSON.writeValueAsString(fields);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render a dead letter as JSON", e);
    }
  }
}
