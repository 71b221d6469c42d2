package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.schemas.ClickEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kafka Avro written with a schema other than the compiled one: single-object encoding and the writer schemas. */
class ClickEventSchemasTest {
  /** The ClickEvent a producer that added an optional {@code referrer} writes. */
  static final Schema ADDED_FIELD = writerSchema(
      "{\"name\": \"event_id\", \"type\": \"string\"}, {\"name\": \"user_id\", \"type\": \"string\"},"
          + " {\"name\": \"event_type\", \"type\": \"string\"},"
          + " {\"name\": \"item_id\", \"type\": [\"null\", \"string\"], \"default\": null},"
          + " {\"name\": \"session_id\", \"type\": [\"null\", \"string\"], \"default\": null},"
          + " {\"name\": \"timestamp\", \"type\": \"long\"},"
          + " {\"name\": \"referrer\", \"type\": [\"null\", \"string\"], \"default\": null}");
  /** The ClickEvent a producer that dropped {@code session_id} (which has a default) writes. */
  static final Schema REMOVED_FIELD = writerSchema(
      "{\"name\": \"event_id\", \"type\": \"string\"}, {\"name\": \"user_id\", \"type\": \"string\"},"
          + " {\"name\": \"event_type\", \"type\": \"string\"},"
          + " {\"name\": \"item_id\", \"type\": [\"null\", \"string\"], \"default\": null},"
          + " {\"name\": \"timestamp\", \"type\": \"long\"}");

  private static final ClickEvent EVENT =
      ClickEvent.newBuilder().setEventId("e-1").setUserId("u-1").setEventType("click").setItemId("ad-7")
          .setSessionId(null).setTimestamp(1_709_294_400_000L).build();

  private static final ClickEventSchemas KNOWN = ClickEventSchemas.with(List.of(ADDED_FIELD, REMOVED_FIELD));

  @Test
  void anEventFromAProducerThatAddedAnOptionalFieldIsReadWithoutIt() throws Exception {
    GenericRecord written = record(ADDED_FIELD, EVENT);
    written.put("referrer", "https://example.com/");

    assertThat(ClickEventDecoder.decode(encode(ADDED_FIELD, written), ClickEventDecoder.Format.AVRO, KNOWN),
        equalTo(EVENT));
  }

  @Test
  void anEventFromAProducerThatRemovedAFieldGetsTheFieldsDefault() throws Exception {
    ClickEvent expected = ClickEvent.newBuilder(EVENT).setSessionId(null).build();

    assertThat(
        ClickEventDecoder.decode(encode(REMOVED_FIELD, record(REMOVED_FIELD, EVENT)), ClickEventDecoder.Format.AUTO,
            KNOWN),
        equalTo(expected));
  }

  @Test
  void anUnknownWriterSchemaIsADeadLetterThatSaysWhatToDo() {
    byte[] message = encode(ADDED_FIELD, record(ADDED_FIELD, EVENT));

    InvalidEventException e = assertThrows(InvalidEventException.class,
        () -> ClickEventDecoder.decode(message, ClickEventDecoder.Format.AVRO, ClickEventSchemas.compiled()));

    assertThat(List.of(e.reason, e.getMessage()), equalTo(List.of("unknown_schema", String.format(
        "written with an Avro schema this job does not know (fingerprint %016x): give the producer's .avsc to"
            + " --writerSchemas", SchemaNormalization.parsingFingerprint64(ADDED_FIELD)))));
  }

  @Test
  void producersWriteTheSingleObjectEncodingAndHeaderlessBinaryIsStillRead() throws Exception {
    byte[] single = ClickEventDecoder.toAvro(EVENT);
    byte[] header = ByteBuffer.allocate(10).put((byte) 0xC3).put((byte) 0x01)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(SchemaNormalization.parsingFingerprint64(ClickEvent.SCHEMA$))
        .array();

    assertThat(Arrays.copyOf(single, 10), equalTo(header));
    assertThat(ClickEventDecoder.decode(single, ClickEventDecoder.Format.AVRO), equalTo(EVENT));
    assertThat(ClickEventDecoder.decode(ClickEventDecoder.toAvroBinary(EVENT), ClickEventDecoder.Format.AUTO),
        equalTo(EVENT));
  }

  @Test
  void writerSchemasComeFromFilesAndDirectoriesAndAnUnreadableOneIsRefused(@TempDir Path dir) throws IOException {
    Path schemas = Files.createDirectory(dir.resolve("schemas"));
    Files.writeString(schemas.resolve("added.avsc"), ADDED_FIELD.toString());
    Files.writeString(schemas.resolve("notes.txt"), "not a schema");
    Path removed = Files.writeString(dir.resolve("removed.avsc"), REMOVED_FIELD.toString());
    Path noType = Files.writeString(dir.resolve("no-type.avsc"), writerSchema(
        "{\"name\": \"event_id\", \"type\": \"string\"}, {\"name\": \"user_id\", \"type\": \"string\"},"
            + " {\"name\": \"timestamp\", \"type\": \"long\"}").toString());

    ClickEventSchemas known = ClickEventSchemas.fromOption(schemas + ", " + removed);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ClickEventSchemas.fromOption(noType.toString()));

    assertThat(List.of(known.readerFor(SchemaNormalization.parsingFingerprint64(ADDED_FIELD)) != null,
            known.readerFor(SchemaNormalization.parsingFingerprint64(REMOVED_FIELD)) != null,
            known.readerFor(SchemaNormalization.parsingFingerprint64(ClickEvent.SCHEMA$)) != null),
        equalTo(List.of(true, true, true)));
    assertThat(e.getMessage(), equalTo("--writerSchemas: " + noType + " cannot be read as a ClickEvent: reader field missing default value"
        + " event_type (/fields/2). Every field of the compiled schema without a default must be in the writer's, with"
        + " a type that reads as its own."));
  }

  private static Schema writerSchema(String fields) {
    return new Schema.Parser().parse(
        "{\"type\": \"record\", \"name\": \"ClickEvent\", \"namespace\": \"dev.clickstream.schemas\", \"fields\": ["
            + fields + "]}");
  }

  private static GenericRecord record(Schema schema, ClickEvent event) {
    GenericRecord record = new GenericData.Record(schema);
    for (Schema.Field field : schema.getFields()) {
      if (ClickEvent.SCHEMA$.getField(field.name()) != null) {
        record.put(field.name(), event.get(field.name()));
      }
    }
    return record;
  }

  static byte[] encode(Schema schema, GenericRecord record) {
    try {
      ByteBuffer encoded = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), schema).encode(record);
      byte[] bytes = new byte[encoded.remaining()];
      encoded.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
