package dev.clickstream.transforms;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.DelegatingPositionOutputStream;
import org.apache.parquet.io.DelegatingSeekableInputStream;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.parquet.io.SeekableInputStream;

/**
 * The offline store's files read and written outside a pipeline (tests, the demo, a training set's final file):
 * Parquet on the local file system, without Hadoop's file systems.
 *
 * <p>{@link #files} lists what a reader should read under a directory: {@code *.parquet} files, in name order,
 * skipping every name that starts with a dot (Beam's {@code .temp-beam*} directories of unfinished writes) or an
 * underscore (markers such as Spark's {@code _SUCCESS}).
 */
public final class OfflineFiles {
  private OfflineFiles() {}

  /** Every Parquet file under {@code directory}, hidden ones skipped, sorted by path; empty when it does not exist. */
  public static List<Path> files(Path directory) throws IOException {
    if (!Files.isDirectory(directory)) {
      return List.of();
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      return paths
          .filter(path -> !hidden(directory.relativize(path)))
          .filter(path -> Files.isRegularFile(path) && path.getFileName().toString().endsWith(DatedParquetFiles.SUFFIX))
          .sorted()
          .collect(Collectors.toList());
    }
  }

  /** Every record of every file under {@code directory} ({@link #files}), in file order. */
  public static List<GenericRecord> read(Path directory) throws IOException {
    List<GenericRecord> records = new ArrayList<>();
    for (Path file : files(directory)) {
      records.addAll(readFile(file));
    }
    return records;
  }

  /** The records of one Parquet file, strings as Java strings. */
  public static List<GenericRecord> readFile(Path file) throws IOException {
    List<GenericRecord> records = new ArrayList<>();
    try (ParquetReader<GenericRecord> reader =
        AvroParquetReader.<GenericRecord>builder(input(file)).withDataModel(GenericData.get()).build()) {
      for (GenericRecord record = reader.read(); record != null; record = reader.read()) {
        records.add(record);
      }
    }
    return records;
  }

  /** A local file for Parquet's readers. */
  public static InputFile input(Path file) {
    return new InputFile() {
      @Override
      public long getLength() throws IOException {
        return Files.size(file);
      }

      @Override
      public SeekableInputStream newStream() throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        return new DelegatingSeekableInputStream(Channels.newInputStream(channel)) {
          @Override
          public long getPos() throws IOException {
            return channel.position();
          }

          @Override
          public void seek(long newPos) throws IOException {
            channel.position(newPos);
          }
        };
      }
    };
  }

  /** A local file for Parquet's writers, replaced when it exists. */
  public static OutputFile output(Path file) {
    return new OutputFile() {
      @Override
      public PositionOutputStream create(long blockSizeHint) throws IOException {
        return createOrOverwrite(blockSizeHint);
      }

      @Override
      public PositionOutputStream createOrOverwrite(long blockSizeHint) throws IOException {
        OutputStream stream = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        return new DelegatingPositionOutputStream(stream) {
          private long position;

          @Override
          public long getPos() {
            return position;
          }

          @Override
          public void write(int b) throws IOException {
            super.write(b);
            position++;
          }

          @Override
          public void write(byte[] b) throws IOException {
            write(b, 0, b.length);
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            super.write(b, off, len);
            position += len;
          }
        };
      }

      @Override
      public boolean supportsBlockSize() {
        return false;
      }

      @Override
      public long defaultBlockSize() {
        return 0;
      }
    };
  }

  private static boolean hidden(Path relative) {
    for (Path part : relative) {
      String name = part.toString();
      if (name.startsWith(".") || name.startsWith("_")) {
        return true;
      }
    }
    return false;
  }
}
