package dev.clickstream.transforms;

import dev.clickstream.schemas.ClickEvent;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.SchemaParseException;
import org.apache.avro.io.DatumReader;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * The writer schemas a Kafka message's Avro may be written with, by fingerprint: the compiled {@link ClickEvent}
 * schema, and any older or newer versions a producer uses ({@code --writerSchemas}). A message in Avro's
 * single-object encoding names its writer schema by its CRC-64-AVRO fingerprint; its event is read with that schema,
 * resolved against the compiled one (an added field is skipped, a removed field takes its default).
 *
 * <p>Every writer schema is checked against the compiled one when it is added, so a schema that could not be read is
 * refused before a job starts rather than dead-lettering its events. Serializable: the schemas travel as JSON with the
 * transforms that use them, and each worker builds its readers once.
 */
public final class ClickEventSchemas implements Serializable {
  private static final long serialVersionUID = 1L;

  private static final ClickEventSchemas COMPILED =
      new ClickEventSchemas(List.of(ClickEvent.getClassSchema().toString()));

  private final List<String> writerSchemas;
  private transient volatile Map<Long, DatumReader<ClickEvent>> readers;

  private ClickEventSchemas(List<String> writerSchemas) {
    this.writerSchemas = List.copyOf(writerSchemas);
  }

  /** Only the compiled {@link ClickEvent} schema. */
  public static ClickEventSchemas compiled() {
    return COMPILED;
  }

  /** The compiled schema and {@code writerSchemas}; fails, saying why, on one the compiled schema cannot read. */
  public static ClickEventSchemas with(List<Schema> writerSchemas) {
    List<String> all = new ArrayList<>(compiled().writerSchemas);
    for (Schema writer : writerSchemas) {
      checkReadable(writer, "a writer schema");
      all.add(writer.toString());
    }
    return new ClickEventSchemas(all);
  }

  /**
   * The compiled schema and the {@code .avsc} files that {@code option} names: comma-separated files or directories
   * (each directory's {@code *.avsc}). Empty or null: only the compiled schema.
   */
  public static ClickEventSchemas fromOption(String option) {
    if (option == null || option.isBlank()) {
      return compiled();
    }
    List<Schema> schemas = new ArrayList<>();
    for (String entry : option.split(",")) {
      Path path = Paths.get(entry.trim());
      for (Path file : avscFiles(path)) {
        Schema schema;
        try {
          schema = new Schema.Parser().parse(file.toFile());
        } catch (IOException | SchemaParseException e) {
          throw new IllegalArgumentException(
              "--writerSchemas: " + file + " is not an Avro schema (" + e.getMessage() + ")");
        }
        checkReadable(schema, "--writerSchemas: " + file);
        schemas.add(schema);
      }
    }
    return with(schemas);
  }

  private static List<Path> avscFiles(Path path) {
    if (Files.isRegularFile(path)) {
      return List.of(path);
    }
    if (!Files.isDirectory(path)) {
      throw new IllegalArgumentException(
          "--writerSchemas: " + path + " is neither a .avsc file nor a directory of them");
    }
    try (Stream<Path> files = Files.list(path)) {
      return files.filter(file -> file.getFileName().toString().endsWith(".avsc")).sorted()
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException("--writerSchemas: cannot list " + path, e);
    }
  }

  private static void checkReadable(Schema writer, String what) {
    SchemaCompatibility.SchemaPairCompatibility compatibility =
        SchemaCompatibility.checkReaderWriterCompatibility(ClickEvent.getClassSchema(), writer);
    if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      throw new IllegalArgumentException(
          what + " cannot be read as a ClickEvent: " + compatibility.getResult().getIncompatibilities().stream()
              .map(i -> i.getType().name().toLowerCase(Locale.ROOT).replace('_', ' ') + " " + i.getMessage()
                  + " (" + i.getLocation() + ")")
              .collect(Collectors.joining("; "))
              + ". Every field of the compiled schema without a default must be in the writer's, with a type that"
              + " reads as its own.");
    }
  }

  /** A reader of events written with the schema of {@code fingerprint}, or null when no writer schema has it. */
  DatumReader<ClickEvent> readerFor(long fingerprint) {
    return readers().get(fingerprint);
  }

  private Map<Long, DatumReader<ClickEvent>> readers() {
    Map<Long, DatumReader<ClickEvent>> built = readers;
    if (built == null) {
      built = new ConcurrentHashMap<>();
      for (String json : writerSchemas) {
        Schema writer = new Schema.Parser().parse(json);
        built.put(SchemaNormalization.parsingFingerprint64(writer),
            new SpecificDatumReader<>(writer, ClickEvent.getClassSchema()));
      }
      readers = built;
    }
    return built;
  }
}
