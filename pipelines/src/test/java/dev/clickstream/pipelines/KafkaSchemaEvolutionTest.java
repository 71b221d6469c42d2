package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.transforms.ClickEventDecoder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Producers whose ClickEvent schema has moved on, through a real broker: events written with a known writer schema
 * are read and applied, and one written with a schema the job was not given is a dead letter, reason unknown_schema.
 */
class KafkaSchemaEvolutionTest {
  @Test
  void eventsOfKnownWriterSchemasAreAppliedAndAnUnknownOneIsADeadLetter(@TempDir Path dir) throws Exception {
    Schema addedField = withFields(ClickEvent.getClassSchema().getFields(), "referrer");
    Schema removedField = withFields(
        ClickEvent.getClassSchema().getFields().stream().filter(f -> !f.name().equals("session_id"))
            .collect(Collectors.toList()));
    Schema unknown = withFields(ClickEvent.getClassSchema().getFields(), "campaign");
    Path schemas = Files.createDirectory(dir.resolve("schemas"));
    Files.writeString(schemas.resolve("added.avsc"), addedField.toString());
    Files.writeString(schemas.resolve("removed.avsc"), removedField.toString());
    List<byte[]> messages = List.of(
        ClickEventDecoder.toAvro(click(1_000)),
        encode(addedField, click(2_000)),
        encode(removedField, click(3_000)),
        ClickEventDecoder.toAvroBinary(click(4_000)),
        encode(unknown, click(5_000)));

    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0)) {
      broker.createTopic("evolving", 1);
      KafkaEventStream.produce(broker.bootstrapServers(), "evolving", messages);
      FeaturePipelineOptions options = TestRunners.options(TestRunners.DIRECT, FeaturePipelineOptions.class);
      options.setSource(EventSource.KAFKA);
      options.setBootstrapServers(broker.bootstrapServers());
      options.setTopic("evolving");
      options.setDeadLetterTopic("evolving_dlq");
      options.setWriterSchemas(schemas.toString());
      options.setMaxRecords((long) messages.size());
      options.setOnlineStore(StoreFixtures.freshStoreUrl("h2"));
      options.setOfflineStore(dir.resolve("offline").toString());
      Pipeline pipeline = Pipeline.create(options);
      FeaturePipeline.build(pipeline, TestRunners.features(options, "click-counts"), () -> 5L);
      PipelineResult result = pipeline.run();
      result.waitUntilFinish();

      Map<String, Object> row =
          OnlineStore.forUrl(options.getOnlineStore()).read(FeatureTables.CLICK_COUNTS, "u1").orElseThrow();
      assertThat(List.of(row.get("event_time"), row.get("click_count_1_min")), equalTo(List.of(4_000L, 4L)));
      List<ConsumerRecord<byte[], byte[]>> letters =
          KafkaEventStream.readTopic(broker.bootstrapServers(), "evolving_dlq", 1, Duration.ofSeconds(30));
      List<String> described = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> letter : letters) {
        described.add(KafkaEventStream.header(letter, "reason") + " " + KafkaEventStream.header(letter, "source"));
      }
      assertThat(described, equalTo(List.of("unknown_schema evolving/0@4")));
      assertThat(
          List.of(PipelineCountersReader.counter(result, "ParseEvents", "events_parsed"),
              PipelineCountersReader.counter(result, "ParseEvents", "dead_letters_unknown_schema")),
          equalTo(List.of(4L, 1L)));
    } finally {
      dev.clickstream.store.ConnectionPools.closeAll();
    }
  }

  private static ClickEvent click(long timestamp) {
    return ClickEvent.newBuilder().setEventId("e" + timestamp).setUserId("u1").setEventType("click")
        .setItemId("ad-1").setSessionId("s1").setTimestamp(timestamp).build();
  }

  /** A ClickEvent schema of {@code fields}, plus an optional string field for each of {@code added}. */
  private static Schema withFields(List<Schema.Field> fields, String... added) {
    List<Schema.Field> copied = new ArrayList<>();
    fields.forEach(field -> copied.add(new Schema.Field(field, field.schema())));
    for (String name : added) {
      copied.add(new Schema.Field(name,
          Schema.createUnion(Schema.create(Schema.Type.NULL), Schema.create(Schema.Type.STRING)), null,
          Schema.Field.NULL_DEFAULT_VALUE));
    }
    Schema compiled = ClickEvent.getClassSchema();
    return Schema.createRecord(compiled.getName(), null, compiled.getNamespace(), false, copied);
  }

  /** {@code event} in single-object encoding with {@code writer}; fields the writer lacks are left out. */
  private static byte[] encode(Schema writer, ClickEvent event) throws IOException {
    GenericRecord record = new GenericData.Record(writer);
    for (Schema.Field field : writer.getFields()) {
      if (ClickEvent.getClassSchema().getField(field.name()) != null) {
        record.put(field.name(), event.get(field.name()));
      }
    }
    ByteBuffer encoded = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), writer).encode(record);
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);
    return bytes;
  }
}
