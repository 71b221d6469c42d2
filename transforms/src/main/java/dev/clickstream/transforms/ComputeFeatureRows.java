package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.features.FeatureTable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;

/**
 * The last step of a feature: its online-store rows, computed element by element from the feature's aggregates
 * (ratios, means, lengths), observed and isolated.
 *
 * <pre>{@code
 * PCollectionTuple rows = counts.apply("ComputeRows", ComputeFeatureRows.of(table, MyPipeline::row));
 * rows.get(ComputeFeatureRows.ROWS).apply("WriteOnlineStore", WriteToOnlineStore.into(table, FeatureRow::values));
 * rows.get(ComputeFeatureRows.FAILURES) // dead letters, with the others
 * }</pre>
 *
 * <p><b>Isolation.</b> An element whose row cannot be computed (the function throws, or the row does not fit the
 * table: wrong length, a value of a type the store does not hold, a null where the column allows none) goes to
 * {@link #FAILURES} as a dead letter whose stage is the feature's name, reason {@value #REASON}, with the
 * exception and the element, in the global window; the job and every other feature go on.
 *
 * <p><b>Metrics</b>, in a namespace named after the feature (the table), so the demo summary and the Flink web UI
 * show them per feature: counters {@code elements_in}, {@code rows_out} and {@code failures}, and the distribution
 * {@code row_micros}, the processing time of each row's computation in microseconds.
 */
public final class ComputeFeatureRows<T> extends PTransform<PCollection<T>, PCollectionTuple> {
  public static final TupleTag<FeatureRow> ROWS = new TupleTag<FeatureRow>() {};
  public static final TupleTag<DeadLetter> FAILURES = new TupleTag<DeadLetter>() {};
  public static final String REASON = "feature_failed";

  private final FeatureTable table;
  private final SerializableFunction<T, Object[]> toRow;

  private ComputeFeatureRows(FeatureTable table, SerializableFunction<T, Object[]> toRow) {
    this.table = table;
    this.toRow = toRow;
  }

  /** Rows of {@code table}, one per element, from {@code toRow}; the table names the feature. */
  public static <T> ComputeFeatureRows<T> of(FeatureTable table, SerializableFunction<T, Object[]> toRow) {
    return new ComputeFeatureRows<>(requireNonNull(table, "table"), requireNonNull(toRow, "toRow"));
  }

  @Override
  public PCollectionTuple expand(PCollection<T> elements) {
    PCollectionTuple result =
        elements.apply(
            "ComputeRow",
            ParDo.of(new ComputeRowFn<>(table, toRow)).withOutputTags(ROWS, TupleTagList.of(FAILURES)));
    result.get(ROWS).setCoder(FeatureRow.Coder.of());
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

  private static final class ComputeRowFn<T> extends DoFn<T, FeatureRow> {
    private final FeatureTable table;
    private final SerializableFunction<T, Object[]> toRow;
    private final Counter elementsIn;
    private final Counter rowsOut;
    private final Counter failures;
    private final Distribution rowMicros;

    ComputeRowFn(FeatureTable table, SerializableFunction<T, Object[]> toRow) {
      this.table = table;
      this.toRow = toRow;
      this.elementsIn = Metrics.counter(table.name(), "elements_in");
      this.rowsOut = Metrics.counter(table.name(), "rows_out");
      this.failures = Metrics.counter(table.name(), "failures");
      this.rowMicros = Metrics.distribution(table.name(), "row_micros");
    }

    @ProcessElement
    public void processElement(@Element T element, MultiOutputReceiver out) {
      elementsIn.inc();
      long started = System.nanoTime();
      FeatureRow row;
      try {
        row = new FeatureRow(checked(toRow.apply(element)));
      } catch (RuntimeException e) {
        failures.inc();
        out.get(FAILURES)
            .output(DeadLetters.of(table.name(), REASON, "computing a " + table.name() + " row failed: " + e,
                String.valueOf(element)));
        return;
      } finally {
        rowMicros.update((System.nanoTime() - started) / 1_000);
      }
      rowsOut.inc();
      out.get(ROWS).output(row);
    }

    /** The row, when it fits the table; an exception saying how it does not, else. */
    private Object[] checked(Object[] values) {
      if (values == null || values.length != table.columns().size()) {
        throw new IllegalArgumentException("expected " + table.columns().size() + " values " + table.columnNames()
            + ", got " + (values == null ? "null" : Arrays.toString(values)));
      }
      for (int i = 0; i < values.length; i++) {
        FeatureTable.Column column = table.columns().get(i);
        Object value = values[i];
        if (value == null) {
          if (!column.nullable()) {
            throw new IllegalArgumentException("column " + column.name() + " may not be null");
          }
        } else if (!(value instanceof String || value instanceof Long || value instanceof Double)) {
          throw new IllegalArgumentException("column " + column.name() + " got a " + value.getClass().getName()
              + " (" + value + "); rows hold String, Long, Double or null");
        } else if (value instanceof Double && !Double.isFinite((Double) value)) {
          throw new IllegalArgumentException("column " + column.name() + " got " + value + "; stores hold finite"
              + " numbers only");
        }
      }
      return values;
    }
  }

  /** One online-store row: String, Long, Double or null values in the table's column order. */
  public static final class FeatureRow {
    private final Object[] values;

    public FeatureRow(Object[] values) {
      this.values = requireNonNull(values, "values").clone();
    }

    /** The values, for {@link WriteToOnlineStore}. */
    public Object[] values() {
      return values.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof FeatureRow && Arrays.equals(values, ((FeatureRow) o).values);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
      return Arrays.toString(values);
    }

    /** A count, then per value a type tag and the value. */
    public static final class Coder extends AtomicCoder<FeatureRow> {
      private static final Coder INSTANCE = new Coder();
      private static final int NULL = 0;
      private static final int STRING = 1;
      private static final int LONG = 2;
      private static final int DOUBLE = 3;

      public static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(FeatureRow row, OutputStream out) throws IOException {
        VarIntCoder.of().encode(row.values.length, out);
        for (Object value : row.values) {
          if (value == null) {
            out.write(NULL);
          } else if (value instanceof String) {
            out.write(STRING);
            StringUtf8Coder.of().encode((String) value, out);
          } else if (value instanceof Long) {
            out.write(LONG);
            VarLongCoder.of().encode((Long) value, out);
          } else if (value instanceof Double) {
            out.write(DOUBLE);
            DoubleCoder.of().encode((Double) value, out);
          } else {
            throw new IOException("a feature row holds String, Long, Double or null, not " + value.getClass());
          }
        }
      }

      @Override
      public FeatureRow decode(InputStream in) throws IOException {
        Object[] values = new Object[VarIntCoder.of().decode(in)];
        for (int i = 0; i < values.length; i++) {
          int tag = in.read();
          switch (tag) {
            case NULL:
              break;
            case STRING:
              values[i] = StringUtf8Coder.of().decode(in);
              break;
            case LONG:
              values[i] = VarLongCoder.of().decode(in);
              break;
            case DOUBLE:
              values[i] = DoubleCoder.of().decode(in);
              break;
            default:
              throw new IOException("unknown value tag " + tag + " in a feature row");
          }
        }
        return new FeatureRow(values);
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
