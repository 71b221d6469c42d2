package dev.clickstream.broker;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaBrokerTest {
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() throws Exception {
    broker = EmbeddedKafkaBroker.start(0);
  }

  @AfterAll
  static void stopBroker() throws Exception {
    broker.close();
  }

  @Test
  void recordsProducedBeforeARestartAreReadAfterIt() throws Exception {
    broker.createTopic("restart_test", 1);
    try (KafkaProducer<String, String> producer = producer()) {
      producer.send(new ProducerRecord<>("restart_test", "a", "before")).get();
    }
    broker.restartBroker();
    try (KafkaProducer<String, String> producer = producer()) {
      producer.send(new ProducerRecord<>("restart_test", "b", "after")).get();
    }
    assertThat(readAll("restart_test", 2), contains("before", "after"));
  }

  @Test
  void createTopicsKeepsExistingTopicsAndMakesTheMissingOnes() throws Exception {
    broker.createTopic("existing", 1);
    EmbeddedKafkaBroker.createTopics(broker.bootstrapServers(), Map.of("existing", 1, "fresh", 3));
    Properties properties = new Properties();
    properties.put("bootstrap.servers", broker.bootstrapServers());
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(properties)) {
      int freshPartitions =
          admin.describeTopics(List.of("fresh")).allTopicNames().get().get("fresh").partitions().size();
      assertThat(freshPartitions, is(3));
    }
  }

  private static KafkaProducer<String, String> producer() {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    return new KafkaProducer<>(properties, new StringSerializer(), new StringSerializer());
  }

  private static List<String> readAll(String topic, int expected) {
    List<String> values = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> record :
        TopicReader.readFromStart(broker.bootstrapServers(), topic, expected, Duration.ofSeconds(30))) {
      values.add(new String(record.value(), java.nio.charset.StandardCharsets.UTF_8));
    }
    return values;
  }
}
