package dev.clickstream.io;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.coders.BigEndianLongCoder;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.io.kafka.DeserializerProvider;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.io.kafka.KafkaRecordCoder;
import org.apache.beam.sdk.io.kafka.KafkaTimestampType;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.splittabledofn.OffsetRangeTracker;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.transforms.splittabledofn.WatermarkEstimator;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every partition of a Kafka topic without end, or to a given number of records each, each at its own event time
 * ({@link EventTimePolicy}), with a splittable DoFn: a partition's read position and its event-time state are the
 * DoFn's restriction and watermark state, which every Beam runner checkpoints with the rest of the pipeline's state.
 * A read with an end stops once it has claimed its last record, which releases its hold on the watermark.
 *
 * <p>Why not KafkaIO's unbounded read. On Beam 2.62's Flink runner it goes through Flink's split enumerator, which
 * splits the source anew whenever a job starts from a savepoint (or fails over globally) while the restored readers
 * resume their own splits: two readers of every partition, and every event after the savepoint counted twice
 * (apache/beam#31313, fixed after 2.62). KafkaIO's splittable read avoids that, but the Flink runner persists its
 * position only after 10,000 records or 10 seconds of one uninterrupted read, so a checkpoint can hold no progress at
 * all and the watermark advances in 10-second steps. This DoFn ends each call after one poll, so every checkpoint
 * holds the position of the last poll, and the watermark moves with every poll.
 *
 * <p>A position is committed to the consumer group only after a checkpoint holds it (Beam's bundle finalization,
 * which the Flink runner calls when a checkpoint completes; at most once a second per partition): committed
 * positions are where a new job without a savepoint starts, and what {@code lag} is measured against. A position
 * committed as it was read would let a restart without a savepoint skip the records still in open windows and state.
 * Without checkpoints nothing is committed. Exactly-once results across failures come from the checkpoints, not from
 * the commits.
 */
final class ReadKafkaPartitions extends PTransform<PBegin, PCollection<KafkaRecord<byte[], DecodedMessage>>> {
  private static final Logger LOG = LoggerFactory.getLogger(ReadKafkaPartitions.class);

  private final Map<String, Object> consumerConfig;
  private final String topic;
  private final DeserializerProvider<DecodedMessage> decoder;
  private final SerializableFunction<KV<Long, Long>, EventTimePolicy> policyFromState;
  /** How many records each partition's read takes before it ends; null reads without end. */
  private final Long maxRecordsPerPartition;

  /**
   * Reads {@code topic} with {@code consumerSettings} (group, offset reset, auto-commit), decodes each value once
   * with {@code decoder} ({@link DecodedMessage#deserializer}), and takes each partition's event time from {@code
   * policyFromState} ({@link EventTimePolicy#fromState}); each partition's read ends after {@code
   * maxRecordsPerPartition} records from where it starts, or never when that is null.
   */
  ReadKafkaPartitions(
      String bootstrapServers,
      String topic,
      Map<String, Object> consumerSettings,
      DeserializerProvider<DecodedMessage> decoder,
      SerializableFunction<KV<Long, Long>, EventTimePolicy> policyFromState,
      Long maxRecordsPerPartition) {
    Map<String, Object> config = new HashMap<>(consumerSettings);
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    this.consumerConfig = Map.copyOf(config);
    this.topic = topic;
    this.decoder = decoder;
    this.policyFromState = policyFromState;
    this.maxRecordsPerPartition = maxRecordsPerPartition;
  }

  @Override
  public PCollection<KafkaRecord<byte[], DecodedMessage>> expand(PBegin begin) {
    return begin
        .apply("Start", Impulse.create())
        .apply("ListPartitions", ParDo.of(new ListPartitionsFn(consumerConfig, topic)))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), VarIntCoder.of()))
        .apply(
            "ReadPartitions",
            ParDo.of(new ReadPartitionFn(consumerConfig, decoder, policyFromState, maxRecordsPerPartition)))
        // Keys are often absent, and a tombstone has no value: it becomes a dead letter, not a coder failure.
        .setCoder(KafkaRecordCoder.of(NullableCoder.of(ByteArrayCoder.of()), DecodedMessage.CODER));
  }

  /** The topic's partitions as they are when the job starts, as {@code (topic, partition)}. */
  static final class ListPartitionsFn extends DoFn<byte[], KV<String, Integer>> {
    private final Map<String, Object> consumerConfig;
    private final String topic;

    ListPartitionsFn(Map<String, Object> consumerConfig, String topic) {
      this.consumerConfig = consumerConfig;
      this.topic = topic;
    }

    @ProcessElement
    public void processElement(OutputReceiver<KV<String, Integer>> out) {
      List<PartitionInfo> partitions;
      try (Consumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerConfig)) {
        partitions = consumer.partitionsFor(topic, java.time.Duration.ofSeconds(60));
      }
      if (partitions == null || partitions.isEmpty()) {
        throw new IllegalStateException(
            "topic '" + topic + "' does not exist on " + consumerConfig.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG)
                + ": check --topic and --bootstrapServers, or create the topic first (./clickstream run, generate"
                + " --kafka and replay create theirs)");
      }
      for (PartitionInfo partition : partitions) {
        out.output(KV.of(topic, partition.partition()));
      }
    }
  }

  /** Reads one partition per element; see {@link ReadKafkaPartitions}. */
  @DoFn.UnboundedPerElement
  static final class ReadPartitionFn extends DoFn<KV<String, Integer>, KafkaRecord<byte[], DecodedMessage>> {
    /** How long one poll waits for records. */
    private static final java.time.Duration POLL_TIMEOUT = java.time.Duration.ofMillis(100);

    /** How long one call keeps polling while records arrive, before it yields to checkpoints and other partitions. */
    private static final long CALL_MILLIS = 100;

    /**
     * The pause before the next call. Beam's Flink runner emits the output watermark only between bundles, and a call
     * resumed at once would open the next bundle before the watermark goes out: the watermark would never move.
     */
    private static final Duration RESUME_DELAY = Duration.millis(10);

    private static final long COMMIT_INTERVAL_MILLIS = 1_000;

    /**
     * How long a position waits for the checkpoint that holds it before a newer position is offered: a checkpoint that
     * fails or is abandoned never confirms its positions.
     */
    private static final long CONFIRMATION_RETRY_MILLIS = 1_000;

    /** How long the runner keeps a position's confirmation; Flink confirms at the next completed checkpoint. */
    private static final Duration CONFIRMATION_EXPIRY = Duration.standardHours(1);

    private final Map<String, Object> consumerConfig;
    private final DeserializerProvider<DecodedMessage> decoder;
    private final SerializableFunction<KV<Long, Long>, EventTimePolicy> policyFromState;
    private final Long maxRecords;

    /** This worker's open partitions; a partition's calls all run on the worker that holds its restriction. */
    private transient Map<TopicPartition, PartitionReader> readers;

    ReadPartitionFn(
        Map<String, Object> consumerConfig,
        DeserializerProvider<DecodedMessage> decoder,
        SerializableFunction<KV<Long, Long>, EventTimePolicy> policyFromState,
        Long maxRecords) {
      this.consumerConfig = consumerConfig;
      this.decoder = decoder;
      this.policyFromState = policyFromState;
      this.maxRecords = maxRecords;
    }

    @Setup
    public void setup() {
      readers = new HashMap<>();
    }

    @Teardown
    public void teardown() {
      readers.values().forEach(reader -> reader.consumer.close(java.time.Duration.ofSeconds(5)));
      readers.clear();
    }

    /** Where a partition is first read from: the consumer group's committed position, else the earliest record. */
    @GetInitialRestriction
    public OffsetRange initialRestriction(@Element KV<String, Integer> partition) {
      TopicPartition topicPartition = new TopicPartition(partition.getKey(), partition.getValue());
      try (Consumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerConfig)) {
        OffsetAndMetadata committed = consumer.committed(Set.of(topicPartition)).get(topicPartition);
        long start =
            committed != null
                ? committed.offset()
                : consumer.beginningOffsets(Set.of(topicPartition)).get(topicPartition);
        LOG.info("Reading {} from offset {} ({})", topicPartition, start, committed != null ? "committed" : "earliest");
        return new OffsetRange(start, maxRecords == null ? Long.MAX_VALUE : start + maxRecords);
      }
    }

    @GetRestrictionCoder
    public Coder<OffsetRange> restrictionCoder() {
      return new OffsetRange.Coder();
    }

    @NewTracker
    public OffsetRangeTracker newTracker(@Restriction OffsetRange restriction) {
      return new OffsetRangeTracker(restriction);
    }

    @GetInitialWatermarkEstimatorState
    public KV<Long, Long> initialWatermarkState() {
      return EventTimePolicy.initialState();
    }

    @GetWatermarkEstimatorStateCoder
    public Coder<KV<Long, Long>> watermarkStateCoder() {
      return KvCoder.of(BigEndianLongCoder.of(), BigEndianLongCoder.of());
    }

    /**
     * The partition's {@link EventTimePolicy}, rebuilt from its checkpointed state for each call. Its watermark is the
     * DoFn's output watermark, and its state is what the runner checkpoints with the remaining restriction.
     */
    @NewWatermarkEstimator
    public PolicyWatermark newWatermarkEstimator(
        @Element KV<String, Integer> partition, @WatermarkEstimatorState KV<Long, Long> state) {
      EventTimePolicy policy = policyFromState.apply(state);
      PartitionReader reader = reader(new TopicPartition(partition.getKey(), partition.getValue()));
      if (reader.lastRecordAt != null) {
        policy.lastRecordAt(reader.lastRecordAt);
      }
      reader.policy = policy;
      return new PolicyWatermark(policy);
    }

    @ProcessElement
    public ProcessContinuation processElement(
        @Element KV<String, Integer> partition,
        RestrictionTracker<OffsetRange, Long> tracker,
        OutputReceiver<KafkaRecord<byte[], DecodedMessage>> out,
        BundleFinalizer bundleFinalizer) {
      TopicPartition topicPartition = new TopicPartition(partition.getKey(), partition.getValue());
      PartitionReader reader = reader(topicPartition);
      EventTimePolicy policy = reader.policy;
      if (policy == null) {
        throw new IllegalStateException(
            "the runner processed " + topicPartition + " before creating its watermark estimator");
      }
      long from = tracker.currentRestriction().getFrom();
      long to = tracker.currentRestriction().getTo();
      if (reader.nextOffset == null || reader.nextOffset != from) {
        reader.consumer.seek(topicPartition, from);
      }
      reader.nextOffset = from;
      reader.commitCheckpointed(topicPartition);

      long deadline = System.currentTimeMillis() + CALL_MILLIS;
      List<ConsumerRecord<byte[], DecodedMessage>> records;
      do {
        records = reader.consumer.poll(POLL_TIMEOUT).records(topicPartition);
        for (ConsumerRecord<byte[], DecodedMessage> record : records) {
          // Claiming and stamping are one step to the watermark state the runner may checkpoint from another thread.
          synchronized (policy) {
            if (!tracker.tryClaim(record.offset())) {
              // The runner split the restriction here; the consumer is past this record, so the next call seeks.
              reader.nextOffset = null;
              reader.lastRecordAt = policy.lastRecordAt();
              return ProcessContinuation.stop();
            }
            out.outputWithTimestamp(kafkaRecord(record), policy.stamp(record.value().event));
          }
          reader.nextOffset = record.offset() + 1;
        }
      } while (!records.isEmpty() && System.currentTimeMillis() < deadline);
      reader.offerForCommit(reader.nextOffset, bundleFinalizer);
      if (reader.nextOffset >= to) {
        // A read of maxRecords has claimed its last record: the restriction is done, and so is the watermark hold.
        reader.lastRecordAt = policy.lastRecordAt();
        return ProcessContinuation.stop();
      }
      OptionalLong lag = reader.consumer.currentLag(topicPartition);
      synchronized (policy) {
        policy.advance(lag.orElse(-1));
      }
      reader.lastRecordAt = policy.lastRecordAt();
      return ProcessContinuation.resume().withResumeDelay(RESUME_DELAY);
    }

    private PartitionReader reader(TopicPartition topicPartition) {
      return readers.computeIfAbsent(
          topicPartition,
          tp -> new PartitionReader(consumerConfig, decoder.getDeserializer(consumerConfig, false), tp));
    }

    private static KafkaRecord<byte[], DecodedMessage> kafkaRecord(ConsumerRecord<byte[], DecodedMessage> record) {
      return new KafkaRecord<>(
          record.topic(),
          record.partition(),
          record.offset(),
          record.timestamp(),
          KafkaTimestampType.forOrdinal(record.timestampType().ordinal()),
          record.headers(),
          record.key(),
          record.value());
    }
  }

  /** One partition's consumer on this worker, and what survives between calls without being checkpointed. */
  private static final class PartitionReader {
    final Consumer<byte[], DecodedMessage> consumer;
    /** The offset the consumer will return next, if known; a call seeks only when its restriction starts elsewhere. */
    Long nextOffset;
    /** The wall-clock time the partition last held a record, for idleness; restarts with the worker. */
    Long lastRecordAt;
    EventTimePolicy policy;
    private long committed = -1;
    private long committedAt;
    /** The greatest position a completed checkpoint holds; set by the runner's thread that confirms checkpoints. */
    private final AtomicLong checkpointed = new AtomicLong(-1);
    private long offered = -1;
    private long offeredAt;

    PartitionReader(
        Map<String, Object> consumerConfig, Deserializer<DecodedMessage> decoder, TopicPartition topicPartition) {
      consumer = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(), decoder);
      consumer.assign(Set.of(topicPartition));
    }

    /**
     * Asks the runner to confirm {@code position} once a checkpoint holds it, unless an earlier offer is still
     * waiting (one offer at a time keeps the runner's list of confirmations short between checkpoints).
     */
    void offerForCommit(long position, DoFn.BundleFinalizer bundleFinalizer) {
      long now = System.currentTimeMillis();
      boolean waiting = offered > checkpointed.get() && now - offeredAt < ReadPartitionFn.CONFIRMATION_RETRY_MILLIS;
      if (position <= offered || waiting) {
        return;
      }
      offered = position;
      offeredAt = now;
      bundleFinalizer.afterBundleCommit(
          Instant.now().plus(ReadPartitionFn.CONFIRMATION_EXPIRY),
          () -> checkpointed.accumulateAndGet(position, Math::max));
    }

    /** Commits the position the last completed checkpoint holds; the consumer is used only on the reading thread. */
    void commitCheckpointed(TopicPartition topicPartition) {
      long offset = checkpointed.get();
      long now = System.currentTimeMillis();
      if (offset < 0 || offset == committed || now - committedAt < ReadPartitionFn.COMMIT_INTERVAL_MILLIS) {
        return;
      }
      committedAt = now;
      consumer.commitAsync(
          Map.of(topicPartition, new OffsetAndMetadata(offset)),
          (offsets, error) -> {
            if (error == null) {
              committed = offset;
            } else {
              LOG.warn("Could not commit offset {} of {}, will retry: {}", offset, topicPartition, error.toString());
            }
          });
    }
  }

  /** The watermark and checkpointed state of a partition's {@link EventTimePolicy}. */
  static final class PolicyWatermark implements WatermarkEstimator<KV<Long, Long>> {
    private final EventTimePolicy policy;

    PolicyWatermark(EventTimePolicy policy) {
      this.policy = policy;
    }

    @Override
    public Instant currentWatermark() {
      synchronized (policy) {
        return new Instant(policy.state().getValue());
      }
    }

    @Override
    public KV<Long, Long> getState() {
      synchronized (policy) {
        return policy.state();
      }
    }
  }
}
