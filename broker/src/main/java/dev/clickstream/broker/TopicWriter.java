package dev.clickstream.broker;

import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Writes messages to a topic, as tests put events where a pipeline reads them. */
public final class TopicWriter {
  private TopicWriter() {}

  /** Sends {@code messages} to partition 0 of {@code topic}, in order, and waits until all are acknowledged. */
  public static void produce(String bootstrapServers, String topic, List<byte[]> messages) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
    properties.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    properties.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (byte[] message : messages) {
        producer.send(new ProducerRecord<>(topic, 0, null, message));
      }
      producer.flush();
    }
  }
}
