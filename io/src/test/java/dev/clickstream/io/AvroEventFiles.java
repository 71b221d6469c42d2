package dev.clickstream.io;

import dev.clickstream.schemas.ClickEvent;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;

/** Writes Avro container files of events for tests (of the file reader here, and of the pipelines). */
public final class AvroEventFiles {
  private AvroEventFiles() {}

  public static ClickEvent event(String id, String user, String type, long timestamp) {
    return ClickEvent.newBuilder()
        .setEventId(id)
        .setUserId(user)
        .setEventType(type)
        .setTimestamp(timestamp)
        .build();
  }

  public static void write(Path file, List<ClickEvent> events) throws IOException {
    try (DataFileWriter<ClickEvent> writer = new DataFileWriter<>(new SpecificDatumWriter<>(ClickEvent.class))) {
      writer.create(ClickEvent.getClassSchema(), file.toFile());
      for (ClickEvent event : events) {
        writer.append(event);
      }
    }
  }
}
