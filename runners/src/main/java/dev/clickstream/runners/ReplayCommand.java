package dev.clickstream.runners;

import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.InvalidEventException;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.specific.SpecificDatumReader;

/** {@code ./clickstream replay}: replays a recorded events file to a Kafka topic, one message per record. */
final class ReplayCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream replay --input=FILE --kafka=HOST:PORT [--topic=T] [--rate=N]",
          "",
          "Sends every record of FILE to a Kafka topic, in file order, one message per record:",
          "  JSON lines: each line's bytes exactly as they are, malformed lines included (the pipelines",
          "              dead-letter them with the reason); a message is keyed by its user when it parses",
          "  *.avro:     each record of the Avro container file as Avro binary, keyed by its user",
          "",
          "  --input=FILE           the events file (required)",
          "  --kafka=HOST:PORT      the broker (required); the topic is created if missing",
          "  --topic=T              default " + ReadKafkaEvents.DEFAULT_TOPIC,
          "  --rate=N               records per second (default 0: as fast as possible)",
          "",
          "Example: ./clickstream replay --input=data/events.jsonl --kafka=127.0.0.1:9092");

  private static final Set<String> FLAGS = Set.of("input", "kafka", "topic", "rate");

  private ReplayCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws IOException {
    Flags flags = Flags.parse("replay", args, FLAGS);
    if (!flags.has("input") || !flags.has("kafka")) {
      throw new UsageException("replay: --input=FILE and --kafka=HOST:PORT are required (see ./clickstream replay --help)");
    }
    Path input = Path.of(flags.string("input", null));
    if (!Files.isRegularFile(input)) {
      throw new UsageException("replay: no such file --input=" + input);
    }
    String bootstrapServers = flags.string("kafka", null);
    String topic = flags.string("topic", ReadKafkaEvents.DEFAULT_TOPIC);
    double rate = flags.doubleValue("rate", 0, 0, 10_000_000);
    KafkaTopics.ensure(bootstrapServers, topic);
    boolean avro = input.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".avro");
    out.printf("Replaying %s (%s) to %s at %s%n", input, avro ? "Avro records" : "JSON lines", topic, bootstrapServers);
    KafkaEventProducer producer = new KafkaEventProducer(bootstrapServers, topic, rate, 0, err);
    try (producer) {
      if (avro) {
        replayAvro(input, producer);
      } else {
        replayLines(input, producer);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted after " + producer.sent() + " records", e);
    }
    out.printf(Locale.ROOT, "Replayed %,d records to %s in %.1f s%n", producer.sent(), topic, producer.secondsSinceStart());
    return 0;
  }

  private static void replayAvro(Path input, KafkaEventProducer producer) throws IOException, InterruptedException {
    try (DataFileReader<ClickEvent> reader =
        new DataFileReader<>(input.toFile(), new SpecificDatumReader<>(ClickEvent.class))) {
      for (ClickEvent event : reader) {
        producer.send(event.getUserId().getBytes(StandardCharsets.UTF_8), ClickEventDecoder.toAvro(event));
      }
    }
  }

  /** Each line's bytes without its terminator (\n or \r\n), as TextIO reads lines; no message after a final \n. */
  private static void replayLines(Path input, KafkaEventProducer producer) throws IOException, InterruptedException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(input), 1 << 16)) {
      ByteArrayOutputStream line = new ByteArrayOutputStream(256);
      boolean pending = false;
      for (int b = in.read(); b != -1; b = in.read()) {
        if (b == '\n') {
          sendLine(line, producer);
          pending = false;
        } else {
          line.write(b);
          pending = true;
        }
      }
      if (pending) {
        sendLine(line, producer);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static void sendLine(ByteArrayOutputStream line, KafkaEventProducer producer) throws InterruptedException {
    byte[] bytes = line.toByteArray();
    int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
    byte[] value = length == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, length);
    line.reset();
    producer.send(userKey(value), value);
  }

  private static byte[] userKey(byte[] value) {
    try {
      return ClickEventDecoder.decode(value, ClickEventDecoder.Format.JSON).getUserId().getBytes(StandardCharsets.UTF_8);
    } catch (InvalidEventException e) {
      return null;
    }
  }
}
