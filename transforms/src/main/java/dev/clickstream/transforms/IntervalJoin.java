package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.join.RawUnionValue;
import org.apache.beam.sdk.transforms.join.UnionCoder;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * A stream–stream interval join on keyed state and event-time timers: each right element is joined to the latest
 * left element of the same key whose time is within an interval before (or around) it. First used for click
 * attribution, impressions on the left and clicks on the right:
 *
 * <pre>{@code
 * PCollectionTuple attributed =
 *     PCollectionTuple.of(IntervalJoin.LEFT, impressions)
 *         .and(IntervalJoin.RIGHT, clicks)
 *         .apply("AttributeClicks",
 *             IntervalJoin.latestLeftPerRight()
 *                 .withKeyFields("user_id", "item_id")
 *                 .withBounds(Duration.ZERO, Duration.standardMinutes(30))
 *                 .withPrefixes("impression_", "click_"));
 * PCollection<Row> clicksWithTheirImpression = attributed.get(IntervalJoin.MATCHED);
 * PCollection<Row> clicksWithoutImpression = attributed.get(IntervalJoin.UNMATCHED);
 * }</pre>
 *
 * <p><b>Inputs.</b> Two {@code PCollection<Row>}s with schemas, tagged {@link #LEFT} and {@link #RIGHT}, bounded or
 * not, in any windowing (they are rewindowed into the global window). An element's time is its element timestamp,
 * which must be the event's own time (see {@link AssignEventTime}). The key fields are top-level fields that both
 * schemas have, with the same type; a null key value is a key like any other (null matches null).
 *
 * <p><b>Bounds.</b> A right element at {@code r} matches a left element at {@code l} of the same key when {@code
 * l + lowerBound <= r <= l + upperBound}, both ends inclusive; equivalently {@code l} is in {@code [r - upperBound,
 * r - lowerBound]}. The defaults, {@code [0, 30 minutes]}, attribute a click to an impression at most 30 minutes
 * before it: one exactly 30 minutes before counts, as does one at exactly the click's time.
 *
 * <p><b>Matching.</b> Each right element is output exactly once: on {@link #MATCHED}, merged with the latest
 * matching left element (on a tie of times, the one that arrived first), or on {@link #UNMATCHED} as it came when
 * nothing matched, or on {@link #LATE_RIGHT}. A left element may match any number of right elements. Other modes
 * are possible on the same state but not implemented: every matching left (Flink's interval join, one row per
 * pair), or the earliest.
 *
 * <p><b>Merged rows.</b> {@link #withPrefixes} (the default, {@code left_} and {@code right_}) keeps every field of
 * both sides, each renamed with its side's prefix, left fields first. {@link #withPriority} keeps the left fields in
 * order, then the right fields the left does not have; a field both sides have takes the name, type and value of
 * the priority side.
 *
 * <p><b>Order and lateness.</b> Arrival order does not matter within the allowed lateness. A right element is held
 * until the watermark passes {@code r - lowerBound + allowedLateness} (and {@code r}), when no left element that
 * could match it can still arrive in time; it is then output, timestamped at {@code r}, which it holds back in the
 * output watermark until then. An element is too late, and goes unchanged to {@link #LATE_RIGHT} or {@link
 * #LATE_LEFT}, once the join may have acted without it: a right element once the watermark has passed its own
 * release time, as the left elements it could match may have been cleared; a left element once the watermark has
 * passed the release time of the earliest right element it could match ({@code l + allowedLateness}, for a lower
 * bound of zero). The join sees the watermark only through the times at which the key's timers fired, so an element
 * that the key's timers have not yet passed is joined normally: the result is what on-time input would give, though
 * the output may then be behind the output watermark.
 *
 * <p><b>State.</b> Per key, one value ({@code HeldElements}): the left elements until the watermark passes {@code
 * l + upperBound - lowerBound + allowedLateness}, after which no right element they could match can still arrive in
 * time; the right elements until they are output; the times the two timers are set for; and the latest time the
 * key's timers fired at, kept for as long as the pipeline runs so that late elements are recognised (as {@link
 * RollingAggregate} keeps its entities' latest times), so a key whose elements are all gone still holds about a
 * hundred bytes. One value rather than one cell each: Beam on Flink looks up every cell and builds its namespace key on
 * each access, and a key holds few elements. It uses {@code ValueState} and two event-time timers, which the Flink
 * runner supports, and relies on a key's timers firing in timestamp order only for promptness, not correctness.
 *
 * <p><b>Metrics</b>, per step, in the namespace {@code IntervalJoin}: counters {@code left_elements_in}, {@code
 * right_elements_in}, {@code matched}, {@code unmatched}, {@code late_left}, {@code late_right} and {@code
 * lefts_expired} (left elements cleared from state); distributions {@code lefts_held} and {@code rights_held}, the
 * number a key holds after each arrival, and {@code process_micros}, each arrival's processing time. Every right element is counted once: {@code right_elements_in = matched +
 * unmatched + late_right}. Once the input ends, {@code left_elements_in = late_left + lefts_expired}.
 *
 * <p>Elements are not deduplicated: a right element delivered twice is output twice. Runner retries do not
 * duplicate outputs, as state and outputs commit together.
 */
public final class IntervalJoin extends PTransform<PCollectionTuple, PCollectionTuple> {
  /** The input whose latest element in range is joined to each right element: impressions, for attribution. */
  public static final TupleTag<Row> LEFT = new TupleTag<Row>() {};
  /** The input each of whose elements is output exactly once: clicks, for attribution. */
  public static final TupleTag<Row> RIGHT = new TupleTag<Row>() {};

  /** Right elements merged with their latest matching left element, timestamped at the right element's time. */
  public static final TupleTag<Row> MATCHED = new TupleTag<Row>() {};
  /** Right elements, unchanged, that no left element matched once the watermark ruled out any more. */
  public static final TupleTag<Row> UNMATCHED = new TupleTag<Row>() {};
  /** Left elements, unchanged, that arrived after a right element they could match might have been output. */
  public static final TupleTag<Row> LATE_LEFT = new TupleTag<Row>() {};
  /** Right elements, unchanged, that arrived after the left elements they could match might have been cleared. */
  public static final TupleTag<Row> LATE_RIGHT = new TupleTag<Row>() {};

  /** Which side's field wins when both sides have a field of the same name; see {@link #withPriority}. */
  public enum Side {
    LEFT,
    RIGHT
  }

  /** A right element matches left elements from its own time back: none after it. */
  public static final Duration DEFAULT_LOWER_BOUND = Duration.ZERO;
  /** ... to 30 minutes before it, the attribution window for clicks. */
  public static final Duration DEFAULT_UPPER_BOUND = Duration.standardMinutes(30);
  /** None, as the pipelines' {@code --allowedLateness} default. */
  public static final Duration DEFAULT_ALLOWED_LATENESS = Duration.ZERO;

  public static final String DEFAULT_LEFT_PREFIX = "left_";
  public static final String DEFAULT_RIGHT_PREFIX = "right_";

  static final String STAGE = "IntervalJoin";
  static final String LEFT_ELEMENTS_IN = "left_elements_in";
  static final String RIGHT_ELEMENTS_IN = "right_elements_in";
  static final String MATCHED_ELEMENTS = "matched";
  static final String UNMATCHED_ELEMENTS = "unmatched";
  static final String LATE_LEFT_ELEMENTS = "late_left";
  static final String LATE_RIGHT_ELEMENTS = "late_right";
  static final String LEFTS_EXPIRED = "lefts_expired";
  static final String LEFTS_HELD = "lefts_held";
  static final String RIGHTS_HELD = "rights_held";

  private static final int LEFT_UNION_TAG = 0;
  private static final int RIGHT_UNION_TAG = 1;

  private final List<String> keyFields;
  private final Duration lowerBound;
  private final Duration upperBound;
  private final Duration allowedLateness;
  private final String leftPrefix;
  private final String rightPrefix;
  /** Null: fields are prefixed. */
  private final Side priority;

  private IntervalJoin(
      List<String> keyFields,
      Duration lowerBound,
      Duration upperBound,
      Duration allowedLateness,
      String leftPrefix,
      String rightPrefix,
      Side priority) {
    this.keyFields = keyFields;
    this.lowerBound = lowerBound;
    this.upperBound = upperBound;
    this.allowedLateness = allowedLateness;
    this.leftPrefix = leftPrefix;
    this.rightPrefix = rightPrefix;
    this.priority = priority;
  }

  /**
   * Joins each right element to the latest left element of its key in range: the attribution join. Needs {@link
   * #withKeyFields}; bounds default to {@code [0, 30 minutes]}, allowed lateness to zero, fields to prefixed.
   */
  public static IntervalJoin latestLeftPerRight() {
    return new IntervalJoin(
        List.of(),
        DEFAULT_LOWER_BOUND,
        DEFAULT_UPPER_BOUND,
        DEFAULT_ALLOWED_LATENESS,
        DEFAULT_LEFT_PREFIX,
        DEFAULT_RIGHT_PREFIX,
        null);
  }

  /** The fields that must be equal on both sides for a match, such as {@code user_id} and {@code item_id}. */
  public IntervalJoin withKeyFields(String... fields) {
    List<String> names = fields == null ? null : Arrays.asList(fields);
    if (names == null
        || names.isEmpty()
        || names.contains(null)
        || names.contains("")
        || new HashSet<>(names).size() != names.size()) {
      throw new IllegalArgumentException("keyFields must name one or more distinct fields, got " + names);
    }
    return new IntervalJoin(
        List.copyOf(names), lowerBound, upperBound, allowedLateness, leftPrefix, rightPrefix, priority);
  }

  /**
   * A right element at {@code r} matches a left element at {@code l} when {@code l + lower <= r <= l + upper}, both
   * ends inclusive. A negative {@code lower} lets a right element match left elements after it.
   */
  public IntervalJoin withBounds(Duration lower, Duration upper) {
    if (lower == null || upper == null || lower.isLongerThan(upper)) {
      throw invalidPair("lowerBound", lower, "upperBound", upper, "durations with lowerBound <= upperBound");
    }
    return new IntervalJoin(keyFields, lower, upper, allowedLateness, leftPrefix, rightPrefix, priority);
  }

  /**
   * How far behind the watermark an element may arrive and still be joined as if it were on time. Right elements
   * are held this much longer before they are output.
   */
  public IntervalJoin withAllowedLateness(Duration lateness) {
    FeatureSteps.checkAllowedLateness(lateness);
    return new IntervalJoin(keyFields, lowerBound, upperBound, lateness, leftPrefix, rightPrefix, priority);
  }

  /**
   * Keeps every field of both sides in the merged row, renamed {@code leftPrefix + name} and {@code rightPrefix +
   * name}: left fields first, in order, then right fields. Replaces {@link #withPriority}.
   */
  public IntervalJoin withPrefixes(String leftPrefix, String rightPrefix) {
    if (leftPrefix == null || rightPrefix == null) {
      throw invalidPair("leftPrefix", leftPrefix, "rightPrefix", rightPrefix, "strings (empty for none)");
    }
    return new IntervalJoin(keyFields, lowerBound, upperBound, allowedLateness, leftPrefix, rightPrefix, null);
  }

  /**
   * Keeps field names as they are in the merged row: the left fields in order, then the right fields the left does
   * not have. A field both sides have takes its name, type and value from {@code side}. Replaces {@link
   * #withPrefixes}.
   */
  public IntervalJoin withPriority(Side side) {
    return new IntervalJoin(
        keyFields, lowerBound, upperBound, allowedLateness, leftPrefix, rightPrefix, requireNonNull(side, "side"));
  }

  /** A setting of two values that breaks its rule: the message names both and their values. */
  private static IllegalArgumentException invalidPair(
      String first, Object firstValue, String second, Object secondValue, String allowed) {
    return new IllegalArgumentException(
        first + " and " + second + " must be " + allowed + ", got " + first + "=" + firstValue + ", " + second + "="
            + secondValue);
  }

  @Override
  public PCollectionTuple expand(PCollectionTuple input) {
    if (keyFields.isEmpty()) {
      throw new IllegalStateException("IntervalJoin needs withKeyFields(...)");
    }
    PCollection<Row> left = sideOf(input, LEFT, "left");
    PCollection<Row> right = sideOf(input, RIGHT, "right");
    Schema leftSchema = left.getSchema();
    Schema rightSchema = right.getSchema();
    Schema keySchema = keySchema(leftSchema, rightSchema);
    MergedRow merged = priority == null ? prefixed(leftSchema, rightSchema) : withPriority(leftSchema, rightSchema);
    KvCoder<Row, RawUnionValue> keyedCoder =
        KvCoder.of(
            RowCoder.of(keySchema), UnionCoder.of(List.of(RowCoder.of(leftSchema), RowCoder.of(rightSchema))));

    PCollectionTuple joined =
        PCollectionList.of(keyed(left, "Left", LEFT_UNION_TAG, keySchema, keyedCoder))
            .and(keyed(right, "Right", RIGHT_UNION_TAG, keySchema, keyedCoder))
            .apply("FlattenSides", Flatten.pCollections())
            .apply(
                "JoinWithinInterval",
                ParDo.of(
                        new JoinWithinIntervalFn(
                            leftSchema,
                            rightSchema,
                            merged,
                            lowerBound.getMillis(),
                            upperBound.getMillis(),
                            allowedLateness.getMillis()))
                    .withOutputTags(MATCHED, TupleTagList.of(UNMATCHED).and(LATE_LEFT).and(LATE_RIGHT)));
    joined.get(MATCHED).setRowSchema(merged.schema);
    joined.get(UNMATCHED).setRowSchema(rightSchema);
    joined.get(LATE_LEFT).setRowSchema(leftSchema);
    joined.get(LATE_RIGHT).setRowSchema(rightSchema);
    return joined;
  }

  private static PCollection<Row> sideOf(PCollectionTuple input, TupleTag<Row> tag, String side) {
    if (!input.has(tag)) {
      throw new IllegalArgumentException(
          "IntervalJoin needs its "
              + side
              + " input in the PCollectionTuple under IntervalJoin."
              + side.toUpperCase()
              + ", and it is missing");
    }
    PCollection<Row> rows = input.get(tag);
    if (!rows.hasSchema()) {
      throw new IllegalArgumentException(
          "IntervalJoin's " + side + " input has no schema; give it one, e.g. with setRowSchema(...)");
    }
    return rows;
  }

  /** Both sides keyed by the key fields and tagged with their side, in the global window, ready to flatten. */
  private static PCollection<KV<Row, RawUnionValue>> keyed(
      PCollection<Row> rows,
      String side,
      int unionTag,
      Schema keySchema,
      KvCoder<Row, RawUnionValue> keyedCoder) {
    return rows.apply(
            "Key" + side + "Rows", ParDo.of(new KeyByFields(keySchema, rows.getSchema(), unionTag)))
        .setCoder(keyedCoder)
        // The join's lateness is its own, in state: the windowing only has to let both sides flatten together.
        .apply(
            "Rewindow" + side + "IntoGlobalWindow",
            Window.<KV<Row, RawUnionValue>>into(new GlobalWindows())
                .triggering(DefaultTrigger.of())
                .withAllowedLateness(Duration.ZERO)
                .discardingFiredPanes());
  }

  /** The key fields with the left's types; nullable where either side is. */
  private Schema keySchema(Schema left, Schema right) {
    Schema.Builder key = Schema.builder();
    for (String name : keyFields) {
      Schema.Field leftField = keyField(left, name, "left");
      Schema.Field rightField = keyField(right, name, "right");
      Schema.FieldType leftType = leftField.getType();
      Schema.FieldType rightType = rightField.getType();
      if (!leftType.equivalent(rightType, Schema.EquivalenceNullablePolicy.IGNORE)) {
        throw new IllegalArgumentException(
            "key field '"
                + name
                + "' is "
                + leftType
                + " in the left input but "
                + rightType
                + " in the right input; a key field must have the same type on both sides");
      }
      key.addField(name, leftType.withNullable(leftType.getNullable() || rightType.getNullable()));
    }
    return key.build();
  }

  private static Schema.Field keyField(Schema schema, String name, String side) {
    if (!schema.hasField(name)) {
      throw new IllegalArgumentException(
          "key field '"
              + name
              + "' is missing from the "
              + side
              + " input, whose fields are "
              + schema.getFieldNames()
              + "; withKeyFields(...) must name fields that both inputs have");
    }
    return schema.getField(name);
  }

  private MergedRow prefixed(Schema left, Schema right) {
    MergedRow.Builder merged = new MergedRow.Builder();
    Map<String, String> origins = new HashMap<>();
    for (int i = 0; i < left.getFieldCount(); i++) {
      Schema.Field field = left.getField(i);
      String name = leftPrefix + field.getName();
      origins.put(name, field.getName());
      merged.add(field.withName(name), LEFT_UNION_TAG, i);
    }
    for (int i = 0; i < right.getFieldCount(); i++) {
      Schema.Field field = right.getField(i);
      String name = rightPrefix + field.getName();
      if (origins.containsKey(name)) {
        throw new IllegalArgumentException(
            "merged field '"
                + name
                + "' would come from both the left field '"
                + origins.get(name)
                + "' and the right field '"
                + field.getName()
                + "'; choose prefixes that keep left and right field names apart, got leftPrefix='"
                + leftPrefix
                + "', rightPrefix='"
                + rightPrefix
                + "'");
      }
      merged.add(field.withName(name), RIGHT_UNION_TAG, i);
    }
    return merged.build();
  }

  private MergedRow withPriority(Schema left, Schema right) {
    MergedRow.Builder merged = new MergedRow.Builder();
    for (int i = 0; i < left.getFieldCount(); i++) {
      String name = left.getField(i).getName();
      if (priority == Side.RIGHT && right.hasField(name)) {
        merged.add(right.getField(name), RIGHT_UNION_TAG, right.indexOf(name));
      } else {
        merged.add(left.getField(i), LEFT_UNION_TAG, i);
      }
    }
    for (int i = 0; i < right.getFieldCount(); i++) {
      if (!left.hasField(right.getField(i).getName())) {
        merged.add(right.getField(i), RIGHT_UNION_TAG, i);
      }
    }
    return merged.build();
  }

  /** The merged schema, and for each of its fields the side and field index its value is taken from. */
  static final class MergedRow implements Serializable {
    private final Schema schema;
    private final int[] sides;
    private final int[] indices;

    private MergedRow(Schema schema, int[] sides, int[] indices) {
      this.schema = schema;
      this.sides = sides;
      this.indices = indices;
    }

    Row of(Row left, Row right) {
      List<Object> values = new ArrayList<>(sides.length);
      for (int i = 0; i < sides.length; i++) {
        values.add((sides[i] == LEFT_UNION_TAG ? left : right).getValue(indices[i]));
      }
      // The values already have the merged fields' types, so they are attached without a copy or a check.
      return Row.withSchema(schema).attachValues(values);
    }

    private static final class Builder {
      private final Schema.Builder schema = Schema.builder();
      private final List<Integer> sides = new ArrayList<>();
      private final List<Integer> indices = new ArrayList<>();

      void add(Schema.Field field, int side, int index) {
        schema.addField(field);
        sides.add(side);
        indices.add(index);
      }

      MergedRow build() {
        return new MergedRow(
            schema.build(),
            sides.stream().mapToInt(Integer::intValue).toArray(),
            indices.stream().mapToInt(Integer::intValue).toArray());
      }
    }
  }

  /** Keys a row by its key fields, as a row of the key schema, and tags it with its side. */
  static final class KeyByFields extends DoFn<Row, KV<Row, RawUnionValue>> {
    private final Schema keySchema;
    private final int[] keyIndices;
    private final int unionTag;

    KeyByFields(Schema keySchema, Schema rowSchema, int unionTag) {
      this.keySchema = keySchema;
      this.keyIndices = keySchema.getFieldNames().stream().mapToInt(rowSchema::indexOf).toArray();
      this.unionTag = unionTag;
    }

    @ProcessElement
    public void processElement(@Element Row row, OutputReceiver<KV<Row, RawUnionValue>> out) {
      List<Object> key = new ArrayList<>(keyIndices.length);
      for (int index : keyIndices) {
        key.add(row.getValue(index));
      }
      out.output(KV.of(Row.withSchema(keySchema).attachValues(key), new RawUnionValue(unionTag, row)));
    }
  }

  /**
   * Per key: holds left elements until no right element can match them any more, and right elements until no left
   * element that could match them can still arrive in time, then outputs each right element once.
   */
  static final class JoinWithinIntervalFn extends DoFn<KV<Row, RawUnionValue>, Row> {
    private static final String HELD = "held";
    private static final String RELEASE_RIGHTS = "releaseRights";
    private static final String EXPIRE_LEFTS = "expireLefts";

    private static final long END_OF_GLOBAL_WINDOW = GlobalWindow.INSTANCE.maxTimestamp().getMillis();

    /**
     * The key's held elements, its timers' times and the watermark its timers have shown, in one value: each arrival
     * reads and writes one state cell, where Beam on Flink pays a lookup and a namespace key per cell.
     */
    @StateId(HELD)
    private final StateSpec<ValueState<HeldElements>> heldSpec;

    /** Outputs the held right elements that are due; holds the output watermark at the earliest held one. */
    @TimerId(RELEASE_RIGHTS)
    private final TimerSpec releaseRightsSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    /** Clears the held left elements that no right element can match any more; holds nothing. */
    @TimerId(EXPIRE_LEFTS)
    private final TimerSpec expireLeftsSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    private final Counter leftElementsIn = Metrics.counter(STAGE, LEFT_ELEMENTS_IN);
    private final Counter rightElementsIn = Metrics.counter(STAGE, RIGHT_ELEMENTS_IN);
    private final Counter matched = Metrics.counter(STAGE, MATCHED_ELEMENTS);
    private final Counter unmatched = Metrics.counter(STAGE, UNMATCHED_ELEMENTS);
    private final Counter lateLeft = Metrics.counter(STAGE, LATE_LEFT_ELEMENTS);
    private final Counter lateRight = Metrics.counter(STAGE, LATE_RIGHT_ELEMENTS);
    private final Counter leftsExpired = Metrics.counter(STAGE, LEFTS_EXPIRED);
    private final Distribution leftsHeld = Metrics.distribution(STAGE, LEFTS_HELD);
    private final Distribution rightsHeld = Metrics.distribution(STAGE, RIGHTS_HELD);
    private final Distribution processMicros = Metrics.distribution(STAGE, "process_micros");

    private final MergedRow merged;
    private final long lowerMillis;
    private final long upperMillis;
    private final long latenessMillis;

    JoinWithinIntervalFn(
        Schema leftSchema,
        Schema rightSchema,
        MergedRow merged,
        long lowerMillis,
        long upperMillis,
        long latenessMillis) {
      this.heldSpec = StateSpecs.value(new HeldElementsCoder(
          TimestampedValue.TimestampedValueCoder.of(RowCoder.of(leftSchema)),
          TimestampedValue.TimestampedValueCoder.of(RowCoder.of(rightSchema))));
      this.merged = merged;
      this.lowerMillis = lowerMillis;
      this.upperMillis = upperMillis;
      this.latenessMillis = latenessMillis;
    }

    @ProcessElement
    public void processElement(
        @Element KV<Row, RawUnionValue> element,
        @Timestamp Instant timestamp,
        @StateId(HELD) ValueState<HeldElements> state,
        @TimerId(RELEASE_RIGHTS) Timer releaseRights,
        @TimerId(EXPIRE_LEFTS) Timer expireLefts,
        MultiOutputReceiver out) {
      long started = System.nanoTime();
      try {
        Row row = (Row) element.getValue().getValue();
        long time = timestamp.getMillis();
        HeldElements stored = state.read();
        HeldElements held = stored == null ? new HeldElements() : stored;
        long reached = held.watermarkReached;

        if (element.getValue().getUnionTag() == LEFT_UNION_TAG) {
          leftElementsIn.inc();
          // The earliest right element it could match may already have been output without it.
          if (reached != HeldElements.NONE && releaseTime(saturatedAdd(time, lowerMillis)) <= reached) {
            lateLeft.inc();
            out.get(LATE_LEFT).output(row);
            return;
          }
          held.lefts.add(TimestampedValue.of(row, timestamp));
          leftsHeld.update(held.lefts.size());
          long expiry = expiryTime(time);
          if (held.expireAt == HeldElements.NONE || expiry < held.expireAt) {
            expireLefts.withNoOutputTimestamp().set(new Instant(expiry));
            held.expireAt = expiry;
          }
          state.write(held);
          return;
        }

        rightElementsIn.inc();
        long release = releaseTime(time);
        // Left elements it could match may already have been cleared.
        if (reached != HeldElements.NONE && release <= reached) {
          lateRight.inc();
          out.get(LATE_RIGHT).output(row);
          return;
        }
        held.rights.add(TimestampedValue.of(row, timestamp));
        rightsHeld.update(held.rights.size());
        // Release times grow with right times, so the earliest release also has the earliest time to hold.
        if (held.releaseAt == HeldElements.NONE || release < held.releaseAt) {
          releaseRights.withOutputTimestamp(timestamp).set(new Instant(release));
          held.releaseAt = release;
        }
        state.write(held);
      } finally {
        processMicros.update((System.nanoTime() - started) / 1_000);
      }
    }

    @OnTimer(RELEASE_RIGHTS)
    public void onReleaseRights(
        OnTimerContext context,
        @StateId(HELD) ValueState<HeldElements> state,
        @TimerId(RELEASE_RIGHTS) Timer releaseRights,
        @TimerId(EXPIRE_LEFTS) Timer expireLefts,
        MultiOutputReceiver out) {
      HeldElements held = state.read();
      if (held == null) {
        return;
      }
      long reached = held.advance(context.fireTimestamp());
      List<TimestampedValue<Row>> stillHeld = new ArrayList<>();
      TimestampedValue<Row> earliestHeld = null;
      for (TimestampedValue<Row> right : held.rights) {
        if (releaseTime(right.getTimestamp().getMillis()) > reached) {
          stillHeld.add(right);
          if (earliestHeld == null || right.getTimestamp().isBefore(earliestHeld.getTimestamp())) {
            earliestHeld = right;
          }
          continue;
        }
        TimestampedValue<Row> left = latestMatchingLeft(held.lefts, right.getTimestamp().getMillis());
        if (left == null) {
          unmatched.inc();
          out.get(UNMATCHED).outputWithTimestamp(right.getValue(), right.getTimestamp());
        } else {
          matched.inc();
          out.get(MATCHED).outputWithTimestamp(merged.of(left.getValue(), right.getValue()), right.getTimestamp());
        }
      }
      // A new list, sized to what is left: a key whose elements are gone keeps no emptied array.
      held.rights = stillHeld;
      if (earliestHeld == null) {
        held.releaseAt = HeldElements.NONE;
      } else {
        long release = releaseTime(earliestHeld.getTimestamp().getMillis());
        releaseRights.withOutputTimestamp(earliestHeld.getTimestamp()).set(new Instant(release));
        held.releaseAt = release;
      }
      // No right element still held can match a left element that is due: those are all released above.
      expireLefts(held, reached, expireLefts);
      state.write(held);
    }

    @OnTimer(EXPIRE_LEFTS)
    public void onExpireLefts(
        OnTimerContext context,
        @StateId(HELD) ValueState<HeldElements> state,
        @TimerId(EXPIRE_LEFTS) Timer expireLefts) {
      HeldElements held = state.read();
      if (held == null) {
        return;
      }
      long reached = held.advance(context.fireTimestamp());
      // A right element the release timer has not output yet keeps the left elements it matches: it is due, and its
      // timer clears them after using them, should it fire after this one.
      expireLefts(held, reached, expireLefts);
      state.write(held);
    }

    /**
     * Clears the left elements whose expiry the watermark has reached, except those a held right element matches,
     * and sets the expiry timer for the earliest one left.
     */
    private void expireLefts(HeldElements held, long reached, Timer expireLefts) {
      List<TimestampedValue<Row>> kept = new ArrayList<>();
      long nextExpiry = HeldElements.NONE;
      for (TimestampedValue<Row> left : held.lefts) {
        long expiry = expiryTime(left.getTimestamp().getMillis());
        if (expiry > reached) {
          kept.add(left);
          nextExpiry = nextExpiry == HeldElements.NONE ? expiry : Math.min(nextExpiry, expiry);
        } else if (isMatchedByAny(left, held.rights)) {
          kept.add(left);
        }
      }
      if (kept.size() != held.lefts.size()) {
        leftsExpired.inc(held.lefts.size() - kept.size());
        held.lefts = kept;
      }
      if (nextExpiry != held.expireAt && nextExpiry != HeldElements.NONE) {
        expireLefts.withNoOutputTimestamp().set(new Instant(nextExpiry));
      }
      held.expireAt = nextExpiry;
    }

    /**
     * When a right element at {@code rightTime} can be output: once the watermark passes the latest matching left
     * time plus the allowed lateness, no matching left element can arrive in time. Never before the right element's
     * own time, so its timer's output timestamp is never after its firing time.
     */
    private long releaseTime(long rightTime) {
      long afterLatestLeft = saturatedAdd(saturatedAdd(rightTime, latenessMillis), 1 - lowerMillis);
      return Math.min(Math.max(rightTime, afterLatestLeft), END_OF_GLOBAL_WINDOW);
    }

    /** When a left element at {@code leftTime} can go: the release of the latest right element it can match. */
    private long expiryTime(long leftTime) {
      return releaseTime(saturatedAdd(leftTime, upperMillis));
    }

    /** The latest left element in {@code [rightTime - upper, rightTime - lower]}; the first held on a tie. */
    private TimestampedValue<Row> latestMatchingLeft(List<TimestampedValue<Row>> lefts, long rightTime) {
      TimestampedValue<Row> latest = null;
      for (TimestampedValue<Row> left : lefts) {
        long leftTime = left.getTimestamp().getMillis();
        if (matches(leftTime, rightTime) && (latest == null || leftTime > latest.getTimestamp().getMillis())) {
          latest = left;
        }
      }
      return latest;
    }

    private boolean isMatchedByAny(TimestampedValue<Row> left, List<TimestampedValue<Row>> rights) {
      for (TimestampedValue<Row> right : rights) {
        if (matches(left.getTimestamp().getMillis(), right.getTimestamp().getMillis())) {
          return true;
        }
      }
      return false;
    }

    private boolean matches(long leftTime, long rightTime) {
      return rightTime - upperMillis <= leftTime && leftTime <= rightTime - lowerMillis;
    }

    private static long saturatedAdd(long a, long b) {
      long sum = a + b;
      // Overflow only when both have the same sign and the sum's sign differs.
      if (((a ^ sum) & (b ^ sum)) < 0) {
        return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
      }
      return sum;
    }
  }

  /**
   * One key's held left and right elements, in arrival order, the times its timers are set for and the latest time
   * one of them fired at ({@link #NONE} for none). Mutable: the join reads it, changes it and writes it back.
   */
  static final class HeldElements {
    static final long NONE = Long.MIN_VALUE;

    List<TimestampedValue<Row>> lefts;
    List<TimestampedValue<Row>> rights;
    long releaseAt;
    long expireAt;
    /** The latest time one of the key's timers fired at: the key's only view of the watermark. Never cleared. */
    long watermarkReached;

    HeldElements() {
      this(new ArrayList<>(), new ArrayList<>(), NONE, NONE, NONE);
    }

    HeldElements(
        List<TimestampedValue<Row>> lefts, List<TimestampedValue<Row>> rights, long releaseAt, long expireAt,
        long watermarkReached) {
      this.lefts = lefts;
      this.rights = rights;
      this.releaseAt = releaseAt;
      this.expireAt = expireAt;
      this.watermarkReached = watermarkReached;
    }

    /** Notes that the watermark has reached {@code fired}, and returns the latest time it is known to have reached. */
    long advance(Instant fired) {
      watermarkReached = Math.max(watermarkReached, fired.getMillis());
      return watermarkReached;
    }
  }

  /** The three times as var-longs, then each side's elements with its row coder. */
  static final class HeldElementsCoder extends CustomCoder<HeldElements> {
    private final Coder<List<TimestampedValue<Row>>> lefts;
    private final Coder<List<TimestampedValue<Row>>> rights;

    HeldElementsCoder(Coder<TimestampedValue<Row>> left, Coder<TimestampedValue<Row>> right) {
      this.lefts = ListCoder.of(left);
      this.rights = ListCoder.of(right);
    }

    @Override
    public void encode(HeldElements held, OutputStream out) throws IOException {
      VarLongCoder.of().encode(held.releaseAt, out);
      VarLongCoder.of().encode(held.expireAt, out);
      VarLongCoder.of().encode(held.watermarkReached, out);
      lefts.encode(held.lefts, out);
      rights.encode(held.rights, out);
    }

    @Override
    public HeldElements decode(InputStream in) throws IOException {
      long releaseAt = VarLongCoder.of().decode(in);
      long expireAt = VarLongCoder.of().decode(in);
      long watermarkReached = VarLongCoder.of().decode(in);
      return new HeldElements(new ArrayList<>(lefts.decode(in)), new ArrayList<>(rights.decode(in)), releaseAt,
          expireAt, watermarkReached);
    }

    @Override
    public List<? extends Coder<?>> getCoderArguments() {
      return List.of(lefts, rights);
    }

    @Override
    public void verifyDeterministic() throws NonDeterministicException {
      lefts.verifyDeterministic();
      rights.verifyDeterministic();
    }
  }
}
