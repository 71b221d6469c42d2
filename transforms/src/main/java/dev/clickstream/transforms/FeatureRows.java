package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureTable;
import dev.clickstream.schemas.DeadLetter;
import java.io.Serializable;
import java.util.Arrays;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;

/**
 * The one row type of every feature: a Beam {@link Row} whose schema derives from the feature's {@link
 * FeatureTable} ({@link #schemaOf}), values in the table's column order. The transform computes those rows element
 * by element from a feature's aggregates (ratios, means, lengths), observed and isolated.
 *
 * <pre>{@code
 * PCollectionTuple rows = sessions.apply("ToRows", FeatureRows.of(table,
 *     (KV<String, SessionStats> session) -> feature.row(session.getKey(), ...)));
 * rows.get(FeatureRows.ROWS).apply("WriteOnlineStore", WriteToOnlineStore.into(table).withJdbcUrl(url));
 * rows.get(FeatureRows.FAILURES) // dead letters, with the others
 * }</pre>
 *
 * <p><b>Validation, once.</b> A row is checked here against its table, and nowhere after: writers only check that
 * their input's schema is the table's. An element whose row cannot be computed (the function throws, or the values
 * do not fit the table: wrong length, a value of a type the store does not hold, a null where the column allows
 * none, a number that is not finite) goes to {@link #FAILURES} as a dead letter whose stage is the table's name,
 * reason {@value #REASON}, with the exception and the element, in the global window; the job and every other
 * feature go on.
 *
 * <p><b>Metrics</b>, in a namespace named after the table, so the demo summary and the Flink web UI show them per
 * feature: counters {@code elements_in}, {@code rows_out} and {@code failures}, and the distribution {@code
 * row_micros}, the processing time of each row's computation in microseconds.
 */
public final class FeatureRows<T> extends PTransform<PCollection<T>, PCollectionTuple> {
  public static final TupleTag<Row> ROWS = new TupleTag<Row>() {};
  public static final TupleTag<DeadLetter> FAILURES = new TupleTag<DeadLetter>() {};
  public static final String REASON = "feature_failed";

  /** A row's values from an element and the window and pane it came out of; null for no row. */
  @FunctionalInterface
  public interface WindowedValues<T> extends Serializable {
    Object[] apply(T element, BoundedWindow window, PaneInfo pane);
  }

  private final FeatureTable table;
  private final WindowedValues<T> toValues;
  private final boolean deadLetters;

  private FeatureRows(FeatureTable table, WindowedValues<T> toValues, boolean deadLetters) {
    this.table = table;
    this.toValues = toValues;
    this.deadLetters = deadLetters;
  }

  /** Rows of {@code table}, one per element, from {@code toValues} (in column order); the table names the feature. */
  public static <T> FeatureRows<T> of(FeatureTable table, SerializableFunction<T, Object[]> toValues) {
    requireNonNull(toValues, "toValues");
    return new FeatureRows<>(
        requireNonNull(table, "table"), (element, window, pane) -> toValues.apply(element), true);
  }

  /**
   * Rows of {@code table} from each element with its window and pane, such as a per-window aggregate whose bounds
   * are its window's: one step instead of one to attach the window and one to make the row. An element whose
   * values are null makes no row.
   */
  public static <T> FeatureRows<T> ofWindowed(FeatureTable table, WindowedValues<T> toValues) {
    return new FeatureRows<>(requireNonNull(table, "table"), requireNonNull(toValues, "toValues"), true);
  }

  /**
   * For rows valid by construction, such as a tumbling aggregation's (counts, and ratios and percentiles that are
   * finite or null): one output, {@link #ROWS}, and no {@link #FAILURES} in the result. Each row is still checked;
   * one that does not fit its table is a bug in the feature's own computation, not bad input, and fails the bundle
   * with the element in the message. Why: on Flink's batch runner a step with a second output is not chained to
   * the next one, so every row would be encoded and decoded once more, about a fifth of the CPU time of {@code
   * ctr_5min} (docs/benchmarks.md).
   */
  public FeatureRows<T> validByConstruction() {
    return new FeatureRows<>(table, toValues, false);
  }

  /**
   * The Beam schema of {@code table}'s rows: KEY and STRING columns are STRING, BIGINT is INT64, DOUBLE is DOUBLE,
   * nullable as declared, in column order.
   */
  public static Schema schemaOf(FeatureTable table) {
    Schema.Builder schema = Schema.builder();
    for (FeatureTable.Column column : table.columns()) {
      schema.addField(Schema.Field.of(column.name(), fieldType(column.type())).withNullable(column.nullable()));
    }
    return schema.build();
  }

  /** A row of {@code table} from its values in column order; throws when they do not fit it. */
  public static Row row(FeatureTable table, Object... values) {
    return Row.withSchema(schemaOf(table)).attachValues(Arrays.asList(checked(table, values)));
  }

