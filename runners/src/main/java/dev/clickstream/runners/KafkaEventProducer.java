package dev.clickstream.runners;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends records to a Kafka topic at a target rate, or as fast as the broker takes them, and reports progress.
 * Delivery is acknowledged by every in-sync replica and retried by the client; {@link #close()} waits for every
 * record and fails if any could not be delivered, so a run that returns has delivered everything it was given.
 * Avro events are given to it in the single-object encoding ({@link dev.clickstream.transforms.ClickEventDecoder#toAvro}), which names the
 * writer schema, so that readers whose schema has moved on still read them.
 */
public final class KafkaEventProducer implements AutoCloseable {
  private final KafkaProducer<byte[], byte[]> producer;
  private final String bootstrapServers;
  private final String topic;
  private final double recordsPerSecond;
  private final long total;
  private final PrintStream progress;
  private final long progressStep;
  private final long startedNanos = System.nanoTime();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicReference<Exception> firstFailure = new AtomicReference<>();
  private long sent;

  /**
   * @param recordsPerSecond the target rate; 0 or less sends as fast as possible
   * @param total how many records the caller will send, for progress lines (0 if unknown)
   */
  public KafkaEventProducer(String bootstrapServers, String topic, double recordsPerSecond, long total, PrintStream progress) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    properties.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    properties.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    properties.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    // A broker that is down or restarting gets two minutes before the run fails.
    properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
    properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 120_000);
    this.producer = new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.recordsPerSecond = recordsPerSecond;
    this.total = total;
    this.progress = progress;
    this.progressStep = Math.max(10_000, total / 10);
  }

  /** Sends one record, waiting first as long as the target rate asks. */
  public void send(byte[] key, byte[] value) throws InterruptedException {
    if (recordsPerSecond > 0) {
      long dueNanos = startedNanos + (long) (sent / recordsPerSecond * 1e9);
      long waitNanos = dueNanos - System.nanoTime();
      if (waitNanos > 0) {
        TimeUnit.NANOSECONDS.sleep(waitNanos);
      }
    }
    producer.send(
        new ProducerRecord<>(topic, key, value),
        (metadata, exception) -> {
          if (exception != null) {
            failed.incrementAndGet();
            firstFailure.compareAndSet(null, exception);
          }
        });
    sent++;
    if (sent % progressStep == 0 && sent != total) {
      double seconds = (System.nanoTime() - startedNanos) / 1e9;
      progress.printf(
          Locale.ROOT, "  sent %,d%s records to %s, %,.0f records/s%n",
          sent, total > 0 ? " of " + String.format(Locale.ROOT, "%,d", total) : "", topic, sent / seconds);
    }
  }

  long sent() {
    return sent;
  }

  double secondsSinceStart() {
    return (System.nanoTime() - startedNanos) / 1e9;
  }

  /** Waits for every record to be acknowledged; fails, saying how many were lost, if any was not. */
  @Override
  public void close() {
    producer.flush();
    producer.close();
    if (failed.get() > 0) {
      throw new IllegalStateException(
          failed.get() + " of " + sent + " records could not be delivered to " + topic + " at " + bootstrapServers
              + ": " + firstFailure.get().getMessage(),
          firstFailure.get());
    }
  }
}
