package dev.clickstream.io;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.PipelineCounters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Avro container files read whole, straight into events, and damaged ones reported: the records before the damage,
 * and a dead letter; bad records get the reasons JSON lines get.
 */
class ReadEventRecordsTest {
  private static final int BLOCK = 100;
  private static final int BLOCKS = 3;
  /** 2025-11-22T08:26:40Z. */
  private static final long T0 = 1_763_800_000_000L;
  private static final long YEAR_9999 = 253_402_214_400_000L;

  @Test
  void anAvroFileTruncatedInsideABlockKeepsTheRecordsBeforeAndIsADeadLetter(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("events.avro");
    List<ClickEvent> events = events();
    long[] blockEnds = writeInBlocks(file, events);
    // Cut the last block in half: its records are lost, the two before it are whole.
    long cut = blockEnds[1] + (blockEnds[2] - blockEnds[1]) / 2;
    try (RandomAccessFile truncate = new RandomAccessFile(file.toFile(), "rw")) {
      truncate.setLength(cut);
    }

    PipelineResult result =
        read(file, events.subList(0, 2 * BLOCK),
            List.of("ReadEventRecords corrupt_file " + file + " the Avro file " + file + " (" + cut
                + " bytes) is damaged after 200 records (" + blockEnds[1] + " bytes read whole): it ends inside a"
                + " block. The records before the damage were read; the rest of the file was not. Restore or"
                + " rewrite the file and read it again (the store's upserts make a rerun safe)."));

    assertThat(PipelineCounters.value(result, "ReadEventRecords", "records_read"), is(200L));
    assertThat(PipelineCounters.value(result, "ReadEventRecords", "corrupt_files"), is(1L));
  }

  @Test
  void anAvroFileWithABadSyncMarkerIsADeadLetterAfterTheRecordsBeforeIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("events.avro");
    List<ClickEvent> events = events();
    long[] blockEnds = writeInBlocks(file, events);
    try (RandomAccessFile garble = new RandomAccessFile(file.toFile(), "rw")) {
      // The last block's sync marker, its final 16 bytes: the block is refused whole.
      garble.seek(blockEnds[2] - 16);
      garble.write(new byte[16]);
    }

    PipelineResult result =
        read(file, events.subList(0, 2 * BLOCK),
            List.of("ReadEventRecords corrupt_file " + file + " the Avro file " + file + " (" + blockEnds[2]
                + " bytes) is damaged after 200 records (" + blockEnds[1] + " bytes read whole):"
                + " AvroRuntimeException: java.io.IOException: Invalid sync!. The records before the damage were"
                + " read; the rest of the file was not. Restore or rewrite the file and read it again (the store's"
                + " upserts make a rerun safe)."));

