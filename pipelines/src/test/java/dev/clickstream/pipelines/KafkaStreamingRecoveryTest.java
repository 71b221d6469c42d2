package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;

import dev.clickstream.broker.BrokerPerTestClass;
import dev.clickstream.io.DurationOption;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.store.TcpProxy;
import dev.clickstream.transforms.ParseEvents;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Streaming click counts on embedded Flink with checkpoints, while events keep arriving: a failed job that restarts
 * from its last checkpoint, a broker restart and a database outage lose nothing and count nothing twice. The store must end equal to
 * a plain-Java computation over the applied events, and every bad or too-late record must be in the dead-letter
 * topic (at least once).
 */
class KafkaStreamingRecoveryTest {
  private static final long OUT_OF_ORDERNESS = 5_000;
  private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(120);
  @RegisterExtension static final BrokerPerTestClass KAFKA = new BrokerPerTestClass();

  /** Counts events through {@link FailOnceFn}, across restarts: the JVM is shared with the embedded cluster. */
  private static final AtomicLong EVENTS_SEEN = new AtomicLong();
  private static final AtomicBoolean FAILED = new AtomicBoolean();
  /** Set once a checkpoint holds the first half of the stream: the failure must come after one, to restore from. */
  private static final AtomicBoolean ARMED = new AtomicBoolean();

  @AfterEach
  void closePools() {
    dev.clickstream.store.ConnectionPools.closeAll();
  }

