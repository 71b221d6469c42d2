package dev.clickstream.transforms;

import dev.clickstream.features.Aggregation;
import dev.clickstream.features.EventFilter;
import dev.clickstream.features.TumblingAggregation;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.ApproximateQuantiles.ApproximateQuantilesCombineFn;
import org.apache.beam.sdk.transforms.Combine.CombineFn;

/**
 * The combine of {@link TumblingFeatures}: every aggregation of one {@link TumblingAggregation} over one entity's
 * events in one window, in a single accumulator, so runners combine partially before the shuffle and only
 * accumulators cross the network.
 *
 * <p>The window spans {@link TumblingAggregation#windowsRead()} tumbling windows, its parts: part 0 is the latest,
 * the tumbling window a row describes, part {@code i} the one {@code i} windows before it. The counts are kept per
 * part, for the moving averages; the distinct values and the percentile sketches only for part 0. The output is the
 * feature's values in {@link TumblingAggregation#featureColumns()} order, or {@link #NO_ROW} when part 0 holds no
 * event.
 *
 * <p>Memory per accumulator: the counts, the distinct values of part 0 (exact, so as many strings as there are
 * distinct values per entity-window), and one {@code ApproximateQuantiles} sketch per percentile field, which holds
 * every value up to 40,046 (20 buffers of 1,907, and 1,906 more) and stays bounded beyond.
 */
