package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.ClickAttribution;
import dev.clickstream.features.EventFilter;
import dev.clickstream.schemas.ClickEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.Combine.CombineFn;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * Click attribution as a {@link ClickAttribution} declares it: each click is attributed by an {@link IntervalJoin}
 * to the latest impression with the same join keys (for {@code item_attribution_5min}, the same user and item) at
 * most the declared gap before it, then impressions, clicks, attributed clicks and the attributed clicks' summed
 * time to click are counted per entity (there, the item) over tumbling windows. Below, "item" stands for the
 * entity.
 *
 * <pre>{@code
 * PCollectionTuple attribution =
 *     events.apply("AttributeClicks",
 *         AttributeClicks.of(FeatureDefinitions.ITEM_ATTRIBUTION_5MIN).withAllowedLateness(lateness));
 * PCollection<AttributeClicks.ItemWindow> perItemWindow = attribution.get(AttributeClicks.COUNTS);
 * PCollection<Row> tooLateClicks = attribution.get(AttributeClicks.TOO_LATE_CLICKS);
 * }</pre>
 *
 * <p><b>Input.</b> Avro records ({@link ClickEvent}s unless {@link #of(ClickAttribution, Class)} names another
 * generated class) at their own event time. Fields are read by name ({@link GenericRecord#get(String)}): {@code
 * event_id}, {@code timestamp}, the join keys and the fields of the impression and click conditions, which {@link
 * #of} checks are in the events' schema. Impressions and clicks are joined on the join keys' values as text; an
 * event both conditions match is an impression, and other events are ignored. An impression or click without one
 * of its join keys (null) goes no further: it can be neither joined nor, when the key is the entity, counted. Such
 * a click is counted in {@code clicks_without_<key>}, for the first key it lacks ({@code clicks_without_item} for
 * {@code item_id}, {@code clicks_without_session} for {@code session_id}).
 *
 * <p><b>Output.</b> {@link #COUNTS}: per item, in the feature's tumbling windows, accumulating panes as {@link
 * TumblingWindowAggregate} fires them. An impression counts in its own window; a click counts, attributed or not,
 * in its own window (the join releases it timestamped at its own time, holding the watermark until then). Every
 * click with all its join keys is counted exactly once: attributed, unattributed (no impression in range: kept, as a count),
 * or on {@link #TOO_LATE_CLICKS} when it arrived after the join could still attribute it. An impression that
 * arrives after a click it could have matched was released still counts as an impression; the join counts it in
 * its {@code late_left} metric.
 *
 * <p><b>Metrics</b> (namespace {@code AttributeClicks}): {@code impressions_in}, {@code clicks_in}, {@code
 * clicks_without_<key>}, {@code clicks_attributed}, {@code clicks_unattributed}; and the join's own, in namespace
 * {@code IntervalJoin}.
 *
 * <p><b>Step names</b> follow the entity ({@code SumPerItemWindow} for {@code item_id}), so a feature's steps keep
 * their names, and their state, across upgrades.
 */
public final class AttributeClicks<T extends GenericRecord> extends PTransform<PCollection<T>, PCollectionTuple> {
  /** Per item and window: the counts, in the feature's windows, one element per pane. */
  public static final TupleTag<ItemWindow> COUNTS = new TupleTag<ItemWindow>() {};
  /** Clicks that arrived too late to be attributed, as the join's rows ({@link #eventSchema}). */
  public static final TupleTag<Row> TOO_LATE_CLICKS = new TupleTag<Row>() {};

  static final String NAMESPACE = "AttributeClicks";
  static final String EVENT_ID = "event_id";
  static final String TIMESTAMP = "timestamp";
  private static final String IMPRESSION_PREFIX = "impression_";
  private static final String CLICK_PREFIX = "click_";

  private final ClickAttribution feature;
  private final Duration allowedLateness;

  private AttributeClicks(ClickAttribution feature, Duration allowedLateness) {
    this.feature = feature;
    this.allowedLateness = allowedLateness;
  }

  /** {@code feature} over {@link ClickEvent}s; see {@link #of(ClickAttribution, Class)}. */
  public static AttributeClicks<ClickEvent> of(ClickAttribution feature) {
    return of(feature, ClickEvent.class);
  }

  /**
   * Attribution as {@code feature} declares it, over events of {@code eventClass}, a generated Avro class such as
   * {@code EnrichedClickEvent}: joined on its join keys, counted per its entity, with no allowed lateness.
   *
   * @throws IllegalArgumentException when the events lack a field the feature reads
   */
  public static <T extends GenericRecord> AttributeClicks<T> of(ClickAttribution feature, Class<T> eventClass) {
    requireNonNull(feature, "feature");
    org.apache.avro.Schema schema =
        FeatureSteps.eventSchema(NAMESPACE, feature.name(), requireNonNull(eventClass, "eventClass"));
    List<String> fields = new ArrayList<>(List.of(EVENT_ID, TIMESTAMP));
    fields.addAll(feature.joinKeys());
    fields.add(feature.impressions().field());
    fields.add(feature.clicks().field());
    FeatureSteps.checkFields(NAMESPACE, feature.name(), schema, eventClass.getSimpleName(), fields);
    return new AttributeClicks<>(feature, Duration.ZERO);
  }

  /** How far behind the watermark an impression or click may arrive and still be attributed and counted. */
  public AttributeClicks<T> withAllowedLateness(Duration lateness) {
    return new AttributeClicks<>(feature, FeatureSteps.checkAllowedLateness(lateness));
  }

  /**
   * What the join reads of an event of {@code feature}: its id, its join keys (as text, in declared order) and its
   * own time, the schema of the rows on {@link #TOO_LATE_CLICKS}.
   */
  public static Schema eventSchema(ClickAttribution feature) {
    Schema.Builder schema = Schema.builder().addStringField(EVENT_ID);
    feature.joinKeys().forEach(schema::addStringField);
    return schema.addInt64Field(TIMESTAMP).build();
  }

  @Override
  public PCollectionTuple expand(PCollection<T> events) {
    Schema eventSchema = eventSchema(feature);
    String entityField = feature.entityField();
    PCollectionTuple sides =
        events.apply(
            "SplitImpressionsAndClicks",
            ParDo.of(new SplitFn<T>(feature, eventSchema)).withOutputTags(IMPRESSIONS, TupleTagList.of(CLICKS)));
    PCollection<Row> impressions = sides.get(IMPRESSIONS).setRowSchema(eventSchema);
    PCollection<Row> clicks = sides.get(CLICKS).setRowSchema(eventSchema);

    PCollectionTuple joined =
        PCollectionTuple.of(IntervalJoin.LEFT, impressions)
            .and(IntervalJoin.RIGHT, clicks)
            .apply(
                "JoinClicksToImpressions",
                IntervalJoin.latestLeftPerRight()
                    .withKeyFields(feature.joinKeys().toArray(new String[0]))
                    .withBounds(Duration.ZERO, Duration.millis(feature.maxGapMillis()))
                    .withAllowedLateness(allowedLateness)
                    .withPrefixes(IMPRESSION_PREFIX, CLICK_PREFIX));

    KvCoder<String, Counts> countsCoder = KvCoder.of(StringUtf8Coder.of(), Counts.Coder.of());
    PCollection<KV<String, Counts>> impressionCounts =
        impressions
            .apply(
                "CountImpression",
                MapElements.into(kvOfCounts())
                    .via((Row impression) -> KV.of(impression.getString(entityField), Counts.IMPRESSION)))
            .setCoder(countsCoder);
    PCollection<KV<String, Counts>> attributed =
        joined
            .get(IntervalJoin.MATCHED)
            .apply("CountAttributedClick", ParDo.of(new CountClickFn(entityField, true)))
            .setCoder(countsCoder);
    PCollection<KV<String, Counts>> unattributed =
        joined
            .get(IntervalJoin.UNMATCHED)
            .apply("CountUnattributedClick", ParDo.of(new CountClickFn(entityField, false)))
            .setCoder(countsCoder);

    PCollection<ItemWindow> perItemWindow =
        PCollectionList.of(impressionCounts)
            .and(attributed)
            .and(unattributed)
            .apply("FlattenCounts", Flatten.pCollections())
            .apply(
                "SumPer" + FeatureSteps.camelCase(FeatureSteps.entityLabel(entityField)) + "Window",
                TumblingWindowAggregate.<String, Counts, Counts>of(new SumCounts())
                    .withWindowSize(Duration.millis(feature.window().lengthMillis()))
                    .withAllowedLateness(allowedLateness))
            .apply("AttachWindow", ParDo.of(new AttachWindowFn()))
            .setCoder(ItemWindow.Coder.of());
    return PCollectionTuple.of(COUNTS, perItemWindow).and(TOO_LATE_CLICKS, joined.get(IntervalJoin.LATE_RIGHT));
  }

  private static TypeDescriptor<KV<String, Counts>> kvOfCounts() {
    return TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptor.of(Counts.class));
  }

  private static final TupleTag<Row> IMPRESSIONS = new TupleTag<Row>() {};
  private static final TupleTag<Row> CLICKS = new TupleTag<Row>() {};

  /** Impressions and clicks with every join key, as join rows; clicks without one counted. */
  private static final class SplitFn<T extends GenericRecord> extends DoFn<T, Row> {
    private final Counter impressionsIn = Metrics.counter(NAMESPACE, "impressions_in");
    private final Counter clicksIn = Metrics.counter(NAMESPACE, "clicks_in");
    private final EventFilter impressions;
    private final EventFilter clicks;
    private final Schema eventSchema;
    private final List<String> joinKeys;
    /** Per join key, in the same order: the clicks without it. */
    private final List<Counter> clicksWithout = new ArrayList<>();

    SplitFn(ClickAttribution feature, Schema eventSchema) {
      this.impressions = feature.impressions();
      this.clicks = feature.clicks();
      this.eventSchema = eventSchema;
      this.joinKeys = feature.joinKeys();
      for (String key : joinKeys) {
        clicksWithout.add(Metrics.counter(NAMESPACE, "clicks_without_" + FeatureSteps.entityLabel(key)));
      }
    }

    @ProcessElement
    public void processElement(@Element T event, MultiOutputReceiver out) {
      boolean impression = impressions.matches(event::get);
      if (!impression && !clicks.matches(event::get)) {
        return;
      }
      if (impression) {
        impressionsIn.inc();
      } else {
        clicksIn.inc();
      }
      List<Object> values = new ArrayList<>(joinKeys.size() + 2);
      values.add(event.get(EVENT_ID).toString());
      for (int i = 0; i < joinKeys.size(); i++) {
        Object key = event.get(joinKeys.get(i));
        if (key == null) {
          if (!impression) {
            clicksWithout.get(i).inc();
          }
          return;
        }
        values.add(key.toString());
      }
      values.add(((Number) event.get(TIMESTAMP)).longValue());
      // The values have the schema's types by construction: attachValues skips the builder's checks of every field.
      out.get(impression ? IMPRESSIONS : CLICKS).output(Row.withSchema(eventSchema).attachValues(values));
    }
  }

  /**
   * Counts each click the join output under its entity: a matched row (fields prefixed) as attributed, with its
   * time to click; a click as it came as unattributed.
   */
  private static final class CountClickFn extends DoFn<Row, KV<String, Counts>> {
    private final boolean attributed;
    private final String entityField;
    private final Counter clicks;

    CountClickFn(String entityField, boolean attributed) {
      this.attributed = attributed;
      this.entityField = attributed ? CLICK_PREFIX + entityField : entityField;
      this.clicks = Metrics.counter(NAMESPACE, attributed ? "clicks_attributed" : "clicks_unattributed");
    }

    @ProcessElement
    public void processElement(@Element Row click, OutputReceiver<KV<String, Counts>> out) {
      clicks.inc();
      Counts counts = attributed ? new Counts(0, 1, 1, timeToClick(click)) : Counts.UNATTRIBUTED_CLICK;
      out.output(KV.of(click.getString(entityField), counts));
    }

    private static long timeToClick(Row match) {
      return match.getInt64(CLICK_PREFIX + TIMESTAMP) - match.getInt64(IMPRESSION_PREFIX + TIMESTAMP);
    }
  }

  private static final class AttachWindowFn extends DoFn<KV<String, Counts>, ItemWindow> {
    @ProcessElement
    public void processElement(
        @Element KV<String, Counts> itemCounts, IntervalWindow window, OutputReceiver<ItemWindow> out) {
      out.output(
          new ItemWindow(
              itemCounts.getKey(), window.start().getMillis(), window.end().getMillis(), itemCounts.getValue()));
    }
  }

  /** One item's (entity's) counts over one window {@code [windowStart, windowEnd)}, as of one pane. Immutable. */
  public static final class ItemWindow {
    private final String item;
    private final long windowStart;
    private final long windowEnd;
    private final Counts counts;

    public ItemWindow(String item, long windowStart, long windowEnd, Counts counts) {
      this.item = requireNonNull(item, "item");
      this.windowStart = windowStart;
      this.windowEnd = windowEnd;
      this.counts = requireNonNull(counts, "counts");
    }

    public String item() {
      return item;
    }

    public long windowStart() {
      return windowStart;
    }

    public long windowEnd() {
      return windowEnd;
    }

    public Counts counts() {
      return counts;
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof ItemWindow)) {
        return false;
      }
      ItemWindow that = (ItemWindow) o;
      return item.equals(that.item) && windowStart == that.windowStart && windowEnd == that.windowEnd
          && counts.equals(that.counts);
    }

    @Override
    public int hashCode() {
      return Objects.hash(item, windowStart, windowEnd, counts);
    }

    @Override
    public String toString() {
      return item + "@[" + windowStart + ", " + windowEnd + "): " + counts;
    }

    /** The item, two variable-length longs and the counts. */
    public static final class Coder extends AtomicCoder<ItemWindow> {
      private static final Coder INSTANCE = new Coder();
      private static final VarLongCoder LONG = VarLongCoder.of();

      public static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(ItemWindow value, OutputStream out) throws IOException {
        StringUtf8Coder.of().encode(value.item, out);
        LONG.encode(value.windowStart, out);
        LONG.encode(value.windowEnd, out);
        Counts.Coder.of().encode(value.counts, out);
      }

      @Override
      public ItemWindow decode(InputStream in) throws IOException {
        return new ItemWindow(StringUtf8Coder.of().decode(in), LONG.decode(in), LONG.decode(in),
            Counts.Coder.of().decode(in));
      }

      @Override
      public void verifyDeterministic() {}

      @Override
      public boolean consistentWithEquals() {
        return true;
      }
    }
  }

  /** Sums counts; associative and commutative, so runners combine before the shuffle. */
  static final class SumCounts extends CombineFn<Counts, Counts, Counts> {
    @Override
    public Counts createAccumulator() {
      return Counts.ZERO;
    }

    @Override
    public Counts addInput(Counts sum, Counts input) {
      return sum.plus(input);
    }

    @Override
    public Counts mergeAccumulators(Iterable<Counts> sums) {
      Counts total = Counts.ZERO;
      for (Counts sum : sums) {
        total = total.plus(sum);
      }
      return total;
    }

    @Override
    public Counts extractOutput(Counts sum) {
      return sum;
    }

    @Override
    public Coder<Counts> getAccumulatorCoder(CoderRegistry registry, Coder<Counts> inputCoder) {
      return Counts.Coder.of();
    }

    @Override
    public Coder<Counts> getDefaultOutputCoder(CoderRegistry registry, Coder<Counts> inputCoder) {
      return Counts.Coder.of();
    }
  }

  /** An item's impressions, clicks, attributed clicks and their summed time to click (ms). Immutable. */
  public static final class Counts {
    static final Counts ZERO = new Counts(0, 0, 0, 0);
    static final Counts IMPRESSION = new Counts(1, 0, 0, 0);
    static final Counts UNATTRIBUTED_CLICK = new Counts(0, 1, 0, 0);

    private final long impressions;
    private final long clicks;
    private final long attributedClicks;
    private final long sumTimeToClickMillis;

    public Counts(long impressions, long clicks, long attributedClicks, long sumTimeToClickMillis) {
      this.impressions = impressions;
      this.clicks = clicks;
      this.attributedClicks = attributedClicks;
      this.sumTimeToClickMillis = sumTimeToClickMillis;
    }

    public long impressions() {
      return impressions;
    }

    public long clicks() {
      return clicks;
    }

    public long attributedClicks() {
      return attributedClicks;
    }

    public long sumTimeToClickMillis() {
      return sumTimeToClickMillis;
    }

    Counts plus(Counts other) {
      return new Counts(
          impressions + other.impressions,
          clicks + other.clicks,
          attributedClicks + other.attributedClicks,
          sumTimeToClickMillis + other.sumTimeToClickMillis);
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Counts)) {
        return false;
      }
      Counts that = (Counts) o;
      return impressions == that.impressions && clicks == that.clicks && attributedClicks == that.attributedClicks
          && sumTimeToClickMillis == that.sumTimeToClickMillis;
    }

    @Override
    public int hashCode() {
      return Objects.hash(impressions, clicks, attributedClicks, sumTimeToClickMillis);
    }

    @Override
    public String toString() {
      return "Counts{impressions=" + impressions + ", clicks=" + clicks + ", attributed=" + attributedClicks
          + ", sumTimeToClickMillis=" + sumTimeToClickMillis + "}";
    }

    /** Four variable-length longs. */
    public static final class Coder extends AtomicCoder<Counts> {
      private static final Coder INSTANCE = new Coder();
      private static final VarLongCoder LONG = VarLongCoder.of();

      public static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(Counts counts, OutputStream out) throws IOException {
        LONG.encode(counts.impressions, out);
        LONG.encode(counts.clicks, out);
        LONG.encode(counts.attributedClicks, out);
        LONG.encode(counts.sumTimeToClickMillis, out);
      }

      @Override
      public Counts decode(InputStream in) throws IOException {
        return new Counts(LONG.decode(in), LONG.decode(in), LONG.decode(in), LONG.decode(in));
      }

      @Override
      public void verifyDeterministic() {}

      @Override
      public boolean consistentWithEquals() {
        return true;
      }
    }
  }
}
