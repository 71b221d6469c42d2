package dev.clickstream.transforms;

import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.features.PointInTime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestPipelineExtension.class)
class WriteOfflineFilesTest {
  private static final String TABLE = "ctr_5min";
  private static final Duration FIVE_MINUTES = Duration.standardMinutes(5);
  private static final org.apache.avro.Schema SCHEMA = WriteOfflineFiles.recordSchema(FeatureTables.CTR_5MIN);

  /** 2024-03-01T12:00:00Z. */
  private static final long NOON = 1_709_294_400_000L;
  /** 2024-03-01T23:55:00Z: the last window of the day. */
  private static final long LAST_WINDOW_OF_MARCH_1 = 1_709_337_300_000L;
  /** 2024-03-02T00:00:00Z. */
  private static final long MIDNIGHT = 1_709_337_600_000L;

  private static final GenericRecord ALICE_NOON = row("alice", NOON, 4, 1, 0.25, "ON_TIME", 0);
  private static final GenericRecord BOB_NOON = row("bob", NOON, 0, 1, null, "ON_TIME", 0);
  private static final GenericRecord ALICE_BEFORE_MIDNIGHT =
      row("alice", LAST_WINDOW_OF_MARCH_1, 2, 2, 1.0, "ON_TIME", 0);
  private static final GenericRecord ALICE_AT_MIDNIGHT = row("alice", MIDNIGHT, 1, 0, 0.0, "ON_TIME", 0);

  /** A window is known once it has closed: the last window of a day belongs to the next day's partition. */
  @Test
  void writesRowsUnderTheirTableAndTheUtcDateTheyBecomeKnown(TestPipeline pipeline, @TempDir Path dir)
      throws IOException {
    writeWindowed(pipeline, dir, ALICE_NOON, BOB_NOON, ALICE_BEFORE_MIDNIGHT, ALICE_AT_MIDNIGHT);

    pipeline.run().waitUntilFinish();

    Map<String, List<GenericRecord>> partitions = readPartitions(dir.resolve(TABLE));
    assertThat(partitions.keySet(), containsInAnyOrder("date=2024-03-01", "date=2024-03-02"));
    assertThat(partitions.get("date=2024-03-01"), containsInAnyOrder(ALICE_NOON, BOB_NOON));
    assertThat(partitions.get("date=2024-03-02"), containsInAnyOrder(ALICE_BEFORE_MIDNIGHT, ALICE_AT_MIDNIGHT));
  }

  @Test
  void namesFilesByWindowAndLeavesNoTemporaryFiles(TestPipeline pipeline, @TempDir Path dir) throws IOException {
    writeWindowed(pipeline, dir, ALICE_NOON, BOB_NOON, ALICE_BEFORE_MIDNIGHT, ALICE_AT_MIDNIGHT);

    pipeline.run().waitUntilFinish();

    assertThat(
        relativeFiles(dir),
        containsInAnyOrder(
            "ctr_5min/date=2024-03-01/ctr_5min-1709294400000-1709294700000-pane-0-00000-of-00001.parquet",
            "ctr_5min/date=2024-03-02/ctr_5min-1709337300000-1709337600000-pane-0-00000-of-00001.parquet",
            "ctr_5min/date=2024-03-02/ctr_5min-1709337600000-1709337900000-pane-0-00000-of-00001.parquet"));
  }

  @Test
  void rewritingTheSameInputReplacesTheFilesRatherThanAddingCopies(TestPipeline pipeline, @TempDir Path dir)
      throws IOException {
    writeWindowed(pipeline, dir, ALICE_NOON, BOB_NOON, ALICE_AT_MIDNIGHT);

    pipeline.run().waitUntilFinish();
    List<String> filesAfterFirstRun = relativeFiles(dir);
    pipeline.run().waitUntilFinish();

    assertThat(relativeFiles(dir), equalTo(filesAfterFirstRun));
    Map<String, List<GenericRecord>> partitions = readPartitions(dir.resolve(TABLE));
    assertThat(partitions.get("date=2024-03-01"), containsInAnyOrder(ALICE_NOON, BOB_NOON));
    assertThat(partitions.get("date=2024-03-02"), containsInAnyOrder(ALICE_AT_MIDNIGHT));
  }