final class TumblingFeaturesCombineFn
    extends CombineFn<TumblingFeaturesCombineFn.EventFields, TumblingFeaturesCombineFn.Accumulator, List<Object>> {

  /** The output for a window whose latest part holds no event: there is no row for it. */
  static final List<Object> NO_ROW = Collections.emptyList();

  /** Percentiles 0 to 100: Beam's sketch returns the minimum, 99 evenly spaced quantiles and the maximum. */
  private static final int QUANTILES = 101;
  /** {@code long} masks hold which counts an event matches. */
  static final int MAX_COUNTS = Long.SIZE;

  private enum ColumnKind {
    COUNT,
    DISTINCT_COUNT,
    PERCENTILE,
    MOVING_AVERAGE
  }

  private final int parts;
  /** Per count, its condition; null for a count of every event. */
  private final EventFilter[] countFilters;
  private final String[] distinctFields;
  private final String[] percentileFields;
  /** Per aggregation column: its kind, the index of its count or field, and its percentile or window count. */
  private final ColumnKind[] columnKinds;
  private final int[] columnIndexes;
  private final int[] columnArguments;
  private final int[] ratioNumerators;
  private final int[] ratioDenominators;
  private final ApproximateQuantilesCombineFn<Double, ?> quantiles;

  TumblingFeaturesCombineFn(TumblingAggregation feature) {
    this.parts = feature.windowsRead();
    List<Aggregation> aggregations = feature.aggregations();
    List<String> counts = new ArrayList<>();
    List<EventFilter> filters = new ArrayList<>();
    List<String> distinct = new ArrayList<>();
    List<String> numeric = new ArrayList<>();
    for (Aggregation aggregation : aggregations) {
      if (aggregation.isCount()) {
        counts.add(aggregation.columnPrefix());
        filters.add(aggregation.filter());
      } else if (aggregation.isDistinctCount() && !distinct.contains(aggregation.field())) {
        distinct.add(aggregation.field());
      } else if (aggregation.isApproxPercentile() && !numeric.contains(aggregation.field())) {
        numeric.add(aggregation.field());
      }
    }
    if (counts.size() > MAX_COUNTS) {
      throw new IllegalArgumentException(
          "feature " + feature.name() + " has " + counts.size() + " counts; TumblingFeatures computes at most "
              + MAX_COUNTS);
    }
    this.countFilters = filters.toArray(new EventFilter[0]);
    this.distinctFields = distinct.toArray(new String[0]);
    this.percentileFields = numeric.toArray(new String[0]);
    this.columnKinds = new ColumnKind[aggregations.size()];
    this.columnIndexes = new int[aggregations.size()];
    this.columnArguments = new int[aggregations.size()];
    for (int i = 0; i < aggregations.size(); i++) {
      Aggregation aggregation = aggregations.get(i);
      if (aggregation.isCount()) {
        columnKinds[i] = ColumnKind.COUNT;
        columnIndexes[i] = counts.indexOf(aggregation.columnPrefix());
      } else if (aggregation.isDistinctCount()) {
        columnKinds[i] = ColumnKind.DISTINCT_COUNT;
        columnIndexes[i] = distinct.indexOf(aggregation.field());
      } else if (aggregation.isApproxPercentile()) {
        columnKinds[i] = ColumnKind.PERCENTILE;
        columnIndexes[i] = numeric.indexOf(aggregation.field());
        columnArguments[i] = aggregation.percentile();
      } else if (aggregation.isMovingAverage()) {
        columnKinds[i] = ColumnKind.MOVING_AVERAGE;
        columnIndexes[i] = counts.indexOf(aggregation.averagedColumn());
        columnArguments[i] = aggregation.windowCount();
      } else {
        throw new IllegalArgumentException(
            "feature " + feature.name() + " aggregates " + aggregation + ", which TumblingFeatures does not compute");
      }
    }
    List<TumblingAggregation.Ratio> ratios = feature.ratios();
    this.ratioNumerators = ratios.stream().mapToInt(ratio -> counts.indexOf(ratio.numerator())).toArray();
    this.ratioDenominators = ratios.stream().mapToInt(ratio -> counts.indexOf(ratio.denominator())).toArray();
    this.quantiles = ApproximateQuantilesCombineFn.create(QUANTILES);
  }

  /** The number of tumbling windows one window spans. */
  int parts() {
    return parts;
  }

  /**
   * What the aggregations read of the event whose fields {@code field} looks up, in part 0; null when none reads
   * it: it matches no count's condition and has none of the distinct-count and percentile fields.
   */
  EventFields read(Function<String, Object> field) {
    long matched = 0;
    for (int c = 0; c < countFilters.length; c++) {
      if (countFilters[c] == null || countFilters[c].matches(field)) {
        matched |= 1L << c;
      }
    }
    boolean any = matched != 0;
    String[] distinct = new String[distinctFields.length];
    for (int d = 0; d < distinctFields.length; d++) {
      Object value = field.apply(distinctFields[d]);
      distinct[d] = value == null ? null : value.toString();
      any |= value != null;
    }
    Double[] numbers = new Double[percentileFields.length];
    for (int q = 0; q < percentileFields.length; q++) {
      // TumblingFeatures checked that the field is numeric in the events' schema.
      // A value that is not finite counts as missing, as a null does: a percentile of it would not be a number.
      Number value = (Number) field.apply(percentileFields[q]);
      numbers[q] = value == null || !Double.isFinite(value.doubleValue()) ? null : value.doubleValue();
      any |= numbers[q] != null;
    }
    return any ? new EventFields(0, matched, distinct, numbers) : null;
  }

  @Override
  public Accumulator createAccumulator() {
    Set<String>[] distinct = newSets(distinctFields.length);
    return new Accumulator(0, new long[parts][countFilters.length], distinct, new Object[percentileFields.length]);
  }

  @Override
  public Accumulator addInput(Accumulator accumulator, EventFields event) {
    long[] counts = accumulator.counts[event.part];
    for (int c = 0; c < counts.length; c++) {
      if ((event.countMask & (1L << c)) != 0) {
        counts[c]++;
      }
    }
    if (event.part > 0) {
      return accumulator;
    }
    accumulator.latestEvents++;
    for (int d = 0; d < distinctFields.length; d++) {
      if (event.distinctValues[d] != null) {
        accumulator.distinct[d].add(event.distinctValues[d]);
      }
    }
    for (int q = 0; q < percentileFields.length; q++) {
      Double value = event.percentileValues[q];
      if (value != null) {
        Object sketch = accumulator.sketches[q] == null ? sketches().createAccumulator() : accumulator.sketches[q];
        accumulator.sketches[q] = sketches().addInput(sketch, value);
      }
    }
    return accumulator;
  }

  @Override
  public Accumulator mergeAccumulators(Iterable<Accumulator> accumulators) {
    Iterator<Accumulator> others = accumulators.iterator();
    // Beam lets a merge reuse its first accumulator; the others stay unchanged.
    Accumulator merged = others.hasNext() ? others.next() : createAccumulator();
    while (others.hasNext()) {
      Accumulator other = others.next();
      merged.latestEvents += other.latestEvents;
      for (int p = 0; p < parts; p++) {
        for (int c = 0; c < countFilters.length; c++) {
          merged.counts[p][c] += other.counts[p][c];
        }
      }
      for (int d = 0; d < distinctFields.length; d++) {
        merged.distinct[d].addAll(other.distinct[d]);
      }
      for (int q = 0; q < percentileFields.length; q++) {
        if (other.sketches[q] != null) {
          merged.sketches[q] = merged.sketches[q] == null
              ? sketches().mergeAccumulators(List.of(sketches().createAccumulator(), other.sketches[q]))
              : sketches().mergeAccumulators(List.of(merged.sketches[q], other.sketches[q]));
        }
      }
    }
    return merged;
  }

  @Override
  public List<Object> extractOutput(Accumulator accumulator) {
    if (accumulator.latestEvents == 0) {
      return NO_ROW;
    }
    long[] latest = accumulator.counts[0];
    List<List<Double>> quantilesPerField = new ArrayList<>();
    for (Object sketch : accumulator.sketches) {
      quantilesPerField.add(sketch == null ? List.of() : sketches().extractOutput(sketch));
    }
    List<Object> values = new ArrayList<>(columnKinds.length + ratioNumerators.length);
    for (int i = 0; i < columnKinds.length; i++) {
      int index = columnIndexes[i];
      switch (columnKinds[i]) {
        case COUNT:
          values.add(latest[index]);
          break;
        case DISTINCT_COUNT:
          values.add((long) accumulator.distinct[index].size());
          break;
        case PERCENTILE:
          List<Double> quantiles = quantilesPerField.get(index);
          values.add(quantiles.isEmpty() ? null : quantiles.get(columnArguments[i]));
          break;
        case MOVING_AVERAGE:
          int windows = columnArguments[i];
          long sum = 0;
          for (int p = 0; p < windows; p++) {
            sum += accumulator.counts[p][index];
          }
          values.add((double) sum / windows);
          break;
        default:
          throw new IllegalStateException("unknown column kind " + columnKinds[i]);
      }
    }
    for (int r = 0; r < ratioNumerators.length; r++) {
      values.add(TumblingAggregation.Ratio.of(latest[ratioNumerators[r]], latest[ratioDenominators[r]]));
    }
    return values;
  }

  /**
   * The output of a window from the accumulators of the tumbling windows it spans, each of its own events only
   * (part 0): {@code latestFirst.get(i)} is the window {@code i} before the latest, null when it had none. Equal to
   * {@link #extractOutput} of the events tagged with their parts.
   */
  List<Object> extractOutputOverWindows(List<Accumulator> latestFirst) {
    Accumulator latest = latestFirst.get(0);
    long[][] counts = new long[parts][];
    for (int p = 0; p < parts; p++) {
      Accumulator part = p < latestFirst.size() ? latestFirst.get(p) : null;
      counts[p] = part == null ? new long[countFilters.length] : part.counts[0];
    }
    return extractOutput(new Accumulator(latest.latestEvents, counts, latest.distinct, latest.sketches));
  }

  @Override
  public Coder<Accumulator> getAccumulatorCoder(CoderRegistry registry, Coder<EventFields> inputCoder) {
    return new AccumulatorCoder(sketchCoder(registry), sketches());
  }

  @Override
  public Coder<List<Object>> getDefaultOutputCoder(CoderRegistry registry, Coder<EventFields> inputCoder) {
    return ValuesCoder.of();
  }

  /** Beam's sketch, whose accumulator class is package-private: held as an Object here. */
  @SuppressWarnings("unchecked")
  private CombineFn<Double, Object, List<Double>> sketches() {
    return (CombineFn<Double, Object, List<Double>>) (CombineFn<Double, ?, List<Double>>) quantiles;
  }

  @SuppressWarnings("unchecked")
  private Coder<Object> sketchCoder(CoderRegistry registry) {
    return (Coder<Object>) (Coder<?>) quantiles.getAccumulatorCoder(registry, DoubleCoder.of());
  }

  @SuppressWarnings("unchecked")
  private static Set<String>[] newSets(int size) {
    Set<String>[] sets = new Set[size];
    for (int i = 0; i < size; i++) {
      sets[i] = new HashSet<>();
    }
    return sets;
  }

  /**
   * What a feature reads of one event, and which part of a window it lies in ({@code 0} for the latest): the
   * counts it matches (bit {@code c} for count {@code c}), the value of each distinct-count field and of each
   * percentile field, null where the event has none. Immutable.
   */
  static final class EventFields {
    final int part;
    final long countMask;
    final String[] distinctValues;
    final Double[] percentileValues;

    EventFields(int part, long countMask, String[] distinctValues, Double[] percentileValues) {
      this.part = part;
      this.countMask = countMask;
      this.distinctValues = distinctValues;
      this.percentileValues = percentileValues;
    }

    /** The same fields in part {@code part} of a window. */
    EventFields inPart(int part) {
      return new EventFields(part, countMask, distinctValues, percentileValues);
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof EventFields)) {
        return false;
      }
      EventFields that = (EventFields) o;
      return part == that.part && countMask == that.countMask && Arrays.equals(distinctValues, that.distinctValues)
          && Arrays.equals(percentileValues, that.percentileValues);
    }

    @Override
    public int hashCode() {
      return 31 * (31 * (31 * part + Long.hashCode(countMask)) + Arrays.hashCode(distinctValues))
          + Arrays.hashCode(percentileValues);
    }

    @Override
    public String toString() {
      return "EventFields{part=" + part + ", counts=" + Long.toBinaryString(countMask) + ", distinct="
          + Arrays.toString(distinctValues) + ", numbers=" + Arrays.toString(percentileValues) + "}";
    }
  }

  /** A few bytes per event: the part, the mask, then each value behind a null marker. */
  static final class EventFieldsCoder extends AtomicCoder<EventFields> {
    private static final EventFieldsCoder INSTANCE = new EventFieldsCoder();
    private static final Coder<String> TEXT = NullableCoder.of(StringUtf8Coder.of());
    private static final Coder<Double> NUMBER = NullableCoder.of(DoubleCoder.of());

    static EventFieldsCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(EventFields fields, OutputStream out) throws IOException {
      VarIntCoder.of().encode(fields.part, out);
      VarLongCoder.of().encode(fields.countMask, out);
      VarIntCoder.of().encode(fields.distinctValues.length, out);
      for (String value : fields.distinctValues) {
        TEXT.encode(value, out);
      }
      VarIntCoder.of().encode(fields.percentileValues.length, out);
      for (Double value : fields.percentileValues) {
        NUMBER.encode(value, out);
      }
    }

    @Override
    public EventFields decode(InputStream in) throws IOException {
      int part = VarIntCoder.of().decode(in);
      long mask = VarLongCoder.of().decode(in);
      String[] distinct = new String[VarIntCoder.of().decode(in)];
      for (int d = 0; d < distinct.length; d++) {
        distinct[d] = TEXT.decode(in);
      }
      Double[] numbers = new Double[VarIntCoder.of().decode(in)];
      for (int q = 0; q < numbers.length; q++) {
        numbers[q] = NUMBER.decode(in);
      }
      return new EventFields(part, mask, distinct, numbers);
    }

    @Override
    public void verifyDeterministic() {}
  }

  /**
   * One entity-window so far: the events of part 0, the counts of every part, and, for part 0, the distinct
   * values and the percentile sketches (null until a value arrives). Mutable, as Beam's accumulators are.
   */
  static final class Accumulator {
    private long latestEvents;
    private final long[][] counts;
    private final Set<String>[] distinct;
    private final Object[] sketches;

    Accumulator(long latestEvents, long[][] counts, Set<String>[] distinct, Object[] sketches) {
      this.latestEvents = latestEvents;
      this.counts = counts;
      this.distinct = distinct;
      this.sketches = sketches;
    }
  }

  /**
   * The accumulator field by field, each sized first: varints for the counts, the distinct strings, and Beam's
   * own coder for each sketch.
   *
   * <p>Beam's sketch coder (2.62) decodes a sketch with the number of buffers it held as the most it may hold, so a
   * decoded sketch holding none fails at its next full buffer, and one holding a few collapses too early. Each
   * decoded sketch is therefore merged into a new one, which has the sketch's own limits: the same values and
   * buffers, and the limits the combine gave it. Every state backend but the heap without checkpoints decodes state.
   */
  static final class AccumulatorCoder extends CustomCoder<Accumulator> {
    private final Coder<Object> sketchCoder;
    private final CombineFn<Double, Object, List<Double>> sketchFn;

    AccumulatorCoder(Coder<Object> sketchCoder, CombineFn<Double, Object, List<Double>> sketchFn) {
      this.sketchCoder = sketchCoder;
      this.sketchFn = sketchFn;
    }

    @Override
    public void encode(Accumulator accumulator, OutputStream out) throws IOException {
      VarLongCoder.of().encode(accumulator.latestEvents, out);
      VarIntCoder.of().encode(accumulator.counts.length, out);
      VarIntCoder.of().encode(accumulator.counts.length == 0 ? 0 : accumulator.counts[0].length, out);
      for (long[] part : accumulator.counts) {
        for (long count : part) {
          VarLongCoder.of().encode(count, out);
        }
      }
      VarIntCoder.of().encode(accumulator.distinct.length, out);
      for (Set<String> values : accumulator.distinct) {
        VarIntCoder.of().encode(values.size(), out);
        for (String value : values) {
          StringUtf8Coder.of().encode(value, out);
        }
      }
      VarIntCoder.of().encode(accumulator.sketches.length, out);
      for (Object sketch : accumulator.sketches) {
        BooleanCoder.of().encode(sketch != null, out);
        if (sketch != null) {
          sketchCoder.encode(sketch, out);
        }
      }
    }

    @Override
    public Accumulator decode(InputStream in) throws IOException {
      long latestEvents = VarLongCoder.of().decode(in);
      long[][] counts = new long[VarIntCoder.of().decode(in)][VarIntCoder.of().decode(in)];
      for (long[] part : counts) {
        for (int c = 0; c < part.length; c++) {
          part[c] = VarLongCoder.of().decode(in);
        }
      }
      Set<String>[] distinct = newSets(VarIntCoder.of().decode(in));
      for (Set<String> values : distinct) {
        int size = VarIntCoder.of().decode(in);
        for (int i = 0; i < size; i++) {
          values.add(StringUtf8Coder.of().decode(in));
        }
      }
      Object[] sketches = new Object[VarIntCoder.of().decode(in)];
      for (int q = 0; q < sketches.length; q++) {
        sketches[q] = BooleanCoder.of().decode(in)
            ? sketchFn.mergeAccumulators(List.of(sketchFn.createAccumulator(), sketchCoder.decode(in)))
            : null;
      }
      return new Accumulator(latestEvents, counts, distinct, sketches);
    }
  }

  /**
   * A row's values: each a whole number, a floating-point number or null, behind a one-byte tag. Deterministic,
   * and independent of the feature, so a row can be decoded without its definition.
   */
  static final class ValuesCoder extends AtomicCoder<List<Object>> {
    private static final ValuesCoder INSTANCE = new ValuesCoder();
    private static final int NULL = 0;
    private static final int LONG = 1;
    private static final int DOUBLE = 2;

    static ValuesCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(List<Object> values, OutputStream out) throws IOException {
      VarIntCoder.of().encode(values.size(), out);
      for (Object value : values) {
        if (value == null) {
          out.write(NULL);
        } else if (value instanceof Long) {
          out.write(LONG);
          VarLongCoder.of().encode((Long) value, out);
        } else if (value instanceof Double) {
          out.write(DOUBLE);
          DoubleCoder.of().encode((Double) value, out);
        } else {
          throw new IllegalArgumentException(
              "a feature value is a Long, a Double or null, got " + value.getClass().getName() + " " + value);
        }
      }
    }

    @Override
    public List<Object> decode(InputStream in) throws IOException {
      int size = VarIntCoder.of().decode(in);
      List<Object> values = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        int tag = in.read();
        switch (tag) {
          case NULL:
            values.add(null);
            break;
          case LONG:
            values.add(VarLongCoder.of().decode(in));
            break;
          case DOUBLE:
            values.add(DoubleCoder.of().decode(in));
            break;
          default:
            throw new IOException("unknown feature value tag " + tag + ": the bytes are not a ValuesCoder's");
        }
      }
      return values;
    }

    @Override
    public void verifyDeterministic() {}

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}
