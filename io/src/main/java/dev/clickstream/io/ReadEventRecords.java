package dev.clickstream.pipelines;

import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.DeadLetters;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.util.Locale;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.file.SeekableInput;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Reads event records from files as JSON text, one element per record under {@link #RECORDS}, ready for {@code
 * ParseEvents}; damaged files under {@link #DEAD_LETTERS}.
 *
 * <p>JSON lines are read as they are. Avro container files are rendered record by record as JSON, so both formats
 * share one validation path and a bad Avro record reaches the dead letters with its content.
 *
 * <p>An Avro file that cannot be read to its end (truncated, a block that fails to decode, a bad sync marker) keeps
 * the records read before the damage, and becomes one dead letter with reason {@value #CORRUPT_FILE}: the file, its
 * size, the records read and the bytes that were not. Counted in {@code ReadEventRecords/records_read} and {@code
 * ReadEventRecords/corrupt_files}. Avro's own reader treats a file that ends inside a block as a clean end, so the
 * end is checked here: the last block read must end where the file does.
 */
public final class ReadEventRecords extends PTransform<PBegin, PCollectionTuple> {
  public static final TupleTag<String> RECORDS = new TupleTag<String>() {};
  public static final TupleTag<DeadLetter> DEAD_LETTERS = new TupleTag<DeadLetter>() {};

  static final String STAGE = "ReadEventRecords";
  /** Reason of a file that could not be read to its end. */
  static final String CORRUPT_FILE = "corrupt_file";

  /** File formats of the event source. */
  public enum Format {
    JSON,
    AVRO
  }

  private final String filePattern;
  private final Format format;

  private ReadEventRecords(String filePattern, Format format) {
    this.filePattern = filePattern;
    this.format = format;
  }

  /** {@code formatOption} is auto, json or avro; auto picks Avro for a pattern ending in .avro. */
  public static ReadEventRecords from(String filePattern, String formatOption) {
    if (filePattern == null || filePattern.isBlank()) {
      throw new IllegalArgumentException(
          "--input is required: a file path or glob of events (or read Kafka with --source=kafka)");
    }
    return new ReadEventRecords(filePattern, resolveFormat(filePattern, formatOption));
  }

  static Format resolveFormat(String filePattern, String formatOption) {
    String option = formatOption == null ? "auto" : formatOption.toLowerCase(Locale.ROOT);
    switch (option) {
      case "auto":
        return filePattern.toLowerCase(Locale.ROOT).endsWith(".avro") ? Format.AVRO : Format.JSON;
      case "json":
        return Format.JSON;
      case "avro":
        return Format.AVRO;
      default:
        throw new IllegalArgumentException(
            "--inputFormat=" + formatOption + " is not supported: use auto, json or avro");
    }
  }

  @Override
  public PCollectionTuple expand(PBegin begin) {
    if (format == Format.AVRO) {
      PCollectionTuple read =
          begin
              .apply("MatchAvroFiles", FileIO.match().filepattern(filePattern))
              .apply("OpenAvroFiles", FileIO.readMatches())
              .apply(
                  "ReadAvroRecordsAsJson",
                  ParDo.of(new ReadAvroFileFn()).withOutputTags(RECORDS, TupleTagList.of(DEAD_LETTERS)));
      read.get(RECORDS).setCoder(StringUtf8Coder.of());
      read.get(DEAD_LETTERS).setCoder(AvroCoder.of(DeadLetter.class));
      return read;
    }
    // withHintMatchesManyFiles reads through FileIO and ReadFiles (DoFns) instead of a BoundedSource, whose reads
    // the Flink runner slows by copying every metric of the pipeline after each record: 13.7 s instead of 17.6 s
    // for the CTR pipeline over 1,000,000 events (docs/benchmarks.md).
    PCollection<String> lines =
        begin.apply("ReadJsonLines", TextIO.read().from(filePattern).withHintMatchesManyFiles());
    PCollection<DeadLetter> none =
        begin.apply("NoDamagedFiles", Create.empty(AvroCoder.of(DeadLetter.class)));
    return PCollectionTuple.of(RECORDS, lines).and(DEAD_LETTERS, none);
  }

  /**
   * Reads one Avro container file whole, each record as Avro renders it in JSON; a file it cannot read to the end
   * is one dead letter after the records before the damage.
   */
  static final class ReadAvroFileFn extends DoFn<FileIO.ReadableFile, String> {
    private final Counter recordsRead = Metrics.counter(STAGE, "records_read");
    private final Counter corruptFiles = Metrics.counter(STAGE, "corrupt_files");

    @ProcessElement
    public void processElement(@Element FileIO.ReadableFile file, MultiOutputReceiver out) {
      String name = file.getMetadata().resourceId().toString();
      long size = file.getMetadata().sizeBytes();
      long records = 0;
      long completeBytes = 0;
      String damage;
      try (DataFileReader<GenericRecord> reader =
          new DataFileReader<>(new ChannelInput(file.openSeekable(), size), new GenericDatumReader<>())) {
        completeBytes = reader.previousSync();
        while (reader.hasNext()) {
          out.get(RECORDS).output(reader.next().toString());
          records++;
          recordsRead.inc();
          // After a block's last record, previousSync() is where the next block starts: the file's end when whole.
          completeBytes = reader.previousSync();
        }
        if (completeBytes == size) {
          return;
        }
        damage = "it ends inside a block";
      } catch (IOException | AvroRuntimeException e) {
        damage = e.getClass().getSimpleName() + ": " + e.getMessage();
      }
      corruptFiles.inc();
      String detail =
          "the Avro file " + name + " (" + size + " bytes) is damaged after " + records + " records"
              + (completeBytes > 0 ? " (" + completeBytes + " bytes read whole)" : "") + ": " + damage
              + ". The records before the damage were read; the rest of the file was not. Restore or rewrite the"
              + " file and read it again (the store's upserts make a rerun safe).";
      DeadLetter letter = DeadLetters.of(STAGE, CORRUPT_FILE, detail, name);
      letter.setSource(name);
      out.get(DEAD_LETTERS).output(letter);
    }
  }

  /** A file's channel as Avro's {@link SeekableInput}. */
  private static final class ChannelInput implements SeekableInput {
    private final SeekableByteChannel channel;
    private final long length;

    ChannelInput(SeekableByteChannel channel, long length) {
      this.channel = channel;
      this.length = length;
    }

    @Override
    public void seek(long position) throws IOException {
      channel.position(position);
    }

    @Override
    public long tell() throws IOException {
      return channel.position();
    }

    @Override
    public long length() {
      return length;
    }

    @Override
    public int read(byte[] bytes, int offset, int count) throws IOException {
      return channel.read(ByteBuffer.wrap(bytes, offset, count));
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
