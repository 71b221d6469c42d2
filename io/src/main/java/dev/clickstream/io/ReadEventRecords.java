package dev.clickstream.io;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.DeadLetters;
import dev.clickstream.transforms.InvalidEventException;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.ProcessingClock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.util.Locale;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.file.SeekableInput;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.Decoder;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;

/**
 * Reads click events from files, a bounded source: valid events under {@link ParseEvents#EVENTS}, rejected records
 * and damaged files under {@link ParseEvents#DEAD_LETTERS}. Timestamps are not assigned here (see {@code
 * AssignEventTime}).
 *
 * <p>JSON lines go through {@link ParseEvents}. Avro container files are read straight into {@link ClickEvent}s and
 * meet the same rules, reasons and counters ({@link ParseEvents#validation()}, {@link
 * ClickEventDecoder#validated}); a bad record's dead letter holds the record as Avro renders it in JSON. A file
 * whose schema does not resolve to {@link ClickEvent}'s (a required field missing or nullable, say) is read as
 * generic records, each judged by the JSON rules from that rendering, so each record gets its own reason rather than
 * the file failing whole.
 *
 * <p>An Avro file that cannot be read to its end (truncated, a block that fails to decode, a bad sync marker) keeps
 * the records read before the damage, and becomes one dead letter with reason {@value #CORRUPT_FILE}: the file, its
 * size, the records read and the bytes that were not. Counted in {@code ReadEventRecords/records_read} and {@code
 * ReadEventRecords/corrupt_files}. Avro's own reader treats a file that ends inside a block as a clean end, so the
 * end is checked here: the last block read must end where the file does.
 */
public final class ReadEventRecords extends PTransform<PBegin, PCollectionTuple> {
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
  private final ParseEvents parse;

  private ReadEventRecords(String filePattern, Format format, ParseEvents parse) {
    this.filePattern = filePattern;
    this.format = format;
    this.parse = parse;
  }

  /**
   * Reads the files {@code filePattern} matches: Avro when it ends in .avro, else JSON lines; events dated more than
   * {@link ParseEvents#DEFAULT_MAX_FUTURE_SKEW} after the clock are dead letters.
   */
  public static ReadEventRecords from(String filePattern) {
    if (filePattern == null || filePattern.isBlank()) {
      throw new IllegalArgumentException(
          "--input is required: a file path or glob of events (or read Kafka with --source=kafka)");
    }
    return new ReadEventRecords(
        filePattern, resolveFormat(filePattern, ClickEventDecoder.Format.AUTO), ParseEvents.fromJsonLines());
  }

  /** The files' format, whatever their names. */
  public ReadEventRecords withFormat(Format format) {
    if (format == null) {
      throw new IllegalArgumentException("format must be JSON or AVRO, got null");
    }
    return new ReadEventRecords(filePattern, format, parse);
  }

  /** Events dated more than {@code maxFutureSkew} after the clock are dead letters with reason future. */
  public ReadEventRecords withMaxFutureSkew(Duration maxFutureSkew) {
    return new ReadEventRecords(filePattern, format, parse.withMaxFutureSkew(maxFutureSkew));
  }

  /** The clock events are compared with for the future skew; tests fix it. */
  public ReadEventRecords withClock(ProcessingClock clock) {
    return new ReadEventRecords(filePattern, format, parse.withClock(clock));
  }

  /** The files' format for {@code --inputFormat}: AUTO picks Avro for a pattern ending in .avro, else JSON lines. */
  public static Format resolveFormat(String filePattern, ClickEventDecoder.Format format) {
    switch (Arguments.present("format", format, "AUTO, JSON or AVRO")) {
      case JSON:
        return Format.JSON;
      case AVRO:
        return Format.AVRO;
      default:
        return filePattern.toLowerCase(Locale.ROOT).endsWith(".avro") ? Format.AVRO : Format.JSON;
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
                  "ReadAvroEvents",
                  ParDo.of(new ReadAvroFileFn(parse.validation()))
                      .withOutputTags(ParseEvents.EVENTS, TupleTagList.of(ParseEvents.DEAD_LETTERS)));
      read.get(ParseEvents.EVENTS).setCoder(AvroCoder.of(ClickEvent.class));
      read.get(ParseEvents.DEAD_LETTERS).setCoder(AvroCoder.of(DeadLetter.class));
      return read;
    }
    // withHintMatchesManyFiles reads through FileIO and ReadFiles (DoFns) instead of a BoundedSource, whose reads
    // the Flink runner slows by copying every metric of the pipeline after each record: 13.7 s instead of 17.6 s
    // for the CTR pipeline over 1,000,000 events (docs/benchmarks.md).
    return begin
        .apply("ReadJsonLines", TextIO.read().from(filePattern).withHintMatchesManyFiles())
        .apply("ParseEvents", parse);
  }

  /**
   * Reads one Avro container file whole, each record as a validated event or a dead letter; a file it cannot read
   * to the end is one dead letter after the records before the damage.
   */
  static final class ReadAvroFileFn extends DoFn<FileIO.ReadableFile, ClickEvent> {
    private final Counter recordsRead = Metrics.counter(STAGE, "records_read");
    private final Counter corruptFiles = Metrics.counter(STAGE, "corrupt_files");
    private final ParseEvents.Validation validation;

    ReadAvroFileFn(ParseEvents.Validation validation) {
      this.validation = validation;
    }

    @ProcessElement
    public void processElement(@Element FileIO.ReadableFile file, MultiOutputReceiver out) {
      String name = file.getMetadata().resourceId().toString();
      long size = file.getMetadata().sizeBytes();
      long records = 0;
      long completeBytes = 0;
      String damage;
      try (DataFileReader<Object> reader =
          new DataFileReader<>(new ChannelInput(file.openSeekable(), size), new EventDatumReader())) {
        completeBytes = reader.previousSync();
        while (reader.hasNext()) {
          Object record = reader.next();
          validation.output(() -> event(record), record::toString, out);
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
      out.get(ParseEvents.DEAD_LETTERS).output(letter);
    }

    /** A record {@link EventDatumReader} read: an event to validate, or a generic record to judge by its JSON. */
    private static ClickEvent event(Object record) throws InvalidEventException {
      return record instanceof ClickEvent
          ? ClickEventDecoder.validated((ClickEvent) record)
          : ClickEventDecoder.fromJson(record.toString());
    }
  }

  /**
   * Reads a file's records as {@link ClickEvent}s when its schema resolves to ClickEvent's, else as generic records
   * of the file's own schema: the choice is made once per file, when the file's header gives its schema.
   */
  private static final class EventDatumReader implements DatumReader<Object> {
    private DatumReader<?> delegate;

    @Override
    public void setSchema(Schema writerSchema) {
      Schema eventSchema = ClickEvent.getClassSchema();
      boolean resolves =
          SchemaCompatibility.checkReaderWriterCompatibility(eventSchema, writerSchema).getType()
              == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE;
      delegate =
          resolves
              ? new SpecificDatumReader<ClickEvent>(writerSchema, eventSchema)
              : new GenericDatumReader<GenericRecord>(writerSchema);
    }

    @Override
    public Object read(Object reuse, Decoder in) throws IOException {
      return delegate.read(null, in);
    }
  }

  /** A file's channel, of {@code length} bytes, as Avro's {@link SeekableInput}. */
  private record ChannelInput(SeekableByteChannel channel, long length) implements SeekableInput {
    @Override
    public void seek(long position) throws IOException {
      channel.position(position);
    }

    @Override
    public long tell() throws IOException {
      return channel.position();
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