  /**
   * As in the compiled ctr_5min: accumulating panes from {@link TumblingFeatures}, one of them late. Each pane's row lands in
   * the offline store exactly once.
   */
  @Test
  void writesEachPaneOfAStreamOnce(TestPipeline pipeline, @TempDir Path dir) throws IOException {
    Instant noon = new Instant(NOON);
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .advanceWatermarkTo(noon)
            .addElements(event("e1", "impression", noon.plus(Duration.standardMinutes(1))))
            .addElements(event("e2", "click", noon.plus(Duration.standardMinutes(2))))
            .advanceWatermarkTo(noon.plus(Duration.standardMinutes(6)))
            .addElements(event("e3", "impression", noon.plus(Duration.standardMinutes(3))))
            .advanceWatermarkToInfinity();

    pipeline
        .apply(events)
        .apply("ctr_5min", CompileFeature.withClock(() -> 0L)
            .withAllowedLateness(Duration.standardMinutes(10))
            .tumbling(FeatureDefinitions.CTR_5MIN, ClickEvent.class))
        .get(CompileFeature.rowsOf(FeatureTables.CTR_5MIN))
        .apply(WriteOfflineFiles.of(FeatureTables.CTR_5MIN).to(dir.toString()));

    pipeline.run().waitUntilFinish();

    String partition = "ctr_5min/date=2024-03-01/";
    String window = "ctr_5min-1709294400000-1709294700000";
    assertThat(
        relativeFiles(dir),
        containsInAnyOrder(
            partition + window + "-pane-0-00000-of-00001.parquet",
            partition + window + "-pane-1-00000-of-00001.parquet"));
    assertThat(
        readFile(dir.resolve(partition + window + "-pane-0-00000-of-00001.parquet")),
        containsInAnyOrder(row("alice", NOON, 1, 1, 1.0, "ON_TIME", 0)));
    assertThat(
        readFile(dir.resolve(partition + window + "-pane-1-00000-of-00001.parquet")),
        containsInAnyOrder(row("alice", NOON, 2, 1, 0.5, "LATE", 1)));
  }

  /**
   * The raw events, filed by the hour of their time under their UTC date: a rerun writes the same files, every event
   * is read back once, and a reader skips what Beam's unfinished writes leave in hidden directories.
   */
  @Test
  void keepsTheRawEventsAndARerunReplacesThem(TestPipeline pipeline, @TempDir Path dir) throws IOException {
    pipeline
        .apply(Create.timestamped(
                event("e1", "impression", new Instant(NOON + 1)),
                event("e2", "click", new Instant(NOON + 3_599_999L)),
                event("e3", "click", new Instant(MIDNIGHT)))
            .withCoder(AvroCoder.of(ClickEvent.class)))
        .apply(WriteOfflineEvents.to(dir.toString()));

    pipeline.run().waitUntilFinish();
    List<String> filesAfterFirstRun = relativeFiles(dir);
    pipeline.run().waitUntilFinish();

    assertThat(relativeFiles(dir), equalTo(filesAfterFirstRun));
    assertThat(filesAfterFirstRun, containsInAnyOrder(
        "events/date=2024-03-01/events-1709294400000-1709298000000-pane-0-00000-of-00001.parquet",
        "events/date=2024-03-02/events-1709337600000-1709341200000-pane-0-00000-of-00001.parquet"));
    Path unfinished = Files.createDirectories(dir.resolve("events/.temp-beam-0/date=2024-03-01"));
    Files.copy(dir.resolve(filesAfterFirstRun.get(0)), unfinished.resolve("unfinished.parquet"));
    List<String> read = new ArrayList<>();
    for (GenericRecord record : OfflineFiles.read(dir.resolve("events"))) {
      read.add(record.get("event_id") + " " + record.get("event_type") + " " + record.get("timestamp"));
    }
    assertThat(read, containsInAnyOrder(
        "e1 impression " + (NOON + 1), "e2 click " + (NOON + 3_599_999L), "e3 click " + MIDNIGHT));
  }

