package dev.clickstream.offline;

import dev.clickstream.transforms.OfflineFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.extensions.avro.schemas.utils.AvroUtils;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;

/**
 * A training set's file, in spine order: the job writes it in parts of consecutive spine rows, each sorted ({@link
 * #writeParts}), and {@link #assemble} joins them, in order, into one file: Parquet row groups copied as they are, or
 * CSV lines under one header. Parts are named by their position, so a retried bundle rewrites its own part.
 */
public final class TrainingSetFiles {
  private static final String PART = "part-%06d";

  private TrainingSetFiles() {}

  /** Empties the parts directory of {@code plan}, which an earlier, failed run may have left. */
  public static void prepare(TrainingData.Plan plan) throws IOException {
    delete(plan.partsDirectory());
    Files.createDirectories(plan.partsDirectory());
  }

  /** Groups rows into parts of consecutive spine positions and writes each, sorted, to the parts directory. */
  static PTransform<PCollection<KV<Long, Row>>, PCollection<String>> writeParts(TrainingData.Plan plan) {
    return new PTransform<>() {
      @Override
      public PCollection<String> expand(PCollection<KV<Long, Row>> rows) {
        return rows
            .apply("ByPart", MapElements
                .into(TypeDescriptors.kvs(TypeDescriptors.longs(), rows.getTypeDescriptor()))
                .via(row -> KV.of(row.getKey() / TrainingData.ROWS_PER_PART, row)))
            .setCoder(KvCoder.of(VarLongCoder.of(), rows.getCoder()))
            .apply("GroupParts", GroupByKey.create())
            .apply("WriteSortedParts", ParDo.of(new WritePartFn(
                plan.partsDirectory().toString(), plan.csv(), plan.schema())));
      }
    };
  }

  /**
   * Joins the parts into {@link TrainingData.Plan#output()} (written beside it, then moved into place) and deletes
   * them.
   *
   * @return the number of rows written
   */
  public static long assemble(TrainingData.Plan plan) throws IOException {
    List<Path> parts = parts(plan.partsDirectory(), plan.csv());
    Path output = Paths.get(plan.output());
    Path temporary = output.resolveSibling("." + output.getFileName() + ".assembling");
    long rows = plan.csv() ? assembleCsv(plan.schema(), parts, temporary) : assembleParquet(plan, parts, temporary);
    Files.move(temporary, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    delete(plan.partsDirectory());
    return rows;
  }

  private static long assembleCsv(Schema schema, List<Path> parts, Path target) throws IOException {
    long rows = 0;
    try (OutputStream out = Files.newOutputStream(target)) {
      out.write((header(schema) + "\n").getBytes(StandardCharsets.UTF_8));
      for (Path part : parts) {
        Files.copy(part, out);
        try (Stream<String> lines = Files.lines(part, StandardCharsets.UTF_8)) {
          rows += lines.count();
        }
      }
    }
    return rows;
  }

  private static long assembleParquet(TrainingData.Plan plan, List<Path> parts, Path target) throws IOException {
    if (parts.isEmpty()) {
      writer(target, plan.schema()).close();
      return 0;
    }
    ParquetMetadata first;
    try (ParquetFileReader reader = ParquetFileReader.open(OfflineFiles.input(parts.get(0)))) {
      first = reader.getFooter();
    }
    ParquetFileWriter writer = new ParquetFileWriter(OfflineFiles.output(target),
        first.getFileMetaData().getSchema(), ParquetFileWriter.Mode.OVERWRITE, ParquetWriter.DEFAULT_BLOCK_SIZE, 0);
    writer.start();
    long rows = 0;
    for (Path part : parts) {
      try (ParquetFileReader reader = ParquetFileReader.open(OfflineFiles.input(part))) {
        for (BlockMetaData block : reader.getFooter().getBlocks()) {
          rows += block.getRowCount();
        }
      }
      writer.appendFile(OfflineFiles.input(part));
    }
    Map<String, String> metadata = first.getFileMetaData().getKeyValueMetaData();
    writer.end(metadata);
    return rows;
  }

  private static List<Path> parts(Path directory, boolean csv) throws IOException {
    String suffix = csv ? ".csv" : ".parquet";
    try (Stream<Path> files = Files.list(directory)) {
      return files
          .filter(file -> file.getFileName().toString().startsWith("part-")
              && file.getFileName().toString().endsWith(suffix))
          .sorted()
          .collect(Collectors.toList());
    }
  }

  static String header(Schema schema) {
    return schema.getFieldNames().stream().map(CsvLines::field).collect(Collectors.joining(","));
  }

  private static ParquetWriter<GenericRecord> writer(Path file, Schema schema) throws IOException {
    return AvroParquetWriter.<GenericRecord>builder(OfflineFiles.output(file))
        .withSchema(AvroUtils.toAvroSchema(schema))
        .withDataModel(GenericData.get())
        .withCompressionCodec(CompressionCodecName.SNAPPY)
        .build();
  }

  private static void delete(Path directory) throws IOException {
    if (!Files.exists(directory)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.delete(path);
      }
    }
  }

  /** One part: its rows sorted by spine position, as Parquet or as CSV lines without a header. */
  private static final class WritePartFn extends DoFn<KV<Long, Iterable<KV<Long, Row>>>, String> {
    private final String directory;
    private final boolean csv;
    private final Schema schema;

    WritePartFn(String directory, boolean csv, Schema schema) {
      this.directory = directory;
      this.csv = csv;
      this.schema = schema;
    }

    @ProcessElement
    public void processElement(@Element KV<Long, Iterable<KV<Long, Row>>> part, OutputReceiver<String> out)
        throws IOException {
      List<KV<Long, Row>> rows = new ArrayList<>();
      part.getValue().forEach(rows::add);
      rows.sort(Comparator.comparingLong(KV::getKey));
      Path file = Paths.get(directory, String.format(Locale.ROOT, PART, part.getKey()) + (csv ? ".csv" : ".parquet"));
      if (csv) {
        try (BufferedWriter writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
          for (KV<Long, Row> row : rows) {
            writer.write(row.getValue().getValues().stream().map(CsvLines::field).collect(Collectors.joining(",")));
            writer.write('\n');
          }
        }
      } else {
        org.apache.avro.Schema avro = AvroUtils.toAvroSchema(schema);
        try (ParquetWriter<GenericRecord> writer = writer(file, schema)) {
          for (KV<Long, Row> row : rows) {
            writer.write(AvroUtils.toGenericRecord(row.getValue(), avro));
          }
        }
      }
      out.output(file.toString());
    }
  }
}
