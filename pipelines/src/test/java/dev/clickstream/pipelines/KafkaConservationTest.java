package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.io.DurationOption;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 400,000 records through a real broker into every feature on embedded Flink: every record is either an applied
 * event or a dead letter, exactly, and the click counts equal a plain-Java computation.
 */
class KafkaConservationTest {
  private static final int RECORDS = 400_000;
  private static final long OUT_OF_ORDERNESS = 30_000;

  @Test
  void everyRecordIsAnAppliedEventOrADeadLetter(@TempDir Path dir) throws Exception {
    KafkaEventStream stream = new KafkaEventStream(41, RECORDS, 5_000, 4, 20_000, OUT_OF_ORDERNESS, 0);
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0)) {
      broker.createTopic("conservation", 1);
      stream.produceTo(broker.bootstrapServers(), "conservation");

      FeaturePipelineOptions options = TestRunners.options(TestRunners.FLINK, FeaturePipelineOptions.class);
      options.setSource(EventSource.KAFKA);
      options.setBootstrapServers(broker.bootstrapServers());
      options.setTopic("conservation");
      options.setDeadLetterTopic("conservation_dlq");
      options.setMaxRecords((long) RECORDS);
      options.setMaxOutOfOrderness(DurationOption.parse(OUT_OF_ORDERNESS + "ms"));
      options.setOnlineStore(StoreFixtures.freshStoreUrl("postgresql"));
      options.setOfflineStore(dir.resolve("offline").toString());
      Pipeline pipeline = Pipeline.create(options);
      FeaturePipeline.build(pipeline, TestRunners.features(options, "all"), () -> 5L);
      PipelineResult result = pipeline.run();
      assertThat(result.waitUntilFinish(), is(PipelineResult.State.DONE));

      long parsed = PipelineCountersReader.counter(result, "ParseEvents", "events_parsed");
      long bad = PipelineCountersReader.counter(result, "ParseEvents", "dead_letters");
      long late = PipelineCountersReader.counter(result, "EventTime", "events_too_late");
      long applied = RECORDS - stream.malformed - stream.tooLate;
      assertThat(List.of(PipelineCountersReader.counter(result, "ReadKafkaEvents", "records_read"), parsed, bad, late),
          equalTo(List.of((long) RECORDS, applied, (long) stream.malformed, (long) stream.tooLate)));
      int deadLetters = stream.malformed + stream.tooLate;
      assertThat(
          KafkaEventStream.readTopic(broker.bootstrapServers(), "conservation_dlq", deadLetters, Duration.ofSeconds(60))
              .size(),
          is(deadLetters));
      assertThat(KafkaEventStream.storedClickCounts(options.getOnlineStore()), equalTo(stream.expectedClickCounts()));
    } finally {
      dev.clickstream.store.ConnectionPools.closeAll();
    }
  }
}
