package dev.clickstream.pipelines;

import dev.clickstream.schemas.ClickEvent;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;

/** Writes Avro container files of events for tests. */
final class AvroEventFiles {
  private AvroEventFiles() {}

  static ClickEvent event(String id, String user, String type, long timestamp) {
    return ClickEvent.newBuilder()
        .setEventId(id)
        .setUserId(user)
        .setEventType(type)
        .setTimestamp(timestamp)
        .build();
  }

  static void write(Path file, List<ClickEvent> events) throws IOException {
    try (DataFileWriter<ClickEvent> writer = new DataFileWriter<>(new SpecificDatumWriter<>(ClickEvent.class))) {
      writer.create(ClickEvent.getClassSchema(), file.toFile());
      for (ClickEvent event : events) {
        writer.append(event);
      }
    }
  }
}
