package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.PointInTime;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.extensions.avro.schemas.utils.AvroUtils;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;

/**
 * Appends a feature's rows to the offline store: Parquet files under {@code DIR/TABLE/date=YYYY-MM-DD/},
 * partitioned by the UTC date of each row's {@value PointInTime#FEATURE_TIME}.
 *
 * <pre>{@code
 * rows.apply("WriteOfflineStore", WriteOfflineFiles.of(FeatureTables.CTR_5MIN).to("./data/offline"));
 * }</pre>
 *
 * <p>Each record is the online row as it was computed, every time it changed: the table's columns (Avro from the
 * row schema, {@link AvroUtils}), with {@code updated_at} its write time; {@value PointInTime#FEATURE_TIME}, when it
 * became known in event time ({@link PointInTime#knownAtColumn}); and the pane that made it, {@value #PANE_TIMING}
 * (EARLY, ON_TIME, LATE, or UNKNOWN for a row no trigger fired) and {@value #PANE_INDEX}. A late correction is a new
 * record in a file of its own; nothing is rewritten in place. Readers pick a row's version by the table's replace
 * rule (see docs/features.md).
 *
 * <p>Files are named by window and pane ({@link DatedParquetFiles}), so rerunning the same bounded input rewrites
 * the same files rather than adding copies. Works on bounded and unbounded input.
 */
public final class WriteOfflineFiles extends PTransform<PCollection<Row>, WriteFilesResult<String>> {
  public static final String PANE_TIMING = "pane_timing";
  public static final String PANE_INDEX = "pane_index";

  private final FeatureTable table;
  private final String directory;

  private WriteOfflineFiles(FeatureTable table, String directory) {
    this.table = table;
    this.directory = directory;
  }

  /** Rows of {@code table}. */
  public static WriteOfflineFiles of(FeatureTable table) {
    return new WriteOfflineFiles(requireNonNull(table, "table"), null);
  }

  public WriteOfflineFiles to(String offlineStoreDirectory) {
    return new WriteOfflineFiles(table, DatedParquetFiles.checkDirectory(offlineStoreDirectory));
  }

  /** The Avro schema of the offline records of {@code table}: its row schema, the feature time, then the pane. */
  public static Schema recordSchema(FeatureTable table) {
    org.apache.beam.sdk.schemas.Schema withPane =
        org.apache.beam.sdk.schemas.Schema.builder()
            .addFields(FeatureRows.schemaOf(table).getFields())
            .addInt64Field(PointInTime.FEATURE_TIME)
            .addStringField(PANE_TIMING)
            .addInt64Field(PANE_INDEX)
            .build();
    return AvroUtils.toAvroSchema(withPane, table.name(), "dev.clickstream.offline");
  }

  @Override
  public WriteFilesResult<String> expand(PCollection<Row> rows) {
    if (directory == null) {
      throw new IllegalStateException("WriteOfflineFiles needs to(directory)");
    }
    Schema schema = recordSchema(table);
    int knownAt = table.columnNames().indexOf(PointInTime.knownAtColumn(table));
    return rows.apply("ToAvroRecords", ParDo.of(new ToRecordFn(schema.toString(), knownAt)))
        .setCoder(AvroCoder.of(schema))
        .apply("WriteParquetPartitionedByDate",
            DatedParquetFiles.of(schema, table.name(), PointInTime.FEATURE_TIME).to(directory));
  }

  /** A row as an Avro record of its columns, the time it became known and the pane that made it. */
  private static final class ToRecordFn extends DoFn<Row, GenericRecord> {
    private final String schemaJson;
    private final int knownAt;
    private transient Schema schema;

    ToRecordFn(String schemaJson, int knownAt) {
      this.schemaJson = schemaJson;
      this.knownAt = knownAt;
    }

    @Setup
    public void setup() {
      schema = new Schema.Parser().parse(schemaJson);
    }

    @ProcessElement
    public void processElement(@Element Row row, PaneInfo pane, OutputReceiver<GenericRecord> out) {
      GenericData.Record record = new GenericData.Record(schema);
      List<Object> values = row.getValues();
      for (int i = 0; i < values.size(); i++) {
        record.put(i, values.get(i));
      }
      record.put(PointInTime.FEATURE_TIME, values.get(knownAt));
      record.put(PANE_TIMING, FeatureSteps.timing(pane).name());
      record.put(PANE_INDEX, pane.getIndex());
      out.output(record);
    }
  }
}