    assertThat(PipelineCounters.value(result, "ReadEventRecords", "corrupt_files"), is(1L));
  }

  @Test
  void aWholeAvroFileIsReadToTheEndWithoutDeadLetters(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("events.avro");
    List<ClickEvent> events = events();
    writeInBlocks(file, events);

    PipelineResult result = read(file, events, List.of());

    assertThat(PipelineCounters.value(result, "ReadEventRecords", "records_read"), is(300L));
    assertThat(PipelineCounters.value(result, "ReadEventRecords", "corrupt_files"), is(0L));
  }

  @Test
  void anAvroFileOfNoEventsIsWholeAndOneCutInItsHeaderIsADeadLetter(@TempDir Path dir) throws Exception {
    Path empty = dir.resolve("empty.avro");
    AvroEventFiles.write(empty, List.of());
    read(empty, List.of(), List.of());

    Path cut = dir.resolve("cut.avro");
    AvroEventFiles.write(cut, List.of());
    try (RandomAccessFile truncate = new RandomAccessFile(cut.toFile(), "rw")) {
      truncate.setLength(10);
    }
    read(cut, List.of(),
        List.of("ReadEventRecords corrupt_file " + cut + " the Avro file " + cut + " (10 bytes) is damaged after 0"
            + " records: EOFException: null. The records before the damage were read; the rest of the file was not."
            + " Restore or rewrite the file and read it again (the store's upserts make a rerun safe)."));
  }

  @Test
  void badAvroRecordsAreDeadLettersWithTheReasonsOfJsonLinesAndTheirAvroRendering(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("events.avro");
    ClickEvent valid = AvroEventFiles.event("e1", "u1", "click", T0);
    ClickEvent blankUser = AvroEventFiles.event("e2", " ", "click", T0);
    ClickEvent negativeTime = AvroEventFiles.event("e3", "u1", "click", -1);
    ClickEvent year9999 = AvroEventFiles.event("e4", "u1", "click", YEAR_9999);
    AvroEventFiles.write(file, List.of(valid, blankUser, negativeTime, year9999));

    Pipeline pipeline = Pipeline.create();
    PCollectionTuple read = pipeline.apply(ReadEventRecords.from(file.toString()).withClock(() -> T0));

    PAssert.that(read.get(ParseEvents.EVENTS)).containsInAnyOrder(valid);
    PAssert.that(read.get(ParseEvents.DEAD_LETTERS).apply(MapElements.into(TypeDescriptors.strings())
            .via(ReadEventRecordsTest::describe)))
        .containsInAnyOrder(
            "ParseEvents invalid_field field 'user_id' is blank " + blankUser,
            "ParseEvents invalid_field field 'timestamp' must be epoch milliseconds between 0 and 253402300799999,"
                + " got -1 " + negativeTime,
            "ParseEvents future event time 9999-12-31T00:00:00.000Z is more than --maxFutureSkew=PT3600S after the"
                + " clock (2025-11-22T08:26:40.000Z): fix the producer's clock, or raise --maxFutureSkew to read"
                + " events dated ahead on purpose " + year9999);
    PipelineResult result = runToTheEnd(pipeline);
    assertThat(
        PipelineCounters.values(result, "ReadEventRecords/records_read", "ParseEvents/events_parsed",
            "ParseEvents/dead_letters_invalid_field", "ParseEvents/dead_letters_future"),
        equalTo(List.of(4L, 1L, 2L, 1L)));
  }

  @Test
  void anAvroFileWhoseSchemaLacksARequiredFieldMakesEachRecordAMissingFieldDeadLetter(@TempDir Path dir)
      throws Exception {
    Schema withoutUser =
        SchemaBuilder.record("ClickEvent").namespace("dev.clickstream.schemas").fields()
            .requiredString("event_id").requiredString("event_type").requiredLong("timestamp")
            .endRecord();
    Path file = dir.resolve("old.avro");
    try (DataFileWriter<GenericRecord> writer = new DataFileWriter<>(new GenericDatumWriter<>(withoutUser))) {
      writer.create(withoutUser, file.toFile());
      for (String id : List.of("e1", "e2")) {
        writer.append(
            new GenericRecordBuilder(withoutUser).set("event_id", id).set("event_type", "click").set("timestamp", 5L)
                .build());
      }
    }

    Pipeline pipeline = Pipeline.create();
    PCollectionTuple read = pipeline.apply(ReadEventRecords.from(file.toString()));

    PAssert.that(read.get(ParseEvents.EVENTS)).empty();
    PAssert.that(read.get(ParseEvents.DEAD_LETTERS).apply(MapElements.into(TypeDescriptors.strings())
            .via(ReadEventRecordsTest::describe)))
        .containsInAnyOrder(
            "ParseEvents missing_field required field 'user_id' is missing"
                + " {\"event_id\": \"e1\", \"event_type\": \"click\", \"timestamp\": 5}",
            "ParseEvents missing_field required field 'user_id' is missing"
                + " {\"event_id\": \"e2\", \"event_type\": \"click\", \"timestamp\": 5}");
    runToTheEnd(pipeline);
  }

  private static String describe(DeadLetter letter) {
    return letter.getStage() + " " + letter.getReason() + " " + letter.getDetail() + " " + letter.getRawPayload();
  }

  @Test
  void aJsonLineWhoseIdBytesAreNotUtf8IsAnInvalidFieldDeadLetterNotAnotherId(@TempDir Path dir) throws Exception {
    // Two users whose ids differ only in bytes that are not UTF-8: read as U+FFFD, they would be one user.
    Path file = dir.resolve("events.jsonl");
    byte[] good = "{\"event_id\":\"e1\",\"user_id\":\"u1\",\"event_type\":\"click\",\"timestamp\":1}\n"
        .getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(good);
    for (int bad : new int[] {0xFE, 0xFF}) {
      bytes.write("{\"event_id\":\"e2\",\"user_id\":\"u".getBytes(StandardCharsets.UTF_8));
      bytes.write(bad);
      bytes.write("\",\"event_type\":\"click\",\"timestamp\":2}\n".getBytes(StandardCharsets.UTF_8));
    }
    Files.write(file, bytes.toByteArray());
    Pipeline pipeline = Pipeline.create();
    PCollectionTuple parsed = pipeline.apply(ReadEventRecords.from(file.toString()));

    PAssert.that(parsed.get(ParseEvents.EVENTS))
        .containsInAnyOrder(AvroEventFiles.event("e1", "u1", "click", 1));
    String replaced = "{\"event_id\":\"e2\",\"user_id\":\"u\uFFFD\",\"event_type\":\"click\",\"timestamp\":2}";
    PAssert.that(
            parsed.get(ParseEvents.DEAD_LETTERS)
                .apply(
                    MapElements.into(TypeDescriptors.strings())
                        .via((DeadLetter letter) -> letter.getReason() + " " + letter.getDetail() + " "
                            + letter.getRawPayload())))
        .containsInAnyOrder(
            "invalid_field field 'user_id' holds U+FFFD at index 1, the mark of bytes that were not valid UTF-8 "
                + replaced,
            "invalid_field field 'user_id' holds U+FFFD at index 1, the mark of bytes that were not valid UTF-8 "
                + replaced);
    runToTheEnd(pipeline);
  }

  private static PipelineResult read(Path file, List<ClickEvent> expectedEvents, List<String> expectedDeadLetters) {
    Pipeline pipeline = Pipeline.create();
    PCollectionTuple read = pipeline.apply(ReadEventRecords.from(file.toString()));
    PAssert.that(read.get(ParseEvents.EVENTS)).containsInAnyOrder(expectedEvents);
    PAssert.that(
            read.get(ParseEvents.DEAD_LETTERS)
                .apply(
                    MapElements.into(TypeDescriptors.strings())
                        .via((DeadLetter letter) -> letter.getStage() + " " + letter.getReason() + " "
                            + letter.getRawPayload() + " " + letter.getDetail())))
        .containsInAnyOrder(expectedDeadLetters);
    return runToTheEnd(pipeline);
  }

  private static PipelineResult runToTheEnd(Pipeline pipeline) {
    PipelineResult result = pipeline.run();
    assertThat(result.waitUntilFinish(), equalTo(PipelineResult.State.DONE));
    return result;
  }

  private static List<ClickEvent> events() {
    List<ClickEvent> events = new ArrayList<>();
    for (int i = 0; i < BLOCK * BLOCKS; i++) {
      events.add(AvroEventFiles.event("e" + i, "u" + (i % 7), i % 3 == 0 ? "click" : "impression", T0 + i));
    }
    return events;
  }

  /** Writes {@code events} in blocks of {@value #BLOCK}; returns where each block ends. */
  private static long[] writeInBlocks(Path file, List<ClickEvent> events) throws IOException {
    long[] ends = new long[BLOCKS];
    try (DataFileWriter<ClickEvent> writer = new DataFileWriter<>(new SpecificDatumWriter<>(ClickEvent.class))) {
      writer.create(ClickEvent.getClassSchema(), file.toFile());
      for (int block = 0; block < BLOCKS; block++) {
        for (ClickEvent event : events.subList(block * BLOCK, (block + 1) * BLOCK)) {
          writer.append(event);
        }
        ends[block] = writer.sync();
      }
    }
    return ends;
  }
}
