package dev.clickstream.transforms;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.io.parquet.ParquetIO;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The offline store's one way of writing files: Avro records as Parquet ({@link ParquetIO}) under {@code
 * DIR/NAME/date=YYYY-MM-DD/}, by the UTC date of a field holding epoch milliseconds, with names that depend only on
 * the window and pane the records belong to: {@code NAME-START-END-pane-I-SHARD-of-N.parquet}. So rerunning the same
 * bounded input rewrites the same files, and a late pane adds a file instead of rewriting one.
 *
 * <p>Records in the global window (rolling counts, sessions, raw events) are filed by fixed windows of their time
 * ({@link #withFileWindow}, one minute unless set); those later than their window, up to {@link #FILE_LATENESS},
 * in late panes gathered over the file window of processing time, so a stream of late records makes few files.
 *
 * <p>Beam writes each file under a hidden {@code .temp-beam*} directory beside the partitions first and moves it into
 * place when the bundle is done, which can leave that directory behind, empty: readers skip names starting with a
 * dot ({@code OfflineFiles}), and {@code date=*}{@code /*.parquet} globs never match it.
 */
final class DatedParquetFiles extends PTransform<PCollection<GenericRecord>, WriteFilesResult<String>> {
  static final String SUFFIX = ".parquet";
  /** How feature rows that have no window of their own are grouped into files. */
  static final Duration FILE_WINDOW = Duration.standardMinutes(1);
  /** How raw events are grouped into files: fewer, larger files, as there are many more events than rows. */
  static final Duration EVENT_FILE_WINDOW = Duration.standardHours(1);
  /** How late a record without a window of its own may still be filed. */
  static final Duration FILE_LATENESS = Duration.standardDays(1);

  private final String schemaJson;
  private final String name;
  private final String dateField;
  private final Duration fileWindow;
  private final String directory;

  private DatedParquetFiles(String schemaJson, String name, String dateField, Duration fileWindow, String directory) {
    this.schemaJson = schemaJson;
    this.name = name;
    this.dateField = dateField;
    this.fileWindow = fileWindow;
    this.directory = directory;
  }

  /** Records of {@code schema} into {@code DIR/name/}, dated by {@code dateField} (epoch milliseconds). */
  static DatedParquetFiles of(Schema schema, String name, String dateField) {
    if (schema.getField(dateField) == null) {
      throw new IllegalArgumentException(name + ": no field " + dateField + " to date its records by");
    }
    return new DatedParquetFiles(schema.toString(), name, dateField, FILE_WINDOW, null);
  }

  DatedParquetFiles withFileWindow(Duration window) {
    return new DatedParquetFiles(schemaJson, name, dateField, window, directory);
  }

  DatedParquetFiles to(String offlineStoreDirectory) {
    return new DatedParquetFiles(schemaJson, name, dateField, fileWindow, checkDirectory(offlineStoreDirectory));
  }

  static String checkDirectory(String directory) {
    if (directory == null || directory.isBlank()) {
      throw new IllegalArgumentException("offline store directory must be a path, got '" + directory + "'");
    }
    return directory;
  }

  /** {@code date=D/NAME-START-END-pane-I-SHARD-of-N.parquet}, window bounds in epoch milliseconds. */
  static FileIO.Write.FileNaming fileNaming(String date, String name) {
    // Deterministic, and free of the colons that Beam's default naming puts in (which HDFS and Windows reject).
    return (window, pane, numShards, shardIndex, compression) -> {
      String windowPart =
          window instanceof IntervalWindow
              ? ((IntervalWindow) window).start().getMillis() + "-" + ((IntervalWindow) window).end().getMillis()
              : "global";
      return String.format(
          Locale.ROOT, "date=%s/%s-%s-pane-%d-%05d-of-%05d%s",
          date, name, windowPart, pane.getIndex(), shardIndex, numShards, SUFFIX);
    };
  }

  /** The partition of epoch milliseconds {@code millis}: its UTC date, {@code YYYY-MM-DD}. */
  static String date(long millis) {
    return java.time.Instant.ofEpochMilli(millis).atZone(ZoneOffset.UTC).toLocalDate().toString();
  }

  @Override
  public WriteFilesResult<String> expand(PCollection<GenericRecord> records) {
    if (directory == null) {
      throw new IllegalStateException("offline files of " + name + " need to(directory)");
    }
    Schema schema = new Schema.Parser().parse(schemaJson);
    String field = dateField;
    PCollection<GenericRecord> windowed = records;
    if (records.getWindowingStrategy().getWindowFn() instanceof GlobalWindows) {
      windowed =
          records.apply(
              "WindowIntoFileWindows",
              Window.<GenericRecord>into(FixedWindows.of(fileWindow))
                  .triggering(AfterWatermark.pastEndOfWindow()
                      .withLateFirings(AfterProcessingTime.pastFirstElementInPane().plusDelayOf(fileWindow)))
                  .withAllowedLateness(FILE_LATENESS)
                  .discardingFiredPanes());
    }
    // Each input element is already one pane's row. FileIO groups records into files with a GroupByKey that inherits
    // the input's windowing: with accumulating panes, a late firing would write every earlier row of the window
    // again. Discarding keeps the window, trigger and lateness, and writes each record once.
    PCollection<GenericRecord> discarding =
        windowed.apply("DiscardFiredPanes", Window.<GenericRecord>configure().discardingFiredPanes());
    if (!FeatureSteps.isStream(records)) {
      return discarding.apply(
          "WriteParquet",
          writeDynamic((GenericRecord record) -> date((Long) record.get(field)), ParquetIO.sink(schema)));
    }
    // A stream: FileIO's grouping runs Beam's per-window machinery for every element it gets, a quarter of every
    // feature's CPU live when it got each record (docs/benchmarks.md). Batched per window and date within each
    // bundle, it gets one element per batch. The same records land in the same windows, panes and files.
    return discarding
        .apply("BatchPerWindowAndDate", ParDo.of(new BatchPerWindowAndDateFn(field, MAX_BATCH)))
        .setCoder(ListCoder.of(records.getCoder()))
        .apply(
            "WriteParquet",
            writeDynamic(
                (List<GenericRecord> batch) -> date((Long) batch.get(0).get(field)),
                new BatchSink(ParquetIO.sink(schema))));
  }

  /** Elements written by {@code sink} into one file per window, pane and date, named by {@link #fileNaming}. */
  private <T> FileIO.Write<String, T> writeDynamic(SerializableFunction<T, String> date, FileIO.Sink<T> sink) {
    String fileName = name;
    return FileIO.<String, T>writeDynamic()
        .by(date)
        .withDestinationCoder(StringUtf8Coder.of())
        .via(sink)
        .to(directory + "/" + fileName)
        .withNaming(destination -> fileNaming(destination, fileName))
        .withNumShards(1);
  }

  /** Records per batch at most, so a runner with large bundles holds few of them at a time. */
  static final int MAX_BATCH = 1_000;

  /**
   * Gathers a bundle's records per window and date, and outputs each batch when it is full or the bundle ends, in
   * its window, timestamped at its latest record. Runners do not advance the watermark within a bundle (Flink's
   * holds it until the bundle finishes, and finishes bundles before checkpoints), so no batch is late where its
   * records were not.
   */
  static final class BatchPerWindowAndDateFn extends DoFn<GenericRecord, List<GenericRecord>> {
    private final String dateField;
    private final int maxBatch;
    private transient Map<KV<BoundedWindow, String>, Batch> batches;

    BatchPerWindowAndDateFn(String dateField, int maxBatch) {
      this.dateField = dateField;
      this.maxBatch = maxBatch;
    }

    /** One window's and date's records so far, and the latest of their timestamps. */
    private static final class Batch {
      final BoundedWindow window;
      final List<GenericRecord> records = new ArrayList<>();
      Instant latest;

      Batch(BoundedWindow window, Instant first) {
        this.window = window;
        this.latest = first;
      }
    }

    @StartBundle
    public void startBundle() {
      batches = new HashMap<>();
    }

    @ProcessElement
    public void processElement(
        @Element GenericRecord record,
        @Timestamp Instant timestamp,
        BoundedWindow window,
        OutputReceiver<List<GenericRecord>> out) {
      KV<BoundedWindow, String> key = KV.of(window, date((Long) record.get(dateField)));
      Batch batch = batches.computeIfAbsent(key, unused -> new Batch(window, timestamp));
      batch.records.add(record);
      if (timestamp.isAfter(batch.latest)) {
        batch.latest = timestamp;
      }
      if (batch.records.size() >= maxBatch) {
        batches.remove(key);
        // In this element's window, which the batch's key names.
        out.outputWithTimestamp(batch.records, batch.latest);
      }
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) {
      for (Batch batch : batches.values()) {
        context.output(batch.records, batch.latest, batch.window);
      }
      batches.clear();
    }
  }

  /** Writes each record of a batch with {@code records}. */
  static final class BatchSink implements FileIO.Sink<List<GenericRecord>> {
    private final FileIO.Sink<GenericRecord> records;

    BatchSink(FileIO.Sink<GenericRecord> records) {
      this.records = records;
    }

    @Override
    public void open(WritableByteChannel channel) throws IOException {
      records.open(channel);
    }

    @Override
    public void write(List<GenericRecord> batch) throws IOException {
      for (GenericRecord record : batch) {
        records.write(record);
      }
    }

    @Override
    public void flush() throws IOException {
      records.flush();
    }
  }
}