  /**
   * A stream of raw events: batched per window and date within each bundle before FileIO groups them, each event
   * is written once, in its hour's on-time file or, arriving late, in a later pane's file of that hour.
   */
  @Test
  void writesAStreamOfRawEventsOnceEach(TestPipeline pipeline, @TempDir Path dir) throws IOException {
    Instant noon = new Instant(NOON);
    pipeline
        .apply(TestStream.create(AvroCoder.of(ClickEvent.class))
            .advanceWatermarkTo(noon)
            .addElements(event("e1", "impression", new Instant(NOON + 1)),
                event("e2", "click", new Instant(NOON + 3_599_999L)),
                event("e3", "click", new Instant(MIDNIGHT)))
            .advanceWatermarkTo(new Instant(NOON + 3_600_000L + 60_000L))
            .addElements(event("e4", "click", new Instant(NOON + 2)))
            .advanceWatermarkToInfinity())
        .apply(WriteOfflineEvents.to(dir.toString()));

    pipeline.run().waitUntilFinish();

    String noonHour = "events/date=2024-03-01/events-1709294400000-1709298000000";
    assertThat(relativeFiles(dir), containsInAnyOrder(
        noonHour + "-pane-0-00000-of-00001.parquet",
        noonHour + "-pane-1-00000-of-00001.parquet",
        "events/date=2024-03-02/events-1709337600000-1709341200000-pane-0-00000-of-00001.parquet"));
    List<String> read = new ArrayList<>();
    for (GenericRecord record : OfflineFiles.read(dir.resolve("events"))) {
      read.add(record.get("event_id") + " " + record.get("timestamp"));
    }
    assertThat(read, containsInAnyOrder(
        "e1 " + (NOON + 1), "e2 " + (NOON + 3_599_999L), "e3 " + MIDNIGHT, "e4 " + (NOON + 2)));
  }

  /** Batches never mix windows or dates, hold at most their size, and lose no record. */
  @Test
  void batchesPerWindowAndDateUpToTheirSize(TestPipeline pipeline) {
    org.apache.avro.Schema schema = ClickEvent.getClassSchema();
    PCollection<String> batches = pipeline
        .apply(Create.timestamped(
                event("e1", "impression", new Instant(NOON + 1)),
                event("e2", "click", new Instant(NOON + 2)),
                event("e3", "click", new Instant(NOON + 3)),
                event("e4", "click", new Instant(NOON + 3_600_000L)),
                event("e5", "click", new Instant(MIDNIGHT)))
            .withCoder(AvroCoder.of(ClickEvent.class)))
        .apply(MapElements.into(TypeDescriptor.of(GenericRecord.class)).via(event -> (GenericRecord) event))
        .setCoder(AvroCoder.of(GenericRecord.class, schema))
        .apply(Window.into(FixedWindows.of(Duration.standardHours(1))))
        .apply(ParDo.of(new DatedParquetFiles.BatchPerWindowAndDateFn("timestamp", 2)))
        .setCoder(ListCoder.of(AvroCoder.of(GenericRecord.class, schema)))
        .apply(ParDo.of(new EventIdsOfBatchesFn(2)));

    PAssert.that(batches).containsInAnyOrder("e1", "e2", "e3", "e4", "e5");
    pipeline.run().waitUntilFinish();
  }

  /** Each record's event id, marked with "!" when it lies outside its batch's window or its batch is too large. */
  private static final class EventIdsOfBatchesFn extends DoFn<List<GenericRecord>, String> {
    private final int maxBatch;

    EventIdsOfBatchesFn(int maxBatch) {
      this.maxBatch = maxBatch;
    }

    @ProcessElement
    public void processElement(
        @Element List<GenericRecord> batch, IntervalWindow window, OutputReceiver<String> out) {
      for (GenericRecord record : batch) {
        Instant time = new Instant((Long) record.get("timestamp"));
        boolean fits = !window.start().isAfter(time) && window.end().isAfter(time) && batch.size() <= maxBatch;
        out.output(record.get("event_id") + (fits ? "" : "!"));
      }
    }
  }

