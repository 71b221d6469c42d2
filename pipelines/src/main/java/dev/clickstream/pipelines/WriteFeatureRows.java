package dev.clickstream.pipelines;

import static java.util.Objects.requireNonNull;

import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.store.FeatureTable;
import dev.clickstream.transforms.ComputeFeatureRows;
import dev.clickstream.transforms.ComputeFeatureRows.FeatureRow;
import dev.clickstream.transforms.WriteToOnlineStore;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;

/**
 * A feature's sink: its rows computed by {@link ComputeFeatureRows} (observed, and isolated: a row that fails goes to
 * the returned dead letters) and upserted into its online table.
 */
final class WriteFeatureRows<T> extends PTransform<PCollection<T>, PCollection<DeadLetter>> {
  private final FeatureTable table;
  private final SerializableFunction<T, Object[]> toRow;
  private final String onlineStore;

  private WriteFeatureRows(FeatureTable table, SerializableFunction<T, Object[]> toRow, String onlineStore) {
    this.table = requireNonNull(table, "table");
    this.toRow = requireNonNull(toRow, "toRow");
    this.onlineStore = onlineStore;
  }

  /** Rows of {@code table} from {@code toRow}, into the online store at {@code onlineStore}. */
  static <T> WriteFeatureRows<T> into(FeatureTable table, SerializableFunction<T, Object[]> toRow, String onlineStore) {
    return new WriteFeatureRows<>(table, toRow, onlineStore);
  }

  @Override
  public PCollection<DeadLetter> expand(PCollection<T> elements) {
    PCollectionTuple rows = elements.apply("ComputeRows", ComputeFeatureRows.of(table, toRow));
    rows.get(ComputeFeatureRows.ROWS)
        .apply("Upsert", WriteToOnlineStore.into(table, FeatureRow::values).withJdbcUrl(onlineStore));
    return rows.get(ComputeFeatureRows.FAILURES);
  }
}
