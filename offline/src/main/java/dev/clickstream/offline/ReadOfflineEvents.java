package dev.clickstream.offline;

import dev.clickstream.schemas.ClickEvent;
import java.util.List;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.parquet.ParquetIO;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * The offline raw events ({@code OFFLINE/events/date=*}) as the {@link ClickEvent}s the streaming job parsed, so
 * that a backfill and a training set hand them to the stream's own steps ({@code SelectFeatureEvents}, the compiled
 * features) and select and aggregate them exactly as the stream did. Bounded; a glob that matches nothing reads no
 * events.
 */
final class ReadOfflineEvents extends PTransform<PBegin, PCollection<ClickEvent>> {
  private final List<String> globs;

  private ReadOfflineEvents(List<String> globs) {
    this.globs = globs;
  }

  /** The events of the Parquet files matching any of {@code globs}. */
  static ReadOfflineEvents from(List<String> globs) {
    if (globs.isEmpty()) {
      throw new IllegalArgumentException("globs must name at least one pattern of event files, got none");
    }
    return new ReadOfflineEvents(List.copyOf(globs));
  }

  @Override
  public PCollection<ClickEvent> expand(PBegin begin) {
    return begin
        .apply("EventGlobs", Create.of(globs))
        .apply("MatchEventFiles", FileIO.matchAll().withEmptyMatchTreatment(EmptyMatchTreatment.ALLOW))
        .apply("OpenEventFiles", FileIO.readMatches())
        .apply("ReadParquet", ParquetIO.readFiles(ClickEvent.getClassSchema()))
        .apply("AsClickEvents",
            MapElements.into(TypeDescriptor.of(ClickEvent.class)).via(ReadOfflineEvents::clickEvent))
        .setCoder(AvroCoder.of(ClickEvent.class));
  }

  /** The event of an offline record, its text fields as the Java strings the compiled class holds. */
  private static ClickEvent clickEvent(GenericRecord record) {
    ClickEvent event = new ClickEvent();
    for (org.apache.avro.Schema.Field field : ClickEvent.getClassSchema().getFields()) {
      Object value = record.get(field.name());
      event.put(field.pos(), value instanceof CharSequence ? value.toString() : value);
    }
    return event;
  }
}
