package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureTable;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.extensions.avro.io.AvroIO;
import org.apache.beam.sdk.extensions.avro.schemas.utils.AvroUtils;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.joda.time.Duration;

/**
 * Appends a feature's rows to the offline store: Avro files under {@code DIR/TABLE/date=YYYY-MM-DD/}, partitioned
 * by the UTC date of each row's time (its table's first time column).
 *
 * <pre>{@code
 * rows.apply("WriteOfflineStore", WriteOfflineFiles.of(FeatureTables.CTR_5MIN).to("./data/offline"));
 * }</pre>
 *
 * <p>Each record holds the table's columns (Avro from the row schema, {@link AvroUtils}) and the pane that made it:
 * {@value #PANE_TIMING} (EARLY, ON_TIME, LATE, or UNKNOWN for a row no trigger fired) and {@value #PANE_INDEX}, so
 * the history tells a window's on-time row from its corrections.
 *
 * <p>Files are written per window and pane, with deterministic names, so re-running the same bounded input
 * rewrites the same files rather than adding copies. Works on bounded and unbounded input: rows in the global
 * window (rolling counts, sessions) are filed by {@link #FILE_WINDOW} of their time; rows later than that, up to a
 * day, in late panes gathered over {@link #FILE_WINDOW} of processing time, so a stream of late rows makes few files.
 */
public final class WriteOfflineFiles extends PTransform<PCollection<Row>, WriteFilesResult<String>> {
  public static final String PANE_TIMING = "pane_timing";
  public static final String PANE_INDEX = "pane_index";
  /** How rows that have no window of their own are grouped into files. */
  static final Duration FILE_WINDOW = Duration.standardMinutes(1);
  /** How late a row without a window of its own may still be filed. */
  static final Duration FILE_LATENESS = Duration.standardDays(1);

  private final FeatureTable table;
  private final String directory;

  private WriteOfflineFiles(FeatureTable table, String directory) {
    this.table = table;
    this.directory = directory;
  }

  /** Rows of {@code table}, dated by its first time column. */
  public static WriteOfflineFiles of(FeatureTable table) {
    return new WriteOfflineFiles(requireNonNull(table, "table"), null);
  }

  public WriteOfflineFiles to(String offlineStoreDirectory) {
    if (offlineStoreDirectory == null || offlineStoreDirectory.isBlank()) {
      throw new IllegalArgumentException("offline store directory must be a path, got '" + offlineStoreDirectory + "'");
    }
    return new WriteOfflineFiles(table, offlineStoreDirectory);
  }

  /** The Avro schema of the offline records of {@code table}: its row schema, then the pane. */
  public static Schema recordSchema(FeatureTable table) {
    org.apache.beam.sdk.schemas.Schema withPane =
        org.apache.beam.sdk.schemas.Schema.builder()
            .addFields(FeatureRows.schemaOf(table).getFields())
            .addStringField(PANE_TIMING)
            .addInt64Field(PANE_INDEX)
            .build();
    return AvroUtils.toAvroSchema(withPane, table.name(), "dev.clickstream.offline");
  }

  /** The column that dates a row: the first time column, else the first BIGINT one (a tile's start). */
  static String dateColumn(FeatureTable table) {
    List<FeatureTable.Column> bigints = new ArrayList<>();
    for (FeatureTable.Column column : table.columns()) {
      if (column.type() == FeatureTable.ColumnType.BIGINT) {
        if (column.role() == FeatureTable.Role.TIME) {
          return column.name();
        }
        bigints.add(column);
      }
    }
    if (bigints.isEmpty()) {
      throw new IllegalArgumentException("table " + table.name() + " has no time column to date its rows by");
    }
    return bigints.get(0).name();
  }

  /**
   * {@code date=D/TABLE-START-END-pane-I-SHARD-of-N.avro}, window bounds in epoch milliseconds: deterministic,
   * and free of the colons that Beam's default naming puts in (which HDFS and Windows reject).
   */
  static FileIO.Write.FileNaming fileNaming(String date, String tableName) {
    return (window, pane, numShards, shardIndex, compression) -> {
      String windowPart =
          window instanceof IntervalWindow
              ? ((IntervalWindow) window).start().getMillis() + "-" + ((IntervalWindow) window).end().getMillis()
              : "global";
      return String.format(
          Locale.ROOT,
          "date=%s/%s-%s-pane-%d-%05d-of-%05d.avro",
          date, tableName, windowPart, pane.getIndex(), shardIndex, numShards);
    };
  }

  @Override
  public WriteFilesResult<String> expand(PCollection<Row> rows) {
    if (directory == null) {
      throw new IllegalStateException("WriteOfflineFiles needs to(directory)");
    }
    Schema schema = recordSchema(table);
    String dateColumn = dateColumn(table);
    String tableName = table.name();
    PCollection<GenericRecord> records =
        rows.apply("ToAvroRecords", ParDo.of(new ToRecordFn(schema.toString())))
            .setCoder(AvroCoder.of(schema));
    if (rows.getWindowingStrategy().getWindowFn() instanceof GlobalWindows) {
      records =
          records.apply(
              "WindowIntoFileWindows",
              Window.<GenericRecord>into(FixedWindows.of(FILE_WINDOW))
                  .triggering(AfterWatermark.pastEndOfWindow()
                      .withLateFirings(AfterProcessingTime.pastFirstElementInPane().plusDelayOf(FILE_WINDOW)))
                  .withAllowedLateness(FILE_LATENESS)
                  .discardingFiredPanes());
    }
    // Each input element is already one pane's row. FileIO groups rows into files with a GroupByKey that inherits
    // the input's windowing: with accumulating panes, a late firing would write every earlier row of the window
    // again. Discarding keeps the window, trigger and lateness, and writes each row once.
    return records
        .apply("DiscardFiredPanes", Window.<GenericRecord>configure().discardingFiredPanes())
        .apply(
            "WriteAvroPartitionedByDate",
            FileIO.<String, GenericRecord>writeDynamic()
                .by(record -> Instant.ofEpochMilli((Long) record.get(dateColumn))
                    .atZone(ZoneOffset.UTC).toLocalDate().toString())
                .withDestinationCoder(StringUtf8Coder.of())
                .via(AvroIO.sink(schema))
                .to(directory + "/" + tableName)
                .withNaming(date -> fileNaming(date, tableName))
                .withNumShards(1));
  }

  /** A row as an Avro record of its columns and the pane that made it. */
  private static final class ToRecordFn extends DoFn<Row, GenericRecord> {
    private final String schemaJson;
    private transient Schema schema;

    ToRecordFn(String schemaJson) {
      this.schemaJson = schemaJson;
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
      record.put(PANE_TIMING, FeatureSteps.timing(pane).name());
      record.put(PANE_INDEX, pane.getIndex());
      out.output(record);
    }
  }
}
