package dev.clickstream.io;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The reader's settings check their own values, and a read is refused before it starts without a consumer group. */
class ReadKafkaEventsTest {
  private static final ReadKafkaEvents READ = ReadKafkaEvents.from("127.0.0.1:9092", "events");

  @Test
  void eachSettingNamesItselfTheBadValueAndWhatFits() {
    assertThat(
        List.of(
            refusal(() -> ReadKafkaEvents.from(" ", "events")),
            refusal(() -> ReadKafkaEvents.from("127.0.0.1:9092", null)),
            refusal(() -> READ.withConsumerGroup("")),
            refusal(() -> READ.withFormat(null)),
            refusal(() -> READ.withAllowedLateness(Duration.millis(-1))),
            refusal(() -> READ.withMaxRecords(0))),
        equalTo(
            List.of(
                "bootstrapServers must name Kafka brokers as HOST:PORT[,HOST:PORT...], got ' '",
                "topic must name a Kafka topic, got 'null'",
                "consumerGroup must name a consumer group, got ''",
                "format must be one of AUTO, JSON or AVRO, got null",
                "allowedLateness must be zero or more, got PT-0.001S",
                "maxRecords must be at least 1, got 0")));
  }

  @Test
  void aReadWithoutAConsumerGroupIsRefusedWhenApplied() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> Pipeline.create().apply(READ.withMaxRecords(5)));
    assertThat(
        e.getMessage(),
        equalTo(
            "ReadKafkaEvents of topic 'events' needs withConsumerGroup(GROUP): the group whose committed offsets a"
                + " new job starts from"));
  }

  private static String refusal(Executable setting) {
    return assertThrows(IllegalArgumentException.class, setting).getMessage();
  }
}
