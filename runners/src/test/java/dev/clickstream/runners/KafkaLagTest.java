package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.broker.BrokerPerTestClass;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The heartbeat's progress line, against a real broker. */
class KafkaLagTest {
  @RegisterExtension static final BrokerPerTestClass KAFKA = new BrokerPerTestClass();

  @Test
  void aBoundedReadOfMoreRecordsThanTheTopicHoldsSaysHowManyItWaitsFor() throws Exception {
    KAFKA.broker().createTopic("short", 1);
    produce("short", 3);

    KafkaLag lag = new KafkaLag(KAFKA.broker().bootstrapServers(), "short", "clickstream-click-counts", 5L);

    assertThat(lag.describe(), equalTo("; read 3 of 5 records; the topic holds 3 from where this run started, so the"
        + " run waits for 2 more: produce them to short, or stop the run and start it again with --maxRecords=3"));
  }

  @Test
  void aReadWithNothingCommittedSaysThatReadsCommitWithCheckpoints() throws Exception {
    KAFKA.broker().createTopic("long", 1);
    produce("long", 4);

    KafkaLag lag = new KafkaLag(KAFKA.broker().bootstrapServers(), "long", "clickstream-click-counts", 4L);

    assertThat(lag.describe(), equalTo("; 4 records in long, none committed yet (reads commit as checkpoints"
        + " complete: --checkpointingInterval=MS)"));
  }

  private static void produce(String topic, int records) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers());
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < records; i++) {
        producer.send(new ProducerRecord<>(topic, ("r" + i).getBytes(StandardCharsets.UTF_8)));
      }
      producer.flush();
    }
  }
}
