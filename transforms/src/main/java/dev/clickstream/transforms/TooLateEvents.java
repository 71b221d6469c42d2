package dev.clickstream.transforms;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.schemas.DeadLetter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Duration;

/** Events a feature could no longer apply, as dead letters: nothing late is dropped without a trace. */
public final class TooLateEvents {
  public static final String REASON = "late";
  private static final ObjectMapper JSON = new ObjectMapper();

  private TooLateEvents() {}

  /** Feature events a rolling step could no longer apply; the payload is the fields the feature read. */
  public static PTransform<PCollection<FeatureEvent>, PCollection<DeadLetter>> toDeadLetters(
      String stage, Duration allowedLateness) {
    return deadLetters(
        stage,
        "the event arrived after the watermark had passed its window by more than the allowed lateness ("
            + allowedLateness + "); raise --allowedLateness to apply such events",
        TooLateEvents::payload);
  }

  /**
   * Events (click events, enriched ones) a stateful step could no longer apply; the payload is the event as Avro
   * renders it (JSON).
   */
  public static <T extends GenericRecord> PTransform<PCollection<T>, PCollection<DeadLetter>> eventsToDeadLetters(
      String stage, Duration allowedLateness) {
    return deadLetters(stage, detail(allowedLateness), T::toString);
  }

  /** Rows (such as a join's inputs) a step could no longer apply; the payload is the row's fields as JSON. */
  public static PTransform<PCollection<Row>, PCollection<DeadLetter>> rowsToDeadLetters(
      String stage, Duration allowedLateness) {
    return deadLetters(stage, detail(allowedLateness), TooLateEvents::payload);
  }

  private static <T> PTransform<PCollection<T>, PCollection<DeadLetter>> deadLetters(
      String stage, String detail, SerializableFunction<T, String> payload) {
    return new PTransform<PCollection<T>, PCollection<DeadLetter>>() {
      @Override
      public PCollection<DeadLetter> expand(PCollection<T> late) {
        return late
            .apply(
                MapElements.into(TypeDescriptor.of(DeadLetter.class))
                    .via((T element) -> DeadLetters.of(stage, REASON, detail, payload.apply(element))))
            .setCoder(AvroCoder.of(DeadLetter.class));
      }
    };
  }

  private static String detail(Duration allowedLateness) {
    return "the event arrived after the watermark had passed the time it could still be applied by more than the"
        + " allowed lateness (" + allowedLateness + "); raise --allowedLateness to apply such events";
  }

  static String payload(Row row) {
    Map<String, Object> fields = new LinkedHashMap<>();
    for (Schema.Field field : row.getSchema().getFields()) {
      fields.put(field.getName(), row.getValue(field.getName()));
    }
    return json(fields);
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
    return json(fields);
  }

  private static String json(Map<String, Object> fields) {
    try {
      return JSON.writeValueAsString(fields);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render " + fields + " as JSON", e);
    }
  }
}
