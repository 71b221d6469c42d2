package dev.clickstream.runners;

import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * How far a streaming run has got through its topic, for the run's heartbeat: the consumer group's committed
 * offsets against the topic's end. An unbounded read commits what it has read about once a second; a bounded one
 * (--maxRecords) commits as Flink checkpoints complete, so without {@code --checkpointingInterval} there is nothing to
 * show.
 */
final class KafkaLag {
  private static final long TIMEOUT_SECONDS = 5;

  private final String bootstrapServers;
  private final String topic;
  private final String group;

  KafkaLag(String bootstrapServers, String topic, String group) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.group = group;
  }

  /** ", committed 12,000 of 50,000 records in TOPIC (lag 38,000)", or why it is unknown. */
  String describe() {
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
    properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
    try (Admin admin = Admin.create(properties)) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> partitions =
          admin.describeTopics(java.util.List.of(topic)).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
              .get(topic).partitions().stream()
              .collect(Collectors.toMap(p -> new TopicPartition(topic, p.partition()), p -> OffsetSpec.latest()));
      Map<TopicPartition, ListOffsetsResultInfo> ends =
          admin.listOffsets(partitions).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      long end = ends.values().stream().mapToLong(ListOffsetsResultInfo::offset).sum();
      long done = ends.keySet().stream()
          .mapToLong(partition -> committed.containsKey(partition) ? committed.get(partition).offset() : 0)
          .sum();
      if (committed.isEmpty()) {
        return String.format(Locale.ROOT, "; %,d records in %s, none committed yet (a bounded read commits as"
            + " checkpoints complete: --checkpointingInterval=MS)", end, topic);
      }
      return String.format(Locale.ROOT, "; committed %,d of %,d records in %s (lag %,d)", done, end, topic, end - done);
    } catch (Exception e) {
      return "; progress unknown: " + (e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
    }
  }
}
