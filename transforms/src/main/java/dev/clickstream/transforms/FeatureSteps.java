package dev.clickstream.transforms;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/** What the feature transforms share: keying, the checks of fields and lateness, step names, and the run's mode. */
final class FeatureSteps {
  private FeatureSteps() {}

  /** Keys each event by its entity: the first step of every per-entity aggregation. */
  static PTransform<PCollection<FeatureEvent>, PCollection<KV<String, FeatureEvent>>> keyByEntity() {
    return new PTransform<PCollection<FeatureEvent>, PCollection<KV<String, FeatureEvent>>>() {
      @Override
      public PCollection<KV<String, FeatureEvent>> expand(PCollection<FeatureEvent> events) {
        return events
            .apply(
                MapElements.into(
                        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptor.of(FeatureEvent.class)))
                    .via((FeatureEvent event) -> KV.of(event.entity(), event)))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), FeatureEvent.Coder.of()));
      }
    };
  }

  /**
   * Whether {@code input} is combined as a stream: unbounded, or read by a streaming run ({@code --streaming}), as a
   * bounded Kafka read with {@code --maxRecords} is, so that it takes the path a live stream takes.
   */
  static boolean isStream(PCollection<?> input) {
    return input.isBounded() == PCollection.IsBounded.UNBOUNDED
        || input.getPipeline().getOptions().as(StreamingOptions.class).isStreaming();
  }

  /** {@code lateness}, when it is zero or positive. */
  static Duration checkAllowedLateness(Duration lateness) {
    if (lateness == null || lateness.isShorterThan(Duration.ZERO)) {
      throw new IllegalArgumentException("allowedLateness must be zero or positive, got " + lateness);
    }
    return lateness;
  }

  /**
   * The schema of {@code eventClass}, a generated Avro class, by which {@code transform} reads the fields of {@code
   * feature} by name.
   */
  static Schema eventSchema(String transform, String feature, Class<?> eventClass) {
    try {
      return SpecificData.get().getSchema(eventClass);
    } catch (AvroRuntimeException e) {
      throw new IllegalArgumentException(
          transform + " cannot compute feature " + feature + " over " + eventClass.getName()
              + ": it reads fields by the schema of the event class, and that class has none; pass a generated Avro"
              + " class such as EnrichedClickEvent",
          e);
    }
  }

  /** Fails when the graph is built, not on the first event, if {@code events} lack a field the feature reads. */
  static void checkFields(String transform, String feature, Schema schema, String events, Collection<String> fields) {
    List<String> missing =
        new LinkedHashSet<>(fields)
            .stream().filter(field -> schema.getField(field) == null).collect(Collectors.toList());
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          transform + " cannot compute feature " + feature + " over " + events + ": it reads the fields " + missing
              + ", which " + events + " does not have; its fields: "
              + schema.getFields().stream().map(Schema.Field::name).collect(Collectors.toList()));
    }
  }

  /** {@code user_id} as {@code user}: how step and metric names call the entity a step is per. */
  static String entityLabel(String field) {
    return field.endsWith("_id") && field.length() > "_id".length()
        ? field.substring(0, field.length() - "_id".length())
        : field;
  }

  /** {@code click_counts} as {@code ClickCounts}, for step names. */
  static String camelCase(String name) {
    StringBuilder out = new StringBuilder();
    for (String part : name.split("_")) {
      if (!part.isEmpty()) {
        out.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
      }
    }
    return out.toString();
  }

  /**
   * Batch runners (Flink's batch mode among them) fire each window exactly once over complete input and leave the
   * timing UNKNOWN; that single firing is the on-time result, and saying so keeps rows identical across runners.
   */
  static PaneInfo.Timing timing(PaneInfo pane) {
    if (pane.getTiming() == PaneInfo.Timing.UNKNOWN && pane.isFirst() && pane.isLast()) {
      return PaneInfo.Timing.ON_TIME;
    }
    return pane.getTiming();
  }
}
