package dev.clickstream.io;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.broker.TopicWriter;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.DeadLetters;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.PipelineCounters;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The audit's probe through a real broker: one event dated 9999-12-31 among ordinary ones. It is a dead letter with
 * reason future, and it moves no watermark: the events after it are applied, not dead-lettered as late.
 */
class KafkaFutureEventsTest {
  /** 2024-03-01T12:00:00Z: long past, so every ordinary event passes the bound against the clock. */
  private static final long NOON = 1_709_294_400_000L;
  private static final long YEAR_9999 = 253_402_214_400_000L;

  @Test
  void anEventFromTheYear9999IsADeadLetterAndTheEventsAfterItAreNotLate() throws Exception {
    ClickEvent before = event("e1", NOON);
    ClickEvent future = event("e2", YEAR_9999);
    ClickEvent after = event("e3", NOON + 100);
    ClickEvent later = event("e4", NOON + 200);
    byte[] futureJson =
        ("{\"event_id\":\"e2\",\"user_id\":\"u1\",\"event_type\":\"click\",\"timestamp\":" + YEAR_9999 + "}")
            .getBytes(StandardCharsets.UTF_8);
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0)) {
      broker.createTopic("future", 1);
      TopicWriter.produce(
          broker.bootstrapServers(),
          "future",
          List.of(ClickEventDecoder.toAvro(before), futureJson, ClickEventDecoder.toAvro(future),
              ClickEventDecoder.toAvro(after), ClickEventDecoder.toAvro(later)));

      Pipeline pipeline = Pipeline.create();
      PCollectionTuple read =
          pipeline.apply(
              ReadKafkaEvents.from(broker.bootstrapServers(), "future")
                  .withConsumerGroup("clickstream-future-test")
                  .withMaxRecords(5)
                  .withMaxOutOfOrderness(Duration.standardSeconds(1))
                  .withAllowedLateness(Duration.ZERO));

      PAssert.that(read.get(ParseEvents.EVENTS)).containsInAnyOrder(before, after, later);
      PAssert.that(
              read.get(ParseEvents.DEAD_LETTERS)
                  .apply(
                      MapElements.into(TypeDescriptors.strings())
                          .via((DeadLetter letter) -> letter.getStage() + " " + letter.getReason() + " "
                              + letter.getSource() + " " + base64(DeadLetters.rawBytes(letter)))))
          .containsInAnyOrder(
              "ParseEvents future future/0@1 " + base64(futureJson),
              "ParseEvents future future/0@2 " + base64(ClickEventDecoder.toAvro(future)));
      PipelineResult result = pipeline.run();
      assertThat(result.waitUntilFinish(), is(PipelineResult.State.DONE));

      assertThat(
          PipelineCounters.values(result, "ReadKafkaEvents/records_read", "ParseEvents/events_parsed",
              "ParseEvents/dead_letters_future", "EventTime/events_too_late"),
          equalTo(List.of(5L, 3L, 2L, 0L)));
    }
  }

  private static String base64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  private static ClickEvent event(String id, long timestamp) {
    return ClickEvent.newBuilder().setEventId(id).setUserId("u1").setEventType("click").setTimestamp(timestamp).build();
  }
}
