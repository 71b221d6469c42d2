package dev.clickstream.runners;

import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.io.WriteDeadLettersToKafka;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** {@code ./clickstream kafka}: a single-node Kafka broker in the foreground, for trying the Kafka path. */
final class KafkaCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream kafka [--port=9092] [--partitions=1]",
          "",
          "Runs a real single-node Kafka broker (KRaft, from Kafka's own test kit) in this process until",
          "Ctrl-C, with the topics " + ReadKafkaEvents.DEFAULT_TOPIC + " and " + WriteDeadLettersToKafka.DEFAULT_TOPIC
              + " created. Its data is",
          "temporary: it is deleted when the broker stops.",
          "",
          "  --port=N         client port on 127.0.0.1 (default 9092)",
          "  --partitions=N   partitions of " + ReadKafkaEvents.DEFAULT_TOPIC
              + " (default 1; lateness is judged per partition)",
          "",
          "Then, in another terminal:",
          "  ./clickstream generate --kafka=127.0.0.1:9092 --events=100000 --rate=5000",
          "  ./clickstream run all --source=kafka --bootstrapServers=127.0.0.1:9092");

  private static final Set<String> FLAGS = Set.of("port", "partitions");

  private KafkaCommand() {}

  static int run(List<String> args, PrintStream out) throws Exception {
    Flags flags = Flags.parse("kafka", args, FLAGS);
    int port = (int) flags.longValue("port", 9092, 1, 65_535);
    int partitions = (int) flags.longValue("partitions", 1, 1, 1_000);
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(port);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      out.println("Stopping the Kafka broker ...");
      try {
        broker.close();
      } catch (Exception e) {
        out.println("error while stopping the broker: " + e.getMessage());
      }
      stopped.countDown();
    }, "kafka-shutdown"));
    KafkaTopics.ensure(
        broker.bootstrapServers(),
        Map.of(ReadKafkaEvents.DEFAULT_TOPIC, partitions, WriteDeadLettersToKafka.DEFAULT_TOPIC, 1));
    out.printf("Kafka broker ready on %s (topics %s with %d partition%s, %s). Ctrl-C to stop.%n",
        broker.bootstrapServers(), ReadKafkaEvents.DEFAULT_TOPIC, partitions, partitions == 1 ? "" : "s",
        WriteDeadLettersToKafka.DEFAULT_TOPIC);
    stopped.await();
    return 0;
  }
}
