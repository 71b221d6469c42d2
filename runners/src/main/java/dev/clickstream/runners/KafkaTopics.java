package dev.clickstream.runners;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Makes sure the topics a command uses exist, through Kafka's {@link Admin} client, and turns an unreachable broker
 * into advice.
 */
public final class KafkaTopics {
  /** How long the broker has to answer each admin call: seconds, not Kafka's default of a minute. */
  private static final long TIMEOUT_SECONDS = 15;

  private KafkaTopics() {}

  /** Creates each missing topic with one partition. */
  public static void ensure(String bootstrapServers, String... topics) {
    Map<String, Integer> partitions = new LinkedHashMap<>();
    for (String topic : topics) {
      partitions.put(topic, 1);
    }
    ensure(bootstrapServers, partitions);
  }

  /**
   * Creates each missing topic with its partition count and one replica; a topic that exists is left as it is.
   *
   * @throws UsageException when no broker answers at {@code bootstrapServers}
   */
  public static void ensure(String bootstrapServers, Map<String, Integer> partitionsByTopic) {
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
    properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
    try (Admin admin = Admin.create(properties)) {
      Set<String> existing = admin.listTopics().names().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      List<NewTopic> missing =
          partitionsByTopic.entrySet().stream()
              .filter(topic -> !existing.contains(topic.getKey()))
              .map(topic -> new NewTopic(topic.getKey(), topic.getValue(), (short) 1))
              .collect(Collectors.toList());
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      }
    } catch (ExecutionException e) {
      // Another client created one of the topics between the listing and the creation: it exists, as wanted.
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw unreachable(bootstrapServers, e.getCause().getMessage());
      }
    } catch (TimeoutException e) {
      throw unreachable(bootstrapServers, "no answer within " + TIMEOUT_SECONDS + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics on " + bootstrapServers, e);
    }
  }

  private static UsageException unreachable(String bootstrapServers, String reason) {
    return new UsageException(
        "cannot reach Kafka at " + bootstrapServers + " (" + reason + "). Start a broker with"
            + " './clickstream kafka --port=9092', or point --bootstrapServers at a running one");
  }
}