  @Test
  void rejectsABlankDirectory() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> WriteOfflineFiles.of(FeatureTables.CTR_5MIN).to(" "));
    assertThat(e.getMessage(), equalTo("offline store directory must be a path, got ' '"));
  }

  @Test
  void expandWithoutADirectoryFailsClearly() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<Row> rows =
        pipeline.apply(Create.of(tableRow(ALICE_NOON)).withRowSchema(FeatureRows.schemaOf(FeatureTables.CTR_5MIN)));

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> rows.apply(WriteOfflineFiles.of(FeatureTables.CTR_5MIN)));

    assertThat(e.getMessage(), equalTo("WriteOfflineFiles needs to(directory)"));
  }

  /** Rows stamped at their window start and put back in 5-minute windows, as they leave the CTR aggregation. */
  private static void writeWindowed(TestPipeline pipeline, Path dir, GenericRecord... rows) {
    List<TimestampedValue<Row>> timestamped = new ArrayList<>();
    for (GenericRecord row : rows) {
      timestamped.add(TimestampedValue.of(tableRow(row), new Instant((Long) row.get("window_start"))));
    }
    pipeline
        .apply(Create.timestamped(timestamped).withCoder(RowCoder.of(FeatureRows.schemaOf(FeatureTables.CTR_5MIN))))
        .apply("WindowIntoFiveMinutes", Window.into(FixedWindows.of(FIVE_MINUTES)))
        .apply(
            "WriteOfflineStore",
            WriteOfflineFiles.of(FeatureTables.CTR_5MIN).to(dir.toString()));
  }

  /** Every record under {@code tableDir}, by partition directory. */
  private static Map<String, List<GenericRecord>> readPartitions(Path tableDir) throws IOException {
    Map<String, List<GenericRecord>> partitions = new TreeMap<>();
    for (Path file : OfflineFiles.files(tableDir)) {
      partitions
          .computeIfAbsent(tableDir.relativize(file).getName(0).toString(), unused -> new ArrayList<>())
          .addAll(readFile(file));
    }
    return partitions;
  }

  /** The records of {@code file}, their text read as Java strings so that they equal {@link #row}'s. */
  private static List<GenericRecord> readFile(Path file) throws IOException {
    List<GenericRecord> records = new ArrayList<>();
    for (GenericRecord read : OfflineFiles.readFile(file)) {
      GenericData.Record record = new GenericData.Record(SCHEMA);
      for (org.apache.avro.Schema.Field field : SCHEMA.getFields()) {
        Object value = read.get(field.name());
        record.put(field.name(), value instanceof CharSequence ? value.toString() : value);
      }
      records.add(record);
    }
    return records;
  }

  /** The table row an offline record was written from. */
  private static Row tableRow(GenericRecord record) {
    Object[] values = new Object[FeatureTables.CTR_5MIN.columns().size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = record.get(FeatureTables.CTR_5MIN.columnNames().get(i));
    }
    return FeatureRows.row(FeatureTables.CTR_5MIN, values);
  }

  /** Every file under {@code dir}, hidden and temporary ones included, relative to it. */
  private static List<String> relativeFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(Files::isRegularFile)
          .map(file -> dir.relativize(file).toString())
          .sorted()
          .collect(Collectors.toList());
    }
  }

  private static TimestampedValue<ClickEvent> event(String id, String type, Instant time) {
    return TimestampedValue.of(
        ClickEvent.newBuilder()
            .setEventId(id)
            .setUserId("alice")
            .setEventType(type)
            .setTimestamp(time.getMillis())
            .build(),
        time);
  }

  private static GenericRecord row(
      String user, long windowStart, long impressions, long clicks, Double ctr, String paneTiming, long paneIndex) {
    GenericData.Record record = new GenericData.Record(SCHEMA);
    record.put("user_id", user);
    record.put("window_start", windowStart);
    record.put("window_end", windowStart + FIVE_MINUTES.getMillis());
    record.put("impressions", impressions);
    record.put("clicks", clicks);
    record.put("ctr", ctr);
    record.put("updated_at", 0L);
    record.put(PointInTime.FEATURE_TIME, windowStart + FIVE_MINUTES.getMillis());
    record.put(WriteOfflineFiles.PANE_TIMING, paneTiming);
    record.put(WriteOfflineFiles.PANE_INDEX, paneIndex);
    return record;
  }
}
