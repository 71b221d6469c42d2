package dev.clickstream.pipelines;

import java.util.Locale;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.io.AvroIO;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;

/**
 * Reads event records from files as JSON text, one element per record, ready for {@code ParseEvents}.
 *
 * <p>JSON lines are read as they are. Avro container files are rendered record by record as JSON, so both formats
 * share one validation path and a bad Avro record reaches the dead letters with its content.
 */
public final class ReadEventRecords extends PTransform<PBegin, PCollection<String>> {
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
  public PCollection<String> expand(PBegin begin) {
    // withHintMatchesManyFiles reads through FileIO and ReadFiles (DoFns) instead of a BoundedSource, whose reads
    // the Flink runner slows by copying every metric of the pipeline after each record: 13.7 s instead of 17.6 s
    // for the CTR pipeline over 1,000,000 events (docs/benchmarks.md).
    if (format == Format.AVRO) {
      return begin.apply(
          "ReadAvroRecordsAsJson",
          AvroIO.parseGenericRecords(record -> record.toString())
              .withCoder(StringUtf8Coder.of())
              .from(filePattern)
              .withHintMatchesManyFiles());
    }
    return begin.apply("ReadJsonLines", TextIO.read().from(filePattern).withHintMatchesManyFiles());
  }
}
