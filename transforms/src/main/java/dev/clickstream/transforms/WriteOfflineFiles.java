package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Locale;
import org.apache.avro.specific.SpecificRecord;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.io.AvroIO;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;

/**
 * Appends feature rows to the offline store: Avro files under {@code DIR/TABLE/date=YYYY-MM-DD/}, partitioned by
 * the UTC date of each row's event time.
 *
 * <p>Files are written per window and pane, with deterministic names, so re-running the same bounded input
 * rewrites the same files rather than adding copies. Works on bounded and windowed unbounded input.
 */
public final class WriteOfflineFiles<T extends SpecificRecord>
    extends PTransform<PCollection<T>, WriteFilesResult<String>> {

  private final Class<T> recordClass;
  private final String tableName;
  private final SerializableFunction<T, Long> eventTimeMillis;
  private final String directory;

  private WriteOfflineFiles(
      Class<T> recordClass, String tableName, SerializableFunction<T, Long> eventTimeMillis, String directory) {
    this.recordClass = recordClass;
    this.tableName = tableName;
    this.eventTimeMillis = eventTimeMillis;
    this.directory = directory;
  }

  /** Rows of {@code recordClass} for table {@code tableName}, dated by {@code eventTimeMillis}. */
  public static <T extends SpecificRecord> WriteOfflineFiles<T> of(
      Class<T> recordClass, String tableName, SerializableFunction<T, Long> eventTimeMillis) {
    return new WriteOfflineFiles<>(
        requireNonNull(recordClass, "recordClass"),
        requireNonNull(tableName, "tableName"),
        requireNonNull(eventTimeMillis, "eventTimeMillis"),
        null);
  }

  public WriteOfflineFiles<T> to(String offlineStoreDirectory) {
    if (offlineStoreDirectory == null || offlineStoreDirectory.isBlank()) {
      throw new IllegalArgumentException("offline store directory must be a path, got '" + offlineStoreDirectory + "'");
    }
    return new WriteOfflineFiles<>(recordClass, tableName, eventTimeMillis, offlineStoreDirectory);
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
  public WriteFilesResult<String> expand(PCollection<T> rows) {
    if (directory == null) {
      throw new IllegalStateException("WriteOfflineFiles needs to(directory)");
    }
    SerializableFunction<T, Long> timeOf = eventTimeMillis;
    // Each input element is already one pane's row. FileIO groups rows into files with a GroupByKey that inherits
    // the input's windowing: with accumulating panes, a late firing would write every earlier row of the window
    // again. Discarding keeps the window, trigger and lateness, and writes each row once.
    return rows.apply("DiscardFiredPanes", Window.<T>configure().discardingFiredPanes())
        .apply(
            "WriteAvroPartitionedByDate",
            FileIO.<String, T>writeDynamic()
                .by(row -> Instant.ofEpochMilli(timeOf.apply(row)).atZone(ZoneOffset.UTC).toLocalDate().toString())
                .withDestinationCoder(StringUtf8Coder.of())
                .via(AvroIO.sink(recordClass))
                .to(directory + "/" + tableName)
                .withNaming(date -> fileNaming(date, tableName))
                .withNumShards(1));
  }
}
