package dev.clickstream.broker;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class EmbeddedKafkaBrokerTest {
  @RegisterExtension static final BrokerPerTestClass KAFKA = new BrokerPerTestClass();

  @Test
  void recordsProducedBeforeARestartAreReadAfterIt() throws Exception {
    KAFKA.broker().createTopic("restart_test", 1);
    try (KafkaProducer<String, String> producer = producer()) {
      producer.send(new ProducerRecord<>("restart_test", "a", "before")).get();
    }
    KAFKA.broker().restartBroker();
    try (KafkaProducer<String, String> producer = producer()) {
      producer.send(new ProducerRecord<>("restart_test", "b", "after")).get();
    }
    assertThat(readAll("restart_test", 2), contains("before", "after"));
  }

  @Test
  void createTopicKeepsAnExistingTopicAndMakesAMissingOne() throws Exception {
    KAFKA.broker().createTopic("existing", 1);
    KAFKA.broker().createTopic("existing", 1);
    KAFKA.broker().createTopic("fresh", 3);
    Properties properties = new Properties();
    properties.put("bootstrap.servers", KAFKA.broker().bootstrapServers());
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(properties)) {
      int freshPartitions =
          admin.describeTopics(List.of("fresh")).allTopicNames().get().get("fresh").partitions().size();
      assertThat(freshPartitions, is(3));
    }
  }

  @Test
  void fetchRequestsCountOnlyTheTopicAConsumerReads() throws Exception {
    KAFKA.broker().createTopic("fetched", 1);
    KAFKA.broker().createTopic("unread", 1);
    try (KafkaProducer<String, String> producer = producer()) {
      producer.send(new ProducerRecord<>("fetched", "a", "one")).get();
      producer.send(new ProducerRecord<>("unread", "a", "one")).get();
    }
    long before = KAFKA.broker().fetchRequests("fetched");
    assertThat(readAll("fetched", 1), contains("one"));
    // A consumer's fetches repeat while it polls, so only "none before, some after" is exact.
    assertThat(List.of(before, KAFKA.broker().fetchRequests("fetched") > 0, KAFKA.broker().fetchRequests("unread")),
        is(List.of(0L, true, 0L)));
  }

  private static KafkaProducer<String, String> producer() {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers());
    return new KafkaProducer<>(properties, new StringSerializer(), new StringSerializer());
  }

  private static List<String> readAll(String topic, int expected) {
    List<String> values = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> record :
        TopicReader.readFromStart(KAFKA.broker().bootstrapServers(), topic, expected, Duration.ofSeconds(30))) {
      values.add(new String(record.value(), java.nio.charset.StandardCharsets.UTF_8));
    }
    return values;
  }
}
