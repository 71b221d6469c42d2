package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.ParseEvents;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Avro container files read whole, and damaged ones reported: the records before the damage, and a dead letter. */
class ReadEventRecordsTest {
  private static final int BLOCK = 100;
  private static final int BLOCKS = 3;
  private static final long T0 = 1_763_800_000_000L;

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
        read(file, rendered(events.subList(0, 2 * BLOCK)),
            List.of("ReadEventRecords corrupt_file " + file + " the Avro file " + file + " (" + cut
                + " bytes) is damaged after 200 records (" + blockEnds[1] + " bytes read whole): it ends inside a"
                + " block. The records before the damage were read; the rest of the file was not. Restore or"
                + " rewrite the file and read it again (the store's upserts make a rerun safe)."));

    assertThat(PipelineCountersReader.counter(result, "ReadEventRecords", "records_read"), is(200L));
    assertThat(PipelineCountersReader.counter(result, "ReadEventRecords", "corrupt_files"), is(1L));
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
        read(file, rendered(events.subList(0, 2 * BLOCK)),
            List.of("ReadEventRecords corrupt_file " + file + " the Avro file " + file + " (" + blockEnds[2]
                + " bytes) is damaged after 200 records (" + blockEnds[1] + " bytes read whole):"
                + " AvroRuntimeException: java.io.IOException: Invalid sync!. The records before the damage were"
                + " read; the rest of the file was not. Restore or rewrite the file and read it again (the store's"
                + " upserts make a rerun safe)."));

    assertThat(PipelineCountersReader.counter(result, "ReadEventRecords", "corrupt_files"), is(1L));
  }

  @Test
  void aWholeAvroFileIsReadToTheEndWithoutDeadLetters(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("events.avro");
    List<ClickEvent> events = events();
    writeInBlocks(file, events);

    PipelineResult result = read(file, rendered(events), List.of());

    assertThat(PipelineCountersReader.counter(result, "ReadEventRecords", "records_read"), is(300L));
    assertThat(PipelineCountersReader.counter(result, "ReadEventRecords", "corrupt_files"), is(0L));
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
    ClickstreamOptions options = TestRunners.options(TestRunners.DIRECT, ClickstreamOptions.class);
    options.setInput(file.toString());
    Pipeline pipeline = Pipeline.create(options);
    PCollectionTuple parsed = EventInput.readAndParse(pipeline, options, "test");

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
    assertThat(pipeline.run().waitUntilFinish(), equalTo(PipelineResult.State.DONE));
  }

  private static PipelineResult read(Path file, List<String> expectedRecords, List<String> expectedDeadLetters) {
    Pipeline pipeline = Pipeline.create(TestRunners.options(TestRunners.DIRECT, ClickstreamOptions.class));
    PCollectionTuple read = pipeline.apply(ReadEventRecords.from(file.toString(), "auto"));
    PAssert.that(read.get(ReadEventRecords.RECORDS)).containsInAnyOrder(expectedRecords);
    PAssert.that(
            read.get(ReadEventRecords.DEAD_LETTERS)
                .apply(
                    MapElements.into(TypeDescriptors.strings())
                        .via((DeadLetter letter) -> letter.getStage() + " " + letter.getReason() + " "
                            + letter.getRawPayload() + " " + letter.getDetail())))
        .containsInAnyOrder(expectedDeadLetters);
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

  /** Each event as the reader renders it: Avro's JSON. */
  private static List<String> rendered(List<ClickEvent> events) {
    List<String> json = new ArrayList<>();
    for (ClickEvent event : events) {
      json.add(event.toString());
    }
    return json;
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
