package dev.clickstream.io;

import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.DeadLetters;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PDone;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes dead letters to a Kafka topic: each message is the rejected record's original bytes, and its headers say
 * why ({@code reason}, {@code detail}, {@code stage}), where it was read ({@code source}: topic/partition@offset),
 * when it failed ({@code failed_at}, epoch milliseconds) and what the payload was ({@code original_size} in bytes,
 * {@code sha256} in hex, and {@code truncated}).
 *
 * <p>A payload longer than {@link #MAX_PAYLOAD_BYTES} is cut to that length, with {@code truncated=true}: a message
 * close to the broker's limit must not come back over it once headers are added (its full bytes stay in the input
 * topic at {@code source}). A dead letter is never worth failing the job: a message the broker still refuses is
 * logged with its source, reason, size and hash, and counted in {@code WriteDeadLettersToKafka/send_failures}.
 *
 * <p>At least once: each bundle waits for its messages to be acknowledged, so after a failure and restart a dead
 * letter can appear twice, with the same {@code source}.
 */
public final class WriteDeadLettersToKafka extends PTransform<PCollection<DeadLetter>, PDone> {
  public static final String STAGE = "WriteDeadLettersToKafka";

  /** The topic of the dead letters of {@link ReadKafkaEvents#DEFAULT_TOPIC}, unless told otherwise. */
  public static final String DEFAULT_TOPIC = "clickstream_events_dlq";

  /** The most payload bytes a dead-letter message holds: half of Kafka's default 1 MiB request and message size. */
  static final int MAX_PAYLOAD_BYTES = 512 * 1024;

  /** The most characters of a {@code detail} header. */
  static final int MAX_DETAIL_CHARS = 2_000;

  private static final Logger LOG = LoggerFactory.getLogger(WriteDeadLettersToKafka.class);

  private final String bootstrapServers;
  private final String topic;

  private WriteDeadLettersToKafka(String bootstrapServers, String topic) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
  }

  /** Writes to {@code topic} on the brokers at {@code bootstrapServers}. */
  public static WriteDeadLettersToKafka to(String bootstrapServers, String topic) {
    Arguments.named("bootstrapServers", bootstrapServers, ReadKafkaEvents.BROKERS);
    Arguments.named("topic", topic, "a Kafka topic");
    return new WriteDeadLettersToKafka(bootstrapServers, topic);
  }

  @Override
  public PDone expand(PCollection<DeadLetter> deadLetters) {
    deadLetters.apply("WriteToKafka", ParDo.of(new SendFn(bootstrapServers, topic)));
    return PDone.in(deadLetters.getPipeline());
  }

  static ProducerRecord<byte[], byte[]> message(String topic, DeadLetter deadLetter) {
    byte[] raw = DeadLetters.rawBytes(deadLetter);
    boolean truncated = raw.length > MAX_PAYLOAD_BYTES;
    String detail = deadLetter.getDetail();
    List<Header> headers =
        List.of(
            header("reason", deadLetter.getReason()),
            header("detail", detail.length() > MAX_DETAIL_CHARS ? detail.substring(0, MAX_DETAIL_CHARS) + "…" : detail),
            header("stage", deadLetter.getStage()),
            header("source", deadLetter.getSource() == null ? "" : deadLetter.getSource()),
            header("failed_at", Long.toString(deadLetter.getFailedAt())),
            header("truncated", Boolean.toString(truncated)),
            header("original_size", Integer.toString(raw.length)),
            header("sha256", sha256(raw)));
    byte[] payload = truncated ? Arrays.copyOf(raw, MAX_PAYLOAD_BYTES) : raw;
    return new ProducerRecord<>(topic, null, null, null, payload, headers);
  }

  private static Header header(String key, String value) {
    return new RecordHeader(key, value.getBytes(StandardCharsets.UTF_8));
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** Sends each dead letter; failures are counted and logged, never thrown. */
  static final class SendFn extends DoFn<DeadLetter, Void> {
    private final String bootstrapServers;
    private final String topic;

    private final Counter written = Metrics.counter(STAGE, "dead_letters_written");
    private final Counter truncated = Metrics.counter(STAGE, "payloads_truncated");
    private final Counter sendFailures = Metrics.counter(STAGE, "send_failures");

    private transient Producer<byte[], byte[]> producer;
    /** This bundle's sends, each with what a failure log says about it; settled when the bundle finishes. */
    private transient List<KV<Future<RecordMetadata>, String>> sends;

    SendFn(String bootstrapServers, String topic) {
      this.bootstrapServers = bootstrapServers;
      this.topic = topic;
    }

    @Setup
    public void setup() {
      Properties properties = new Properties();
      properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
      properties.put(ProducerConfig.ACKS_CONFIG, "all");
      properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      producer = new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
      sends = new ArrayList<>();
    }

    @ProcessElement
    public void processElement(@Element DeadLetter deadLetter) {
      ProducerRecord<byte[], byte[]> message = message(topic, deadLetter);
      if (header(message, "truncated").equals("true")) {
        truncated.inc();
      }
      try {
        sends.add(KV.of(producer.send(message), describe(message)));
      } catch (InterruptException e) {
        throw e;
      } catch (KafkaException e) {
        fail(describe(message), e);
      }
    }

    /** Waits for the bundle's messages: a bundle is done only when its dead letters are stored or counted lost. */
    @FinishBundle
    public void finishBundle() throws InterruptedException {
      producer.flush();
      for (KV<Future<RecordMetadata>, String> send : sends) {
        try {
          send.getKey().get();
          written.inc();
        } catch (ExecutionException e) {
          fail(send.getValue(), e.getCause());
        }
      }
      sends.clear();
    }

    @Teardown
    public void teardown() {
      if (producer != null) {
        producer.close();
      }
    }

    private void fail(String deadLetter, Throwable error) {
      sendFailures.inc();
      LOG.error(
          "Could not write a dead letter to {} at {} ({}): {}. The job goes on; the record is counted in {}/send_failures,"
              + " and its bytes are still at its source.",
          topic, bootstrapServers, deadLetter, error.toString(), STAGE);
    }

    private static String describe(ProducerRecord<byte[], byte[]> message) {
      return "reason " + header(message, "reason") + ", read from '" + header(message, "source") + "', "
          + header(message, "original_size") + " bytes, sha256 " + header(message, "sha256");
    }

    private static String header(ProducerRecord<byte[], byte[]> message, String key) {
      return new String(message.headers().lastHeader(key).value(), StandardCharsets.UTF_8);
    }
  }
}
