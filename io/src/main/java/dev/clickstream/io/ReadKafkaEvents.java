package dev.clickstream.pipelines;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.ClickEventSchemas;
import dev.clickstream.transforms.DeadLetters;
import dev.clickstream.transforms.InvalidEventException;
import dev.clickstream.transforms.ParseEvents;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.kafka.KafkaIO;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Reads click events from a Kafka topic: valid events under {@link ParseEvents#EVENTS}, each at its own event time
 * ({@link EventTimePolicy}), and everything else under {@link ParseEvents#DEAD_LETTERS} with its exact bytes, the
 * reason and its {@code topic/partition@offset}. An event dated more than {@code --maxFutureSkew} after the clock is
 * one of them, with reason {@code future}, and moves no watermark ({@link EventTimePolicy}).
 *
 * <p>The readers only move bytes: decoding happens in this transform, because a deserializer that throws would fail the
 * job (KafkaIO's bad-record handler is ignored by the classic Flink runner). Every record read is counted once: {@code
 * ReadKafkaEvents/records_read = ParseEvents/events_parsed + ParseEvents/dead_letters + EventTime/events_too_late}.
 *
 * <p>An unbounded read ({@code --maxRecords} unset) goes through {@link ReadKafkaPartitions}, whose positions and
 * event-time state are checkpointed with the job and restore exactly once from a checkpoint or a savepoint; it commits
 * to the consumer group, where a new job starts, only the positions a completed checkpoint holds. A bounded read uses
 * KafkaIO and commits as its checkpoints are finalized. Neither lets the consumer auto-commit. Store writes are idempotent upserts, so replaying from a checkpoint rewrites the
 * same rows.
 */
public final class ReadKafkaEvents extends PTransform<PBegin, PCollectionTuple> {
  static final String STAGE = "ReadKafkaEvents";
  static final String LATE_STAGE = "EventTime";

  private final String bootstrapServers;
  private final String topic;
  private final String consumerGroup;
  private final ClickEventDecoder.Format format;
  private final ClickEventSchemas writerSchemas;
  private final Duration maxOutOfOrderness;
  private final Duration allowedLateness;
  private final Duration idleTimeout;
  private final Duration maxFutureSkew;
  private final Long maxRecords;

  private ReadKafkaEvents(
      String bootstrapServers,
      String topic,
      String consumerGroup,
      ClickEventDecoder.Format format,
      ClickEventSchemas writerSchemas,
      Duration maxOutOfOrderness,
      Duration allowedLateness,
      Duration idleTimeout,
      Duration maxFutureSkew,
      Long maxRecords) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.consumerGroup = consumerGroup;
    this.format = format;
    this.writerSchemas = writerSchemas;
    this.maxOutOfOrderness = maxOutOfOrderness;
    this.allowedLateness = allowedLateness;
    this.idleTimeout = idleTimeout;
    this.maxFutureSkew = maxFutureSkew;
    this.maxRecords = maxRecords;
  }

  /** The source a pipeline's options describe; {@code pipeline} names its default consumer group. */
  public static ReadKafkaEvents from(ClickstreamOptions options, String pipeline) {
    if (options.getBootstrapServers() == null || options.getBootstrapServers().isBlank()) {
      throw new IllegalArgumentException("--source=kafka needs --bootstrapServers=HOST:PORT");
    }
    if (options.getTopic() == null || options.getTopic().isBlank()) {
      throw new IllegalArgumentException("--source=kafka needs --topic=TOPIC");
    }
    Long maxRecords = options.getMaxRecords();
    if (maxRecords != null && maxRecords < 1) {
      throw new IllegalArgumentException("--maxRecords must be at least 1, got " + maxRecords);
    }
    if (maxRecords == null) {
      shortenFlinkBundles(options.as(FlinkPipelineOptions.class));
    }
    return new ReadKafkaEvents(
        options.getBootstrapServers(),
        options.getTopic(),
        ClickstreamOptions.consumerGroup(options, pipeline),
        ClickEventDecoder.Format.parse(options.getInputFormat()),
        ClickEventSchemas.fromOption(options.getWriterSchemas()),
        DurationOption.parse("maxOutOfOrderness", options.getMaxOutOfOrderness()),
        DurationOption.parse("allowedLateness", options.getAllowedLateness()),
        DurationOption.parse("idleTimeout", options.getIdleTimeout()),
        DurationOption.parse("maxFutureSkew", options.getMaxFutureSkew()),
        maxRecords);
  }

  /** Flink's default bundle time, which {@link #shortenFlinkBundles} replaces. */
  static final long FLINK_DEFAULT_BUNDLE_MILLIS = 1_000;

  /** What {@link #shortenFlinkBundles} sets: windows close and rows land within tens of milliseconds. */
  static final long STREAMING_BUNDLE_MILLIS = 20;

  /**
   * Beam's Flink runner emits an operator's output watermark only between bundles, and closes a bundle when the bundle
   * time has passed since the last one closed; a checkpoint closes one too. {@link ReadKafkaPartitions} keeps a bundle
   * open almost all the time, so with checkpoints more often than the default 1 s bundle the watermark never left
   * the reader (FlinkClusterIT: 500 ms checkpoints, no window ever closed). Unless {@code --maxBundleTimeMills} says
   * otherwise, unbounded reads on Flink use 20 ms bundles, which also keep event-to-servable latency low.
   */
  private static void shortenFlinkBundles(FlinkPipelineOptions flink) {
    if (flink.getMaxBundleTimeMills() == FLINK_DEFAULT_BUNDLE_MILLIS) {
      flink.setMaxBundleTimeMills(STREAMING_BUNDLE_MILLIS);
    }
  }

  @Override
  public PCollectionTuple expand(PBegin begin) {
    PCollection<KafkaRecord<byte[], byte[]>> records =
        maxRecords == null
            ? begin.apply(
                "ReadFromKafka",
                new ReadKafkaPartitions(
                    bootstrapServers,
                    topic,
                    consumerSettings(),
                    EventTimePolicy.fromState(
                        format, writerSchemas, maxOutOfOrderness, allowedLateness, idleTimeout, maxFutureSkew)))
            : begin.apply("ReadFromKafka", boundedRead());
    PCollectionTuple result =
        records.apply(
            "DecodeEvents",
            ParDo.of(new DecodeFn(format, writerSchemas, maxOutOfOrderness, allowedLateness, maxFutureSkew))
                .withOutputTags(ParseEvents.EVENTS, TupleTagList.of(ParseEvents.DEAD_LETTERS)));
    result.get(ParseEvents.EVENTS).setCoder(AvroCoder.of(ClickEvent.class));
    result.get(ParseEvents.DEAD_LETTERS).setCoder(AvroCoder.of(DeadLetter.class));
    return result;
  }

  /**
   * The consumer settings both readers use: the group whose offsets a new run starts from, the earliest offset when
   * it has none, and commits left to the reader.
   */
  private Map<String, Object> consumerSettings() {
    return Map.of(
        ConsumerConfig.GROUP_ID_CONFIG, consumerGroup,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
  }

  /** The first {@code maxRecords} records, with KafkaIO: a bounded read has no savepoint to resume from. */
  private PTransform<PBegin, PCollection<KafkaRecord<byte[], byte[]>>> boundedRead() {
    checkOnePartition();
    KafkaIO.Read<byte[], byte[]> read =
        KafkaIO.<byte[], byte[]>read()
            .withBootstrapServers(bootstrapServers)
            .withTopic(topic)
            .withKeyDeserializer(ByteArrayDeserializer.class)
            .withValueDeserializer(ByteArrayDeserializer.class)
            .withConsumerConfigUpdates(consumerSettings())
            .withTimestampPolicyFactory(
                EventTimePolicy.factory(
                    format, writerSchemas, maxOutOfOrderness, allowedLateness, idleTimeout, maxFutureSkew))
            .commitOffsetsInFinalize();
    return read.withMaxNumRecords(maxRecords);
  }

  /** How long the graph waits for the topic's partitions before leaving the broker's errors to the read itself. */
  private static final java.time.Duration PARTITIONS_TIMEOUT = java.time.Duration.ofSeconds(10);

  /**
   * Fails when the topic has more than one partition: Beam's bounded read of an unbounded source gives each
   * partition an equal share of {@code maxRecords} and waits for ever on a partition that holds fewer records than
   * its share. A broker that cannot be asked is left to the read, which reports it.
   */
  private void checkOnePartition() {
    Map<String, Object> config = new HashMap<>(consumerSettings());
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    // Asking must not create the topic.
    config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    List<PartitionInfo> partitions;
    try (Consumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      partitions = consumer.partitionsFor(topic, PARTITIONS_TIMEOUT);
    } catch (KafkaException e) {
      return;
    }
    if (partitions != null && partitions.size() > 1) {
      throw new IllegalArgumentException(
          "--maxRecords reads a topic of one partition, and topic '" + topic + "' on " + bootstrapServers + " has "
              + partitions.size() + ": a bounded Kafka read gives each partition an equal share of the "
              + maxRecords + " records and waits for ever on a partition holding fewer. Leave out --maxRecords to"
              + " read it unbounded (and cancel the job once it has caught up), or copy its records to a topic of"
              + " one partition.");
    }
  }

  /** Decodes each message, and sorts out the events {@link EventTimePolicy} found too late. */
  static final class DecodeFn extends DoFn<KafkaRecord<byte[], byte[]>, ClickEvent> {
    private final ClickEventDecoder.Format format;
    private final ClickEventSchemas writerSchemas;
    private final Duration maxOutOfOrderness;
    private final Duration allowedLateness;
    private final Duration maxFutureSkew;

    private final Counter recordsRead = Metrics.counter(STAGE, "records_read");
    private final Counter parsed = Metrics.counter(ParseEvents.STAGE, "events_parsed");
    private final Counter deadLettered = Metrics.counter(ParseEvents.STAGE, "dead_letters");
    private final Counter tooLate = Metrics.counter(LATE_STAGE, "events_too_late");

    DecodeFn(
        ClickEventDecoder.Format format,
        ClickEventSchemas writerSchemas,
        Duration maxOutOfOrderness,
        Duration allowedLateness,
        Duration maxFutureSkew) {
      this.format = format;
      this.writerSchemas = writerSchemas;
      this.maxOutOfOrderness = maxOutOfOrderness;
      this.allowedLateness = allowedLateness;
      this.maxFutureSkew = maxFutureSkew;
    }

    @ProcessElement
    public void processElement(
        @Element KafkaRecord<byte[], byte[]> record, @Timestamp Instant stamped, MultiOutputReceiver out) {
      recordsRead.inc();
      byte[] payload = record.getKV().getValue();
      String source = record.getTopic() + "/" + record.getPartition() + "@" + record.getOffset();
      ClickEvent event;
      try {
        event = ClickEventDecoder.decode(payload, format, writerSchemas);
      } catch (InvalidEventException e) {
        deadLettered.inc();
        Metrics.counter(ParseEvents.STAGE, "dead_letters_" + e.reason).inc();
        out.get(ParseEvents.DEAD_LETTERS)
            .output(DeadLetters.ofMessage(ParseEvents.STAGE, e.reason, e.getMessage(), payload, source));
        return;
      }
      // EventTimePolicy stamps an event from the future with the watermark, which is earlier than its own time; the
      // policy decided it with the clock as the record was read, so the same clock is not asked again here.
      if (stamped.getMillis() < event.getTimestamp()) {
        deadLettered.inc();
        Metrics.counter(ParseEvents.STAGE, "dead_letters_" + ClickEventDecoder.FUTURE).inc();
        out.get(ParseEvents.DEAD_LETTERS)
            .output(DeadLetters.ofMessage(ParseEvents.STAGE, ClickEventDecoder.FUTURE,
                ClickEventDecoder.futureDetail(event.getTimestamp(), System.currentTimeMillis(), maxFutureSkew),
                payload, source));
        return;
      }
      // EventTimePolicy stamps a too-late event with the partition's watermark, which is later than its own time.
      if (stamped.getMillis() != event.getTimestamp()) {
        tooLate.inc();
        out.get(ParseEvents.DEAD_LETTERS)
            .output(DeadLetters.ofMessage(LATE_STAGE, TooLateEvents.REASON, lateDetail(event, stamped), payload, source));
        return;
      }
      parsed.inc();
      out.get(ParseEvents.EVENTS).output(event);
    }

    private String lateDetail(ClickEvent event, Instant watermark) {
      return "event time " + new Instant(event.getTimestamp()) + " is more than the allowed lateness ("
          + allowedLateness + ") behind the partition's watermark " + watermark
          + " (the latest event time read before it less --maxOutOfOrderness=" + maxOutOfOrderness
          + "); raise --allowedLateness or --maxOutOfOrderness to apply such events";
    }
  }
}
