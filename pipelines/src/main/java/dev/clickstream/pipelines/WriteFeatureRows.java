package dev.clickstream.pipelines;

import static java.util.Objects.requireNonNull;

import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.transforms.ComputeFeatureRows;
import dev.clickstream.transforms.ComputeFeatureRows.FeatureRow;
import dev.clickstream.transforms.WriteToOnlineStore;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;

/**
 * A feature's sink: its rows computed by {@link ComputeFeatureRows} (observed, and isolated: a row that fails goes to
 * the returned dead letters) and upserted into its online table (a row the store refuses goes to the returned dead
 * letters too, see {@link WriteToOnlineStore}).
 */
final class WriteFeatureRows<T> extends PTransform<PCollection<T>, PCollection<DeadLetter>> {
  private final FeatureTable table;
  private final SerializableFunction<T, Object[]> toRow;
  private final String onlineStore;
  private final boolean restate;

  private WriteFeatureRows(
      FeatureTable table, SerializableFunction<T, Object[]> toRow, String onlineStore, boolean restate) {
    this.table = requireNonNull(table, "table");
    this.toRow = requireNonNull(toRow, "toRow");
    this.onlineStore = onlineStore;
    this.restate = restate;
  }

  /**
   * Rows of {@code table} from {@code toRow}, into the online store of {@code options} ({@code --onlineStore}),
   * past the replace guard with {@code --restate}.
   */
  static <T> WriteFeatureRows<T> into(
      FeatureTable table, SerializableFunction<T, Object[]> toRow, ClickstreamOptions options) {
    return new WriteFeatureRows<>(table, toRow, options.getOnlineStore(), ClickstreamOptions.restates(options));
  }

  @Override
  public PCollection<DeadLetter> expand(PCollection<T> elements) {
    PCollectionTuple rows = elements.apply("ComputeRows", ComputeFeatureRows.of(table, toRow));
    PCollection<DeadLetter> rejected =
        rows.get(ComputeFeatureRows.ROWS)
            .apply(
                "Upsert",
                WriteToOnlineStore.into(table, FeatureRow::values).withJdbcUrl(onlineStore).withRestate(restate));
    return PCollectionList.of(rows.get(ComputeFeatureRows.FAILURES))
        .and(rejected)
        .apply("FailedRows", Flatten.pCollections());
  }
}
