package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.Aggregation;
import dev.clickstream.features.EventFilter;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.schemas.ClickEvent;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * Click-through rate per user over tumbling event-time windows: impressions, clicks and {@link CtrCounts#ctr()}, as
 * a {@link TumblingAggregation} declares them: its entity, its window length, and the conditions of the two counts
 * its ratio divides (the denominator counts as impressions, the numerator as clicks).
 *
 * <p>Input events must carry their event time (see {@link AssignEventTime}). Only events that one of the two
 * conditions matches count; a window holding none produces nothing, and neither does an event without an entity.
 * Output panes accumulate (see {@link TumblingWindowAggregate}).
 */
public final class CtrPerUser extends PTransform<PCollection<ClickEvent>, PCollection<KV<String, CtrCounts>>> {
  private final String entityField;
  private final String typeField;
  private final String impressionType;
  private final String clickType;
  private final TumblingWindowAggregate<String, String, CtrCounts> aggregate;

  private CtrPerUser(
      String entityField,
      String typeField,
      String impressionType,
      String clickType,
      TumblingWindowAggregate<String, String, CtrCounts> aggregate) {
    this.entityField = entityField;
    this.typeField = typeField;
    this.impressionType = impressionType;
    this.clickType = clickType;
    this.aggregate = aggregate;
  }

  /**
   * CTR as {@code feature} declares it, with no allowed lateness. The feature must have exactly two counts, each
   * with a {@code where(field, value)} on the same field of click events, and one ratio dividing one by the other.
   */
  public static CtrPerUser of(TumblingAggregation feature) {
    List<TumblingAggregation.Ratio> ratios = feature.ratios();
    if (feature.aggregations().size() != 2 || ratios.size() != 1) {
      throw unsupported(feature, "it needs exactly two counts and one ratio, got " + feature.aggregations()
          + " and " + ratios);
    }
    TumblingAggregation.Ratio ratio = ratios.get(0);
    if (ratio.numerator().equals(ratio.denominator())) {
      throw unsupported(feature, "its ratio " + ratio + " must divide one count by the other");
    }
    EventFilter impressions = condition(feature, feature.aggregation(ratio.denominator()));
    EventFilter clicks = condition(feature, feature.aggregation(ratio.numerator()));
    if (!impressions.field().equals(clicks.field())) {
      throw unsupported(feature, "its counts test different fields (" + impressions + ", " + clicks
          + "); CtrPerUser reads one");
    }
    if (impressions.value().equals(clicks.value())) {
      throw unsupported(feature, "both its counts match " + clicks);
    }
    checkFieldExists(feature, feature.entityField());
    checkFieldExists(feature, impressions.field());
    return new CtrPerUser(
        feature.entityField(),
        impressions.field(),
        impressions.value(),
        clicks.value(),
        TumblingWindowAggregate.<String, String, CtrCounts>of(
                new CountImpressionsAndClicks(impressions.value(), clicks.value()))
            .withWindowSize(Duration.millis(feature.windowMillis())));
  }

  /** CTR as {@link FeatureDefinitions#CTR_5MIN} declares it: 5-minute windows aligned to the epoch. */
  public static CtrPerUser overFiveMinuteWindows() {
    return of(FeatureDefinitions.CTR_5MIN);
  }

  /** Overrides the declared window length; the windows stay aligned to the epoch. */
  public CtrPerUser withWindowSize(Duration size) {
    return new CtrPerUser(entityField, typeField, impressionType, clickType, aggregate.withWindowSize(size));
  }

  public CtrPerUser withAllowedLateness(Duration lateness) {
    return new CtrPerUser(
        entityField, typeField, impressionType, clickType, aggregate.withAllowedLateness(lateness));
  }

  public CtrPerUser withEarlyFiringsEvery(Duration delay) {
    return new CtrPerUser(
        entityField, typeField, impressionType, clickType, aggregate.withEarlyFiringsEvery(delay));
  }

  @Override
  public PCollection<KV<String, CtrCounts>> expand(PCollection<ClickEvent> events) {
    // Locals, so the lambdas capture strings and not this transform.
    String entityField = this.entityField;
    String typeField = this.typeField;
    String impressionType = this.impressionType;
    String clickType = this.clickType;
    return events
        .apply(
            "KeepImpressionsAndClicks",
            Filter.by(
                (ClickEvent event) -> {
                  String type = field(event, typeField);
                  return field(event, entityField) != null
                      && (impressionType.equals(type) || clickType.equals(type));
                }))
        .apply(
            "KeyByUser",
            MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                .via((ClickEvent event) -> KV.of(field(event, entityField), field(event, typeField))))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))
        .apply("AggregatePerWindow", aggregate);
  }

  /** The event's value of {@code name} as text, or null. */
  private static String field(ClickEvent event, String name) {
    Object value = event.get(name);
    return value == null ? null : value.toString();
  }

  private static EventFilter condition(TumblingAggregation feature, Aggregation count) {
    if (count.filter() == null) {
      throw unsupported(feature, count + " counts every event; CtrPerUser needs a where(field, value) on each count");
    }
    return count.filter();
  }

  /** Fails when the graph is built, not on the first event. */
  private static void checkFieldExists(TumblingAggregation feature, String field) {
    Schema schema = ClickEvent.getClassSchema();
    if (schema.getField(requireNonNull(field, "field")) == null) {
      throw unsupported(feature, "it reads the field '" + field + "', which click events do not have; fields: "
          + schema.getFields().stream().map(Schema.Field::name).collect(Collectors.toList()));
    }
  }

  private static IllegalArgumentException unsupported(TumblingAggregation feature, String reason) {
    return new IllegalArgumentException("CtrPerUser cannot compute feature " + feature.name() + ": " + reason);
  }
}
