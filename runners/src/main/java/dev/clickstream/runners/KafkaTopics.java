package dev.clickstream.runners;

import dev.clickstream.broker.EmbeddedKafkaBroker;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/** Makes sure the topics a command uses exist, and turns an unreachable broker into advice. */
final class KafkaTopics {
  private KafkaTopics() {}

  /** Creates each missing topic with one partition. */
  static void ensure(String bootstrapServers, String... topics) {
    Map<String, Integer> partitions = new LinkedHashMap<>();
    for (String topic : topics) {
      partitions.put(topic, 1);
    }
    try {
      EmbeddedKafkaBroker.createTopics(bootstrapServers, partitions);
    } catch (ExecutionException e) {
      throw new UsageException(
          "cannot reach Kafka at " + bootstrapServers + " (" + e.getCause().getMessage() + "). Start a broker with"
              + " './clickstream kafka --port=9092', or point --bootstrapServers at a running one");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics on " + bootstrapServers, e);
    }
  }
}
