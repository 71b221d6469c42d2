package dev.clickstream.runners;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
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
 * offsets against the topic's end. Reads commit as Flink checkpoints complete, so without checkpoints there is
 * nothing committed to show. A bounded read ({@code --maxRecords}) that waits for records the topic does not hold
 * says so, with what to do.
 */
final class KafkaLag {
  private static final long TIMEOUT_SECONDS = 5;

  private final String bootstrapServers;
  private final String topic;
  private final String group;
  private final Long maxRecords;
  /** Where the run starts in each partition (the group's offset, else the earliest); null if it could not be asked. */
  private final Map<TopicPartition, Long> start;

  /**
   * Takes the run's start positions now, before the run commits anything.
   *
   * @param maxRecords the bounded read's --maxRecords, or null for an unbounded read
   */
  KafkaLag(String bootstrapServers, String topic, String group, Long maxRecords) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.group = group;
    this.maxRecords = maxRecords;
    Map<TopicPartition, Long> positions;
    try (Admin admin = admin()) {
      Map<TopicPartition, OffsetAndMetadata> committed = committed(admin);
      positions = offsets(admin, OffsetSpec.earliest());
      positions.replaceAll((partition, earliest) ->
          committed.containsKey(partition) ? committed.get(partition).offset() : earliest);
    } catch (Exception e) {
      positions = null;
    }
    this.start = positions;
  }

  /** ", committed 12,000 of 50,000 records in TOPIC (lag 38,000)", or why it is unknown. */
  String describe() {
    try (Admin admin = admin()) {
      Map<TopicPartition, OffsetAndMetadata> committed = committed(admin);
      Map<TopicPartition, Long> ends = offsets(admin, OffsetSpec.latest());
      long end = ends.values().stream().mapToLong(Long::longValue).sum();
      long done = ends.keySet().stream()
          .mapToLong(partition -> committed.containsKey(partition) ? committed.get(partition).offset() : 0)
          .sum();
      if (maxRecords != null && start != null) {
        long held = ends.entrySet().stream()
            .mapToLong(partition -> partition.getValue() - start.getOrDefault(partition.getKey(), 0L))
            .sum();
        if (held < maxRecords) {
          // Without commits the read has taken what the topic holds: it reads each record as it arrives.
          long read = committed.isEmpty()
              ? held
              : done - start.values().stream().mapToLong(Long::longValue).sum();
          return String.format(Locale.ROOT, "; read %,d of %,d records; the topic holds %,d from where this run"
              + " started, so the run waits for %,d more: produce them to %s, or stop the run and start it again"
              + " with --maxRecords=%d", read, maxRecords, held, maxRecords - held, topic, held);
        }
      }
      if (committed.isEmpty()) {
        return String.format(Locale.ROOT, "; %,d records in %s, none committed yet (reads commit as checkpoints"
            + " complete: --checkpointingInterval=MS)", end, topic);
      }
      return String.format(Locale.ROOT, "; committed %,d of %,d records in %s (lag %,d)", done, end, topic, end - done);
    } catch (Exception e) {
      return "; progress unknown: " + (e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
    }
  }

  /** Records of the topic the group has not committed, when it has committed any and the broker answers. */
  OptionalLong lag() {
    try (Admin admin = admin()) {
      Map<TopicPartition, OffsetAndMetadata> committed = committed(admin);
      if (committed.isEmpty()) {
        return OptionalLong.empty();
      }
      long lag = 0;
      for (Map.Entry<TopicPartition, Long> end : offsets(admin, OffsetSpec.latest()).entrySet()) {
        OffsetAndMetadata done = committed.get(end.getKey());
        lag += end.getValue() - (done == null ? 0 : done.offset());
      }
      return OptionalLong.of(lag);
    } catch (Exception e) {
      return OptionalLong.empty(); // the heartbeat says why
    }
  }

  private Admin admin() {
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
    properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
    return Admin.create(properties);
  }

  private Map<TopicPartition, OffsetAndMetadata> committed(Admin admin) throws Exception {
    return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  /** Each partition's offset at {@code spec}. */
  private Map<TopicPartition, Long> offsets(Admin admin, OffsetSpec spec) throws Exception {
    Map<TopicPartition, OffsetSpec> partitions =
        admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
            .get(topic).partitions().stream()
            .collect(Collectors.toMap(p -> new TopicPartition(topic, p.partition()), p -> spec));
    Map<TopicPartition, ListOffsetsResultInfo> offsets =
        admin.listOffsets(partitions).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    return offsets.entrySet().stream()
        .collect(Collectors.toMap(Map.Entry::getKey, entry -> entry.getValue().offset()));
  }
}
