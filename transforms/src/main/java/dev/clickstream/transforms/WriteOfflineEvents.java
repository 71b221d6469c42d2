package dev.clickstream.transforms;

import dev.clickstream.schemas.ClickEvent;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * Keeps the raw events offline: Parquet files of {@link ClickEvent} under {@code DIR/}{@value #DIRECTORY}{@code
 * /date=YYYY-MM-DD/}, by the UTC date of each event's {@code timestamp}, so any feature can be recomputed from
 * history (backfill) and on-demand views answered at any time (training data).
 *
 * <p>Input: valid events, each stamped with its own event time, bounded or not. Events are filed by the hour of
 * their time ({@link DatedParquetFiles#EVENT_FILE_WINDOW}); a late event lands in a later pane's file of its hour.
 * Names are deterministic, so rerunning the same bounded input replaces the files instead of adding copies.
 */
public final class WriteOfflineEvents extends PTransform<PCollection<ClickEvent>, WriteFilesResult<String>> {
  /** The offline store's directory of raw events. */
  public static final String DIRECTORY = "events";
  /** The field that dates an event. */
  static final String TIMESTAMP = "timestamp";

  private final String directory;

  private WriteOfflineEvents(String directory) {
    this.directory = directory;
  }

  public static WriteOfflineEvents to(String offlineStoreDirectory) {
    return new WriteOfflineEvents(DatedParquetFiles.checkDirectory(offlineStoreDirectory));
  }

  @Override
  public WriteFilesResult<String> expand(PCollection<ClickEvent> events) {
    return events
        .apply("AsAvroRecords", MapElements.into(TypeDescriptor.of(GenericRecord.class)).via(event -> event))
        .setCoder(AvroCoder.of(GenericRecord.class, ClickEvent.getClassSchema()))
        .apply("WriteParquetPartitionedByDate",
            DatedParquetFiles.of(ClickEvent.getClassSchema(), DIRECTORY, TIMESTAMP)
                .withFileWindow(DatedParquetFiles.EVENT_FILE_WINDOW)
                .to(directory));
  }
}
