package dev.clickstream.pipelines;

import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.DeadLetters;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.io.kafka.KafkaIO;
import org.apache.beam.sdk.io.kafka.ProducerRecordCoder;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Writes dead letters to a Kafka topic: each message is the rejected record's original bytes, and its headers say
 * why ({@code reason}, {@code detail}, {@code stage}), where it was read ({@code source}: topic/partition@offset)
 * and when it failed ({@code failed_at}, epoch milliseconds). At least once: after a failure and restart a dead
 * letter can appear twice, with the same {@code source}.
 */
final class WriteDeadLettersToKafka extends PTransform<PCollection<DeadLetter>, PDone> {
  private final String bootstrapServers;
  private final String topic;

  private WriteDeadLettersToKafka(String bootstrapServers, String topic) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
  }

  static WriteDeadLettersToKafka to(String bootstrapServers, String topic) {
    if (topic == null || topic.isBlank()) {
      throw new IllegalArgumentException("--deadLetterTopic must name a Kafka topic");
    }
    return new WriteDeadLettersToKafka(bootstrapServers, topic);
  }

  @Override
  public PDone expand(PCollection<DeadLetter> deadLetters) {
    String target = topic;
    return deadLetters
        .apply(
            "ToKafkaMessages",
            MapElements.into(new TypeDescriptor<ProducerRecord<byte[], byte[]>>() {})
                .via((DeadLetter deadLetter) -> message(target, deadLetter)))
        .setCoder(ProducerRecordCoder.of(NullableCoder.of(ByteArrayCoder.of()), ByteArrayCoder.of()))
        .apply(
            "WriteToKafka",
            KafkaIO.<byte[], byte[]>writeRecords()
                .withBootstrapServers(bootstrapServers)
                .withTopic(topic)
                .withKeySerializer(ByteArraySerializer.class)
                .withValueSerializer(ByteArraySerializer.class));
  }

  static ProducerRecord<byte[], byte[]> message(String topic, DeadLetter deadLetter) {
    List<Header> headers =
        List.of(
            header("reason", deadLetter.getReason()),
            header("detail", deadLetter.getDetail()),
            header("stage", deadLetter.getStage()),
            header("source", deadLetter.getSource() == null ? "" : deadLetter.getSource()),
            header("failed_at", Long.toString(deadLetter.getFailedAt())));
    return new ProducerRecord<>(topic, null, null, null, DeadLetters.rawBytes(deadLetter), headers);
  }

  private static Header header(String key, String value) {
    return new RecordHeader(key, value.getBytes(StandardCharsets.UTF_8));
  }
}
