package dev.clickstream.io;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.broker.BrokerPerTestClass;
import dev.clickstream.broker.TopicWriter;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.ClickEventSchemas;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.splittabledofn.OffsetRangeTracker;
import org.apache.beam.sdk.values.KV;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The unbounded reader against a real broker, driven call by call as a runner drives it: what it reads is committed
 * to the consumer group only once the runner confirms that a checkpoint holds it.
 */
class ReadKafkaPartitionsTest {
  private static final String GROUP = "clickstream-commits";
  @RegisterExtension static final BrokerPerTestClass KAFKA = new BrokerPerTestClass();

  @Test
  void readPositionsAreCommittedOnlyAfterACheckpointHoldsThem() throws Exception {
    produceFive("commits");
    ReadKafkaPartitions.ReadPartitionFn fn = readFn(null);
    KV<String, Integer> partition = KV.of("commits", 0);
    fn.setup();
    RecordingFinalizer checkpoint = new RecordingFinalizer();
    try {
      OffsetRange start = fn.initialRestriction(partition);
      List<Long> offsets = new ArrayList<>();
      // Each call polls until a poll comes back empty; the runner resumes the rest of the restriction.
      long deadline = System.currentTimeMillis() + 10_000;
      while (offsets.size() < 5 && System.currentTimeMillis() < deadline) {
        call(fn, partition, new OffsetRange(start.getFrom() + offsets.size(), Long.MAX_VALUE), offsets, checkpoint);
      }
      // One more call after the commit interval: the old reader committed what it had read here.
      Thread.sleep(1_100);
      call(fn, partition, new OffsetRange(5, Long.MAX_VALUE), offsets, checkpoint);

      assertThat(List.of(start.getFrom(), offsets, committed()), equalTo(List.of(0L, List.of(0L, 1L, 2L, 3L, 4L), -1L)));

      checkpoint.completeCheckpoint();
      // The commit goes out with the reader's next polls, as the runner keeps resuming the partition.
      long committed = -1;
      for (long until = System.currentTimeMillis() + 10_000; committed < 0 && System.currentTimeMillis() < until; ) {
        call(fn, partition, new OffsetRange(5, Long.MAX_VALUE), offsets, checkpoint);
        committed = committed();
      }
      assertThat(committed, equalTo(5L));
    } finally {
      fn.teardown();
    }
  }

  @Test
  void aReadOfMaxRecordsEndsOnceItHasReadThemWhetherThePartitionHoldsMoreOrNoMore() throws Exception {
    produceFive("bounded");
    // Three of five: the read stops at the record past its end. All five: no record follows, so it must stop on its
    // own once it has claimed the last one, or it would poll for ever.
    assertThat(List.of(readBounded("bounded", 3), readBounded("bounded", 5)),
        equalTo(List.of(List.of(0L, 1L, 2L), List.of(0L, 1L, 2L, 3L, 4L))));
  }

  /** A topic of one partition holding five records, offsets 0 to 4. */
  private static void produceFive(String topic) throws Exception {
    KAFKA.broker().createTopic(topic, 1);
    List<byte[]> messages = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      messages.add(("{\"event_id\":\"e" + i + "\"}").getBytes(StandardCharsets.UTF_8));
    }
    TopicWriter.produce(KAFKA.broker().bootstrapServers(), topic, messages);
  }

  /** The reader of a run that reads {@code maxRecords} per partition, or without end when null. */
  private static ReadKafkaPartitions.ReadPartitionFn readFn(Long maxRecords) {
    return new ReadKafkaPartitions.ReadPartitionFn(
        consumerConfig(),
        DecodedMessage.deserializer(ClickEventDecoder.Format.AUTO, ClickEventSchemas.compiled()),
        EventTimePolicy.fromState(
            Duration.standardSeconds(30), Duration.ZERO, Duration.standardSeconds(10), Duration.standardHours(1)),
        maxRecords);
  }

  /** The offsets a read of {@code maxRecords} outputs, calling it as the runner does until it stops. */
  private static List<Long> readBounded(String topic, long maxRecords) throws Exception {
    ReadKafkaPartitions.ReadPartitionFn fn = readFn(maxRecords);
    KV<String, Integer> partition = KV.of(topic, 0);
    fn.setup();
    try {
      OffsetRangeTracker tracker = new OffsetRangeTracker(fn.initialRestriction(partition));
      List<Long> offsets = new ArrayList<>();
      // The first polls may come back empty while the consumer starts; the runner resumes until the read stops.
      long deadline = System.currentTimeMillis() + 10_000;
      while (call(fn, partition, tracker, offsets, new RecordingFinalizer()).shouldResume()) {
        if (System.currentTimeMillis() > deadline) {
          throw new AssertionError("the read of " + maxRecords + " records had not stopped after 10 s: " + offsets);
        }
      }
      tracker.checkDone();
      return offsets;
    } finally {
      fn.teardown();
    }
  }

  private static void call(
      ReadKafkaPartitions.ReadPartitionFn fn, KV<String, Integer> partition, OffsetRange restriction,
      List<Long> offsets, DoFn.BundleFinalizer finalizer) {
    call(fn, partition, new OffsetRangeTracker(restriction), offsets, finalizer);
  }

  private static DoFn.ProcessContinuation call(
      ReadKafkaPartitions.ReadPartitionFn fn, KV<String, Integer> partition, OffsetRangeTracker tracker,
      List<Long> offsets, DoFn.BundleFinalizer finalizer) {
    fn.newWatermarkEstimator(partition, EventTimePolicy.initialState());
    return fn.processElement(partition, tracker, new DoFn.OutputReceiver<>() {
      @Override
      public void output(KafkaRecord<byte[], DecodedMessage> record) {
        offsets.add(record.getOffset());
      }

      @Override
      public void outputWithTimestamp(KafkaRecord<byte[], DecodedMessage> record, Instant timestamp) {
        offsets.add(record.getOffset());
      }
    }, finalizer);
  }

  private static Map<String, Object> consumerConfig() {
    return Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, GROUP,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, org.apache.kafka.common.serialization.ByteArrayDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
        org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
  }

  /** The group's committed offset of partition 0, or -1. */
  private static long committed() throws Exception {
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers());
    try (Admin admin = Admin.create(properties)) {
      OffsetAndMetadata offset =
          admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS)
              .get(new TopicPartition("commits", 0));
      return offset == null ? -1 : offset.offset();
    }
  }

  /** The runner's side of bundle finalization: callbacks wait until a checkpoint completes. */
  private static final class RecordingFinalizer implements DoFn.BundleFinalizer {
    private final List<Callback> pending = new ArrayList<>();

    @Override
    public void afterBundleCommit(Instant callbackExpiry, Callback callback) {
      pending.add(callback);
    }

    void completeCheckpoint() throws Exception {
      for (Callback callback : pending) {
        callback.onBundleSuccess();
      }
      pending.clear();
    }
  }
}
