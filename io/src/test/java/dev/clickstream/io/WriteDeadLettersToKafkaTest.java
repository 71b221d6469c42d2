package dev.clickstream.io;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import dev.clickstream.broker.BrokerPerTestClass;
import dev.clickstream.broker.TopicReader;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.PipelineCounters;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Dead letters that Kafka would refuse never fail the job: read from a real broker and written back to it, on embedded
 * Flink (the Direct runner
 * can report a DoFn's {@code @FinishBundle} counters under another bundle, and the writer settles its sends there).
 */
class WriteDeadLettersToKafkaTest {
  /** As large as the broker's default message.max.bytes (1,048,588 per batch) lets an input message be. */
  private static final int NEARLY_ONE_MIB = 1_048_400;

  private static final String CLICK_1 =
      "{\"event_id\":\"e1\",\"user_id\":\"u1\",\"event_type\":\"click\",\"timestamp\":1000}";
  private static final String CLICK_2 =
      "{\"event_id\":\"e2\",\"user_id\":\"u1\",\"event_type\":\"click\",\"timestamp\":2000}";

  @RegisterExtension static final BrokerPerTestClass KAFKA = new BrokerPerTestClass();

  @Test
  void aMessageOfNearlyOneMebibyteBecomesATruncatedDeadLetterWithItsSizeAndHash() throws Exception {
    byte[] huge = new byte[NEARLY_ONE_MIB];
    Arrays.fill(huge, (byte) 'x');
    huge[0] = '{';
    KAFKA.broker().createTopic("huge", 1);
    KAFKA.broker().createTopic("huge_dlq", 1);
    produce("huge", List.of(CLICK_1.getBytes(StandardCharsets.UTF_8), huge, CLICK_2.getBytes(StandardCharsets.UTF_8)));

    PipelineResult result = readAndWriteDeadLetters("huge", "huge_dlq", 3);

    assertThat(result.getState(), is(PipelineResult.State.DONE));
    List<ConsumerRecord<byte[], byte[]>> letters =
        TopicReader.readFromStart(KAFKA.broker().bootstrapServers(), "huge_dlq", 1, Duration.ofSeconds(30));
    assertThat(letters.size(), is(1));
    ConsumerRecord<byte[], byte[]> letter = letters.get(0);
    assertThat(
        List.of(TopicReader.header(letter, "reason"), TopicReader.header(letter, "source"),
            TopicReader.header(letter, "truncated"), TopicReader.header(letter, "original_size"),
            TopicReader.header(letter, "sha256")),
        equalTo(List.of("malformed_json", "huge/0@1", "true", "1048400", WriteDeadLettersToKafka.sha256(huge))));
    assertThat(letter.value().length, is(WriteDeadLettersToKafka.MAX_PAYLOAD_BYTES));
    assertThat(Arrays.equals(letter.value(), Arrays.copyOf(huge, WriteDeadLettersToKafka.MAX_PAYLOAD_BYTES)),
        is(true));
    assertThat(writerCounters(result), equalTo(List.of(1L, 1L, 0L)));
  }

  @Test
  void aDeadLetterTheBrokerRefusesIsCountedAndTheJobGoesOn() throws Exception {
    // A dead-letter topic that takes no message over 1,000 bytes refuses a 5,000-byte dead letter.
    Properties admin = new Properties();
    admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers());
    try (Admin client = Admin.create(admin)) {
      client.createTopics(List.of(
              new NewTopic("refused", 1, (short) 1),
              new NewTopic("refused_dlq", 1, (short) 1).configs(Map.of("max.message.bytes", "1000"))))
          .all().get(30, TimeUnit.SECONDS);
    }
    byte[] bad = new byte[5_000];
    Arrays.fill(bad, (byte) 'x');
    bad[0] = '{';
    produce("refused", List.of(CLICK_1.getBytes(StandardCharsets.UTF_8), bad, CLICK_2.getBytes(StandardCharsets.UTF_8)));

    PipelineResult result = readAndWriteDeadLetters("refused", "refused_dlq", 3);

    assertThat(result.getState(), is(PipelineResult.State.DONE));
    assertThat(writerCounters(result), equalTo(List.of(0L, 0L, 1L)));
  }

  /**
   * Reads the first {@code records} of {@code topic} and writes its dead letters to {@code deadLetterTopic}; asserts
   * that the two clicks around the bad message are read.
   */
  private static PipelineResult readAndWriteDeadLetters(String topic, String deadLetterTopic, long records) {
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    Pipeline pipeline = Pipeline.create(options);
    PCollectionTuple read =
        pipeline.apply(
            ReadKafkaEvents.from(KAFKA.broker().bootstrapServers(), topic)
                .withConsumerGroup("dead-letter-test")
                .withMaxRecords(records));
    PAssert.that(read.get(ParseEvents.EVENTS)).containsInAnyOrder(click("e1", 1000), click("e2", 2000));
    read.get(ParseEvents.DEAD_LETTERS)
        .apply(WriteDeadLettersToKafka.to(KAFKA.broker().bootstrapServers(), deadLetterTopic));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    return result;
  }

  private static ClickEvent click(String id, long timestamp) {
    return ClickEvent.newBuilder().setEventId(id).setUserId("u1").setEventType("click").setTimestamp(timestamp).build();
  }

  /** [dead_letters_written, payloads_truncated, send_failures]. */
  private static List<Long> writerCounters(PipelineResult result) {
    return List.of(
        PipelineCounters.value(result, WriteDeadLettersToKafka.STAGE, "dead_letters_written"),
        PipelineCounters.value(result, WriteDeadLettersToKafka.STAGE, "payloads_truncated"),
        PipelineCounters.value(result, WriteDeadLettersToKafka.STAGE, "send_failures"));
  }

  /** Sends {@code messages} in order, allowing a message up to the broker's own limit. */
  private static void produce(String topic, List<byte[]> messages) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers());
    properties.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1024 * 1024);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (byte[] message : messages) {
        producer.send(new ProducerRecord<>(topic, 0, null, message));
      }
      producer.flush();
    }
  }
}
