package dev.clickstream.pipelines;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.DeadLetters;
import dev.clickstream.transforms.FeatureEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Duration;

/** Events a feature could no longer apply, as dead letters: nothing late is dropped without a trace. */
final class TooLateEvents {
  static final String REASON = "late";
  private static final ObjectMapper JSON = new ObjectMapper();

  private TooLateEvents() {}

  static PTransform<PCollection<FeatureEvent>, PCollection<DeadLetter>> toDeadLetters(
      String stage, Duration allowedLateness) {
    return new PTransform<PCollection<FeatureEvent>, PCollection<DeadLetter>>() {
      @Override
      public PCollection<DeadLetter> expand(PCollection<FeatureEvent> events) {
        String detail =
            "the event arrived after the watermark had passed its window by more than the allowed lateness ("
                + allowedLateness + "); raise --allowedLateness to apply such events";
        return events
            .apply(
                MapElements.into(TypeDescriptor.of(DeadLetter.class))
                    .via((FeatureEvent event) -> DeadLetters.of(stage, REASON, detail, payload(event))))
            .setCoder(AvroCoder.of(DeadLetter.class));
      }
    };
  }

  /** An empty collection of dead letters, for graphs without a late path. */
  static PTransform<PBegin, PCollection<DeadLetter>> none() {
    return Create.empty(AvroCoder.of(DeadLetter.class));
  }

  /** The event as JSON: its original line is gone by now, but these are the fields a feature read. */
  static String payload(FeatureEvent event) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("event_id", event.eventId());
    fields.put("entity", event.entity());
    fields.put("timestamp", event.timestamp());
    if (event.value() != null) {
      fields.put("value", event.value());
    }
    try {
      return JSON.writeValueAsString(fields);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render " + event + " as JSON", e);
    }
  }
}
