package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.broker.BrokerPerTestClass;
import dev.clickstream.io.DurationOption;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Click counts from a real Kafka broker: out-of-order events within the bound are applied, events past the allowed
 * lateness and malformed records land in the dead-letter topic with their exact bytes, and the stored rows equal a
 * plain-Java computation over the applied events.
 */
class KafkaClickCountsTest {
  private static final long OUT_OF_ORDERNESS = 5_000;
  @RegisterExtension static final BrokerPerTestClass KAFKA = new BrokerPerTestClass();

  @AfterEach
  void closePools() {
    dev.clickstream.store.ConnectionPools.closeAll();
  }

  @Test
  void aBoundedReadOfATopicWithSeveralPartitionsFailsBeforeItStarts() throws Exception {
    KAFKA.broker().createTopic("two_partitions", 2);
    ClickstreamOptions options = PipelineOptionsFactory.as(ClickstreamOptions.class);
    options.setSource(EventSource.KAFKA);
    options.setBootstrapServers(KAFKA.broker().bootstrapServers());
    options.setTopic("two_partitions");
    options.setMaxRecords(1_000L);
    Pipeline pipeline = Pipeline.create(options);

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> pipeline.apply(EventInput.readKafka(options, "click-counts")));

    assertThat(e.getMessage(), equalTo(
        "--maxRecords reads a topic of one partition, and topic 'two_partitions' on " + KAFKA.broker().bootstrapServers()
            + " has 2: its partitions are read side by side, each to its own part of the 1000 records, and one"
            + " holding fewer than its part is waited on for ever. Leave out --maxRecords to read it unbounded (and"
            + " cancel the job once it has caught up), or copy its records to a topic of one partition."));
  }

  @ParameterizedTest(name = "{0} into {1}, allowed lateness {2} ms")
  @CsvSource({"DirectRunner, h2, 0", "FlinkRunner, postgresql, 3000"})
  void rowsAndDeadLettersEqualAnIndependentComputation(
      String runner, String dialect, long allowedLateness, @TempDir Path dir) throws Exception {
    String topic = "events_" + runner + "_" + dialect;
    String deadLetterTopic = topic + "_dlq";
    KAFKA.broker().createTopic(topic, 1);
    KafkaEventStream stream = new KafkaEventStream(21, 1_500, 10, 400, 9_000, OUT_OF_ORDERNESS, allowedLateness);
    // The stream exercises every path: bad records, too-late events, and late events within the allowed lateness.
    assertThat(List.of(stream.malformed > 0, stream.tooLate > 0, stream.lateButApplied > 0 == allowedLateness > 0),
        equalTo(List.of(true, true, true)));
    stream.produceTo(KAFKA.broker().bootstrapServers(), topic);

    FeaturePipelineOptions options = TestRunners.options(runner, FeaturePipelineOptions.class);
    options.setSource(EventSource.KAFKA);
    options.setBootstrapServers(KAFKA.broker().bootstrapServers());
    options.setTopic(topic);
    options.setDeadLetterTopic(deadLetterTopic);
    options.setMaxRecords((long) stream.messages.size());
    options.setMaxOutOfOrderness(DurationOption.parse(OUT_OF_ORDERNESS + "ms"));
    options.setAllowedLateness(DurationOption.parse(allowedLateness + "ms"));
    options.setOnlineStore(StoreFixtures.freshStoreUrl(dialect));
    options.setOfflineStore(dir.resolve("offline").toString());
    Pipeline pipeline = Pipeline.create(options);
    FeaturePipeline.build(pipeline, TestRunners.features(options, "click-counts"), () -> 5L);
    PipelineResult result = pipeline.run();
    assertThat(result.waitUntilFinish(), is(PipelineResult.State.DONE));

    assertThat(KafkaEventStream.storedClickCounts(options.getOnlineStore()), equalTo(stream.expectedClickCounts()));
    int deadLetters = stream.malformed + stream.tooLate;
    List<ConsumerRecord<byte[], byte[]>> letters =
        KafkaEventStream.readTopic(KAFKA.broker().bootstrapServers(), deadLetterTopic, deadLetters, Duration.ofSeconds(60));
    assertThat(letters.size(), is(deadLetters));
    Map<String, Long> byReason =
        letters.stream()
            .collect(Collectors.groupingBy(
                letter -> KafkaEventStream.header(letter, "reason").equals("late") ? "late" : "bad",
                TreeMap::new,
                Collectors.counting()));
    assertThat(byReason, equalTo(Map.of("bad", (long) stream.malformed, "late", (long) stream.tooLate)));
    for (ConsumerRecord<byte[], byte[]> letter : letters) {
      String source = KafkaEventStream.header(letter, "source");
      int offset = Integer.parseInt(source.substring(source.indexOf('@') + 1));
      assertThat(source, is(topic + "/0@" + offset));
      assertThat(source + " keeps the original bytes", Arrays.equals(letter.value(), stream.messages.get(offset)),
          is(true));
    }
    long read = PipelineCountersReader.counter(result, "ReadKafkaEvents", "records_read");
    long parsed = PipelineCountersReader.counter(result, "ParseEvents", "events_parsed");
    long bad = PipelineCountersReader.counter(result, "ParseEvents", "dead_letters");
    long late = PipelineCountersReader.counter(result, "EventTime", "events_too_late");
    assertThat(List.of(read, parsed + bad + late, bad, late),
        equalTo(List.of((long) stream.messages.size(), (long) stream.messages.size(), (long) stream.malformed,
            (long) stream.tooLate)));
  }
}
