package dev.clickstream.transforms;

import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.ClickEvent;
import org.apache.avro.Schema;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;

/**
 * The events a {@link WindowedAggregation} reads, as {@link FeatureEvent}s: those that pass its filter, with the
 * entity and value taken from the fields its definition names. Element timestamps are kept.
 *
 * <p>Fields are looked up by name in the event's Avro schema, so a definition can filter, group or aggregate by
 * any field of {@link ClickEvent}. An event whose entity field is missing, or whose value field is not a number,
 * does not match: it is counted in {@code SelectFeatureEvents/events_without_entity} or {@code
 * events_with_unreadable_value} (parsing already sent malformed events to the dead letters).
 */
public final class SelectFeatureEvents extends PTransform<PCollection<ClickEvent>, PCollection<FeatureEvent>> {
  private final WindowedAggregation feature;

  private SelectFeatureEvents(WindowedAggregation feature) {
    this.feature = feature;
  }

  public static SelectFeatureEvents of(WindowedAggregation feature) {
    checkFieldsExist(feature);
    return new SelectFeatureEvents(feature);
  }

  @Override
  public PCollection<FeatureEvent> expand(PCollection<ClickEvent> events) {
    return events
        .apply("Select" + FeatureSteps.camelCase(feature.name()), ParDo.of(new SelectFn(feature)))
        .setCoder(FeatureEvent.Coder.of());
  }

  /** Fails at construction, not on the first event, when the definition names a field events do not have. */
  private static void checkFieldsExist(WindowedAggregation feature) {
    Schema schema = ClickEvent.getClassSchema();
    for (String field : new String[] {
        feature.entityField(), feature.valueField(), feature.filter() == null ? null : feature.filter().field()}) {
      if (field != null && schema.getField(field) == null) {
        throw new IllegalArgumentException(
            "feature " + feature.name() + " reads the field '" + field + "', which click events do not have; fields: "
                + schema.getFields().stream().map(Schema.Field::name).collect(java.util.stream.Collectors.toList()));
      }
    }
  }


  static final class SelectFn extends DoFn<ClickEvent, FeatureEvent> {
    private final WindowedAggregation feature;
    private final Counter withoutEntity = Metrics.counter("SelectFeatureEvents", "events_without_entity");
    private final Counter unreadableValue = Metrics.counter("SelectFeatureEvents", "events_with_unreadable_value");

    SelectFn(WindowedAggregation feature) {
      this.feature = feature;
    }

    @ProcessElement
    public void processElement(@Element ClickEvent event, OutputReceiver<FeatureEvent> out) {
      if (feature.filter() != null && !feature.filter().matches(field -> event.get(field))) {
        return;
      }
      Object entity = event.get(feature.entityField());
      if (entity == null || entity.toString().isEmpty()) {
        withoutEntity.inc();
        return;
      }
      Double value = null;
      if (feature.valueField() != null) {
        Object raw = event.get(feature.valueField());
        if (raw != null && !(raw instanceof Number)) {
          unreadableValue.inc();
          return;
        }
        value = raw == null ? null : ((Number) raw).doubleValue();
      }
      out.output(new FeatureEvent(event.getEventId().toString(), entity.toString(), event.getTimestamp(), value));
    }
  }
}