  private static Schema.FieldType fieldType(FeatureTable.ColumnType type) {
    switch (type) {
      case KEY:
      case STRING:
        return Schema.FieldType.STRING;
      case BIGINT:
        return Schema.FieldType.INT64;
      case DOUBLE:
        return Schema.FieldType.DOUBLE;
      default:
        throw new IllegalArgumentException("no Beam type for column type " + type);
    }
  }

  /** The values, when they fit the table; an exception saying how they do not, else. */
  private static Object[] checked(FeatureTable table, Object[] values) {
    if (values == null || values.length != table.columns().size()) {
      throw new IllegalArgumentException("expected " + table.columns().size() + " values " + table.columnNames()
          + ", got " + (values == null ? "null" : Arrays.toString(values)));
    }
    for (int i = 0; i < values.length; i++) {
      FeatureTable.Column column = table.columns().get(i);
      Object value = values[i];
      Class<?> expected = column.type() == FeatureTable.ColumnType.BIGINT ? Long.class
          : column.type() == FeatureTable.ColumnType.DOUBLE ? Double.class : String.class;
      if (value == null) {
        if (!column.nullable()) {
          throw new IllegalArgumentException("column " + column.name() + " may not be null");
        }
      } else if (!expected.isInstance(value)) {
        throw new IllegalArgumentException("column " + column.name() + " got a " + value.getClass().getName()
            + " (" + value + "); it holds " + expected.getSimpleName() + " or null");
      } else if (value instanceof Double && !Double.isFinite((Double) value)) {
        throw new IllegalArgumentException("column " + column.name() + " got " + value + "; stores hold finite"
            + " numbers only");
      }
    }
    return values;
  }

  @Override
  public PCollectionTuple expand(PCollection<T> elements) {
    Schema schema = schemaOf(table);
    PCollectionTuple result =
        elements.apply(
            "ComputeRow",
            ParDo.of(new ComputeRowFn<>(table, schema, toValues, deadLetters))
                .withOutputTags(ROWS, deadLetters ? TupleTagList.of(FAILURES) : TupleTagList.empty()));
    result.get(ROWS).setRowSchema(schema);
    if (!deadLetters) {
      return result;
    }
    // Dead letters of every step share one sink in the global window, whatever the feature's windows are.
    PCollection<DeadLetter> failures =
        result
            .get(FAILURES)
            .setCoder(AvroCoder.of(DeadLetter.class))
            .apply(
                "FailuresIntoGlobalWindow",
                Window.<DeadLetter>into(new GlobalWindows())
                    .triggering(DefaultTrigger.of())
                    .withAllowedLateness(Duration.ZERO)
                    .discardingFiredPanes());
    return PCollectionTuple.of(ROWS, result.get(ROWS)).and(FAILURES, failures);
  }

  private static final class ComputeRowFn<T> extends DoFn<T, Row> {
    private static final int ELEMENTS_IN = 0;
    private static final int ROWS_OUT = 1;
    private static final int FAILURES_COUNTED = 2;
    private final FeatureTable table;
    private final Schema schema;
    private final WindowedValues<T> toValues;
    private final boolean deadLetters;
    private final BundleMetrics metrics;

    ComputeRowFn(FeatureTable table, Schema schema, WindowedValues<T> toValues, boolean deadLetters) {
      this.table = table;
      this.schema = schema;
      this.toValues = toValues;
      this.deadLetters = deadLetters;
      this.metrics =
          BundleMetrics.of(Metrics.distribution(table.name(), "row_micros"),
              Metrics.counter(table.name(), "elements_in"), Metrics.counter(table.name(), "rows_out"),
              Metrics.counter(table.name(), "failures"));
    }

    @ProcessElement
    public void processElement(
        @Element T element, BoundedWindow window, PaneInfo pane, MultiOutputReceiver out) {
      metrics.inc(ELEMENTS_IN);
      long started = System.nanoTime();
      Row row;
      try {
        Object[] values = toValues.apply(element, window, pane);
        if (values == null) {
          return;
        }
        row = Row.withSchema(schema).attachValues(Arrays.asList(checked(table, values)));
      } catch (RuntimeException e) {
        metrics.inc(FAILURES_COUNTED);
        if (!deadLetters) {
          throw new IllegalStateException("a " + table.name() + " row, declared valid by construction, is not: " + e
              + "; this is a bug in the feature's computation. The element: " + element, e);
        }
        out.get(FAILURES)
            .output(DeadLetters.of(table.name(), REASON, "computing a " + table.name() + " row failed: " + e,
                String.valueOf(element)));
        return;
      } finally {
        metrics.update((System.nanoTime() - started) / 1_000);
      }
      metrics.inc(ROWS_OUT);
      out.get(ROWS).output(row);
    }

    @StartBundle
    public void startBundle() {
      metrics.reset();
    }

    @FinishBundle
    public void finishBundle() {
      metrics.flush();
    }
  }
}
