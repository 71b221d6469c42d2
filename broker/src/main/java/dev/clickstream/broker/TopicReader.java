package dev.clickstream.broker;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads a topic from its start, as tests and the demo look at what a pipeline wrote (its dead letters, say). */
public final class TopicReader {
  /** How long to keep polling after the expected count, so that records beyond it show up too. */
  private static final Duration EXTRA_WAIT = Duration.ofSeconds(1);

  private TopicReader() {}

  /**
   * Every record of {@code topic} in a fresh consumer group, polling until {@code expected} records and then one
   * more second (so extra records are seen, not hidden), or until {@code timeout}.
   */
  public static List<ConsumerRecord<byte[], byte[]>> readFromStart(
      String bootstrapServers, String topic, int expected, Duration timeout) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ConsumerConfig.GROUP_ID_CONFIG, "topic-reader-" + UUID.randomUUID());
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + timeout.toNanos();
      long extraUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(deadline, extraUntil)) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        if (records.size() >= expected && extraUntil == Long.MAX_VALUE) {
          extraUntil = System.nanoTime() + EXTRA_WAIT.toNanos();
        }
      }
    }
    return records;
  }

  /** The value of {@code record}'s last header {@code key}, as UTF-8 text. */
  public static String header(ConsumerRecord<byte[], byte[]> record, String key) {
    return new String(record.headers().lastHeader(key).value(), StandardCharsets.UTF_8);
  }
}