  @Test
  void aJobThatFailsMidStreamRecoversFromItsCheckpointWithExactRows() throws Exception {
    EVENTS_SEEN.set(0);
    FAILED.set(false);
    ARMED.set(false);
    KafkaEventStream stream = new KafkaEventStream(31, 6_000, 40, 300, OUT_OF_ORDERNESS, OUT_OF_ORDERNESS, 0);
    long failAfter = 2_500;
    runWhileProducing("failure", stream, StoreFixtures.freshStoreUrl("postgresql"), failAfter, () -> {
      // Offsets are committed once a checkpoint holds them: this one holds the first five of ten slices.
      try {
        assertThat(committedWithin("recovery-failure", "recovery_failure", 3_000), greaterThanOrEqualTo(3_000L));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      ARMED.set(true);
    });
    assertThat("the job failed once and recovered", FAILED.get(), is(true));
    // Restarting from scratch would read the events before the failure twice; a checkpoint skips most of them.
    long events = stream.messages.size() - stream.malformed - stream.tooLate;
    assertThat("events replayed after the restore", EVENTS_SEEN.get() - events, lessThan(failAfter / 2));
  }

  @Test
  void aBrokerRestartMidStreamLosesNothing() throws Exception {
    FAILED.set(true); // no injected failure
    KafkaEventStream stream = new KafkaEventStream(32, 6_000, 40, 300, OUT_OF_ORDERNESS, OUT_OF_ORDERNESS, 0);
    runWhileProducing("restart", stream, StoreFixtures.freshStoreUrl("postgresql"), Long.MAX_VALUE, () -> {
      try {
        KAFKA.broker().restartBroker();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  @Test
  void aStoreOutageMidStreamLosesNothing() throws Exception {
    FAILED.set(true); // no injected failure
    KafkaEventStream stream = new KafkaEventStream(33, 6_000, 40, 300, OUT_OF_ORDERNESS, OUT_OF_ORDERNESS, 0);
    String url = StoreFixtures.freshStoreUrl("postgresql");
    // The database stays up for the other tests; the pipeline's connections to it go through a proxy that is cut.
    try (TcpProxy proxy = TcpProxy.toServerOf(url, 5432)) {
      runWhileProducing("outage", stream, proxy.rewrite(url), Long.MAX_VALUE, () -> {
        try {
          proxy.cut();
          Thread.sleep(4_000);
          proxy.restore();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
    }
  }

  /**
   * Runs the click counts on streaming Flink while {@code stream} is produced in ten slices; {@code midStream} runs
   * after the fifth. Waits until the store equals the expected rows, then cancels the job.
   */
  private static void runWhileProducing(
      String name, KafkaEventStream stream, String storeUrl, long failAfterEvents, Runnable midStream)
      throws Exception {
    String topic = "recovery_" + name;
    KAFKA.broker().createTopic(topic, 1);
    FeaturePipelineOptions options = TestRunners.options(TestRunners.FLINK, FeaturePipelineOptions.class);
    options.setSource(EventSource.KAFKA);
    options.setBootstrapServers(KAFKA.broker().bootstrapServers());
    options.setTopic(topic);
    options.setDeadLetterTopic(topic + "_dlq");
    options.setConsumerGroup("recovery-" + name);
    options.setMaxOutOfOrderness(DurationOption.parse(OUT_OF_ORDERNESS + "ms"));
    options.setOnlineStore(storeUrl);
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    flink.setStreaming(true);
    flink.setAttachedMode(false);
    flink.setCheckpointingInterval(300L);
    flink.setNumberOfExecutionRetries(3);
    flink.setExecutionRetryDelay(200L);

    Pipeline pipeline = Pipeline.create(options);
    PCollectionTuple parsed = EventInput.readAndParse(pipeline, options, "click-counts");
    PCollection<ClickEvent> events =
        EventInput.stamped(parsed, options).apply("FailOnce", ParDo.of(new FailOnceFn(failAfterEvents)));
    FeaturePipeline.Outputs outputs = FeaturePipeline.buildFrom(events, options, () -> 5L,
        FeatureSelection.of(dev.clickstream.features.FeatureDefinitions.REGISTRY, List.of("click-counts"), options.getCounter()));
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTERS)).and(outputs.deadLetters)
            .apply("AllDeadLetters", Flatten.pCollections());
    EventInput.writeDeadLetters(deadLetters, options, "click-counts");
    PipelineResult result = pipeline.run();
    try {
      int slices = 10;
      int perSlice = (stream.messages.size() + slices - 1) / slices;
      for (int slice = 0; slice < slices; slice++) {
        List<byte[]> part =
            stream.messages.subList(slice * perSlice, Math.min(stream.messages.size(), (slice + 1) * perSlice));
        KafkaEventStream.produce(KAFKA.broker().bootstrapServers(), topic, part);
        if (slice == slices / 2) {
          midStream.run();
        }
        Thread.sleep(400);
      }
      Map<String, List<Object>> expected = stream.expectedClickCounts();
      Map<String, List<Object>> stored = Map.of();
      long deadline = System.nanoTime() + SETTLE_TIMEOUT.toNanos();
      while (System.nanoTime() < deadline && !(stored = KafkaEventStream.storedClickCounts(options.getOnlineStore())).equals(expected)) {
        Thread.sleep(500);
      }
      assertThat(stored, equalTo(expected));
      // A position is committed once a checkpoint holds it: soon every record's.
      assertThat(committedWithin("recovery-" + name, topic, stream.messages.size()), is((long) stream.messages.size()));
    } finally {
      result.cancel();
    }

    int deadLetterCount = stream.malformed + stream.tooLate;
    List<ConsumerRecord<byte[], byte[]>> letters =
        KafkaEventStream.readTopic(KAFKA.broker().bootstrapServers(), topic + "_dlq", deadLetterCount, Duration.ofSeconds(30));
    Set<String> sources = new TreeSet<>();
    letters.forEach(letter -> sources.add(KafkaEventStream.header(letter, "source")));
    assertThat("every bad or too-late record, at least once", sources.size(), is(deadLetterCount));
    assertThat(letters.size(), greaterThanOrEqualTo(deadLetterCount));
  }

  /** The group's committed offset of partition 0 once it reaches {@code expected}, or as it is after 60 s. */
  private static long committedWithin(String group, String topic, long expected) throws Exception {
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers());
    try (Admin admin = Admin.create(properties)) {
      long committed = -1;
      for (long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
          committed < expected && System.nanoTime() < deadline; ) {
        OffsetAndMetadata offset = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
            .get(10, TimeUnit.SECONDS).get(new TopicPartition(topic, 0));
        committed = offset == null ? -1 : offset.offset();
        Thread.sleep(200);
      }
      return committed;
    }
  }

  /** Fails the job once, after {@code failAfter} events and once armed; passes everything through. */
  static final class FailOnceFn extends DoFn<ClickEvent, ClickEvent> {
    private final long failAfter;

    FailOnceFn(long failAfter) {
      this.failAfter = failAfter;
    }

    @ProcessElement
    public void processElement(@Element ClickEvent event, OutputReceiver<ClickEvent> out) {
      if (EVENTS_SEEN.incrementAndGet() >= failAfter && ARMED.get() && FAILED.compareAndSet(false, true)) {
        throw new IllegalStateException("injected failure after " + failAfter + " events");
      }
      out.output(event);
    }
  }
}
