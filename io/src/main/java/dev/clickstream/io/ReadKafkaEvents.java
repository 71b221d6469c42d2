package dev.clickstream.io;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.ClickEventSchemas;
import dev.clickstream.transforms.DeadLetters;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.TooLateEvents;
import java.io.Serializable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.kafka.DeserializerProvider;
import org.apache.beam.sdk.io.kafka.KafkaIO;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.options.StreamingOptions;
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
 * reason and its {@code topic/partition@offset}. An event dated more than {@link #withMaxFutureSkew max future skew}
 * after the clock is one of them, with reason {@code future}, and moves no watermark ({@link EventTimePolicy}).
 *
 * <p>Each message is decoded once, as it is read ({@link DecodedMessage}): the event-time policy stamps it from the
 * decoded event and this transform sorts it from the same. The decoding never throws, because a deserializer that
 * throws would fail the job (KafkaIO's bad-record handler is ignored by the classic Flink runner). Every record read
 * is counted once: {@code ReadKafkaEvents/records_read = ParseEvents/events_parsed + ParseEvents/dead_letters +
 * EventTime/events_too_late}.
 *
 * <p>A streaming run reads through {@link ReadKafkaPartitions}, whose positions and event-time state are checkpointed
 * with the job and restore exactly once from a checkpoint or a savepoint; it commits to the consumer group, where a
 * new job starts, only the positions a completed checkpoint holds. With {@link #withMaxRecords} it is the same read
 * with an end. A batch run ({@code --streaming=false}) of {@link #withMaxRecords} uses KafkaIO's bounded read, which
 * commits as its checkpoints are finalized. Neither lets the consumer auto-commit. Store writes are idempotent
 * upserts, so replaying from a checkpoint rewrites the same rows.
 */
public final class ReadKafkaEvents extends PTransform<PBegin, PCollectionTuple> {
  public static final String STAGE = "ReadKafkaEvents";
  public static final String LATE_STAGE = "EventTime";

  /** The topic the pipelines read, the generator writes to and {@code ./clickstream kafka} creates by default. */
  public static final String DEFAULT_TOPIC = "clickstream_events";

  /** How far behind a partition's latest event time its events may arrive unless {@link #withMaxOutOfOrderness}. */
  public static final Duration DEFAULT_MAX_OUT_OF_ORDERNESS = Duration.standardSeconds(30);

  /** How long a caught-up partition stays silent before its watermark follows the clock, unless set otherwise. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.standardSeconds(10);

  private final Settings settings;

  private ReadKafkaEvents(Settings settings) {
    this.settings = settings;
  }

  /**
   * Reads {@code topic} from the brokers at {@code bootstrapServers} without end, events in any {@link
   * ClickEventDecoder.Format format} written with the compiled schema, no allowed lateness, the default
   * out-of-orderness, idle timeout and future skew. A consumer group ({@link #withConsumerGroup}) is required.
   */
  public static ReadKafkaEvents from(String bootstrapServers, String topic) {
    Settings settings = new Settings();
    settings.bootstrapServers = Arguments.named("bootstrapServers", bootstrapServers, BROKERS);
    settings.topic = Arguments.named("topic", topic, "a Kafka topic");
    return new ReadKafkaEvents(settings);
  }

  /** What {@code bootstrapServers} names. */
  static final String BROKERS = "Kafka brokers as HOST:PORT[,HOST:PORT...]";

  /** The group whose committed offsets a new job starts from, and which this job commits to after checkpoints. */
  public ReadKafkaEvents withConsumerGroup(String consumerGroup) {
    return with(copy -> copy.consumerGroup = Arguments.named("consumerGroup", consumerGroup, "a consumer group"));
  }

  /** How message bytes are encoded; {@link ClickEventDecoder.Format#AUTO} unless set. */
  public ReadKafkaEvents withFormat(ClickEventDecoder.Format format) {
    return with(copy -> copy.format = Arguments.present("format", format, "one of AUTO, JSON or AVRO"));
  }

  /** The Avro schemas producers write single-object messages with; the compiled schema unless set. */
  public ReadKafkaEvents withWriterSchemas(ClickEventSchemas writerSchemas) {
    return with(copy -> copy.writerSchemas =
        Arguments.present("writerSchemas", writerSchemas, "a set of schemas, such as ClickEventSchemas.compiled()"));
  }

  /** How far behind the latest event time read from a partition its events may arrive before the watermark. */
  public ReadKafkaEvents withMaxOutOfOrderness(Duration maxOutOfOrderness) {
    return with(copy -> copy.maxOutOfOrderness = Arguments.notNegative("maxOutOfOrderness", maxOutOfOrderness));
  }

  /** How far behind its partition's watermark an event may be and still be read; later ones are dead letters. */
  public ReadKafkaEvents withAllowedLateness(Duration allowedLateness) {
    return with(copy -> copy.allowedLateness = Arguments.notNegative("allowedLateness", allowedLateness));
  }

  /** How long a caught-up partition stays silent before its watermark advances with the wall clock. */
  public ReadKafkaEvents withIdleTimeout(Duration idleTimeout) {
    return with(copy -> copy.idleTimeout = Arguments.notNegative("idleTimeout", idleTimeout));
  }

  /** Events dated more than this after the clock are dead letters with reason future, and move no watermark. */
  public ReadKafkaEvents withMaxFutureSkew(Duration maxFutureSkew) {
    return with(copy -> copy.maxFutureSkew = Arguments.notNegative("maxFutureSkew", maxFutureSkew));
  }

  /**
   * Reads only the first {@code maxRecords} records, of a topic of one partition, and ends. Without it the read never
   * ends.
   */
  public ReadKafkaEvents withMaxRecords(long maxRecords) {
    if (maxRecords < 1) {
      throw new IllegalArgumentException("maxRecords must be at least 1, got " + maxRecords);
    }
    return with(copy -> copy.maxRecords = maxRecords);
  }

  /** A copy of this read with {@code change} made to its settings (which check their own values). */
  private ReadKafkaEvents with(java.util.function.Consumer<Settings> change) {
    Settings copy = settings.copy();
    change.accept(copy);
    return new ReadKafkaEvents(copy);
  }

  /** The read's configuration; a transform's settings are never changed once it holds them. */
  private static final class Settings implements Serializable, Cloneable {
    String bootstrapServers;
    String topic;
    String consumerGroup;
    ClickEventDecoder.Format format = ClickEventDecoder.Format.AUTO;
    ClickEventSchemas writerSchemas = ClickEventSchemas.compiled();
    Duration maxOutOfOrderness = DEFAULT_MAX_OUT_OF_ORDERNESS;
    Duration allowedLateness = Duration.ZERO;
    Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
    Duration maxFutureSkew = ParseEvents.DEFAULT_MAX_FUTURE_SKEW;
    Long maxRecords;

    Settings copy() {
      try {
        return (Settings) clone();
      } catch (CloneNotSupportedException e) {
        throw new AssertionError("Settings is Cloneable", e);
      }
    }
  }

  @Override
  public PCollectionTuple expand(PBegin begin) {
    if (settings.consumerGroup == null) {
      throw new IllegalStateException(
          "ReadKafkaEvents of topic '" + settings.topic + "' needs withConsumerGroup(GROUP): the group whose"
              + " committed offsets a new job starts from");
    }
    DeserializerProvider<DecodedMessage> decoder =
        DecodedMessage.deserializer(settings.format, settings.writerSchemas);
    if (settings.maxRecords != null) {
      checkOnePartition();
    }
    boolean streaming = begin.getPipeline().getOptions().as(StreamingOptions.class).isStreaming();
    PCollection<KafkaRecord<byte[], DecodedMessage>> records =
        settings.maxRecords != null && !streaming
            ? begin.apply("ReadFromKafka", boundedRead(decoder))
            : begin.apply(
                "ReadFromKafka",
                new ReadKafkaPartitions(
                    settings.bootstrapServers,
                    settings.topic,
                    consumerSettings(),
                    decoder,
                    EventTimePolicy.fromState(
                        settings.maxOutOfOrderness,
                        settings.allowedLateness,
                        settings.idleTimeout,
                        settings.maxFutureSkew),
                    settings.maxRecords));
    PCollectionTuple result =
        records.apply(
            "SortEvents",
            ParDo.of(new SortFn(settings.maxOutOfOrderness, settings.allowedLateness, settings.maxFutureSkew))
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
        ConsumerConfig.GROUP_ID_CONFIG, settings.consumerGroup,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
  }

  /**
   * The first {@code maxRecords} records of a batch run, with KafkaIO: a bounded PCollection, which the runner may
   * process in batch mode. A bounded read has no savepoint to resume from.
   */
  private PTransform<PBegin, PCollection<KafkaRecord<byte[], DecodedMessage>>> boundedRead(
      DeserializerProvider<DecodedMessage> decoder) {
    KafkaIO.Read<byte[], DecodedMessage> read =
        KafkaIO.<byte[], DecodedMessage>read()
            .withBootstrapServers(settings.bootstrapServers)
            .withTopic(settings.topic)
            .withKeyDeserializer(ByteArrayDeserializer.class)
            .withValueDeserializerProviderAndCoder(decoder, DecodedMessage.CODER)
            .withConsumerConfigUpdates(consumerSettings())
            .withTimestampPolicyFactory(
                EventTimePolicy.factory(
                    settings.maxOutOfOrderness,
                    settings.allowedLateness,
                    settings.idleTimeout,
                    settings.maxFutureSkew))
            .commitOffsetsInFinalize();
    return read.withMaxNumRecords(settings.maxRecords);
  }

  /** How long the graph waits for the topic's partitions before leaving the broker's errors to the read itself. */
  private static final java.time.Duration PARTITIONS_TIMEOUT = java.time.Duration.ofSeconds(10);

  /**
   * Fails when the topic has more than one partition: the partitions are read side by side, each to its own part of
   * {@code maxRecords} (an equal share in a batch run, all of them in a streaming one), and a partition holding fewer
   * records than its part is waited on for ever. A broker that cannot be asked is left to the read, which reports it.
   */
  private void checkOnePartition() {
    Map<String, Object> config = new HashMap<>(consumerSettings());
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers);
    // Asking must not create the topic.
    config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    List<PartitionInfo> partitions;
    try (Consumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      partitions = consumer.partitionsFor(settings.topic, PARTITIONS_TIMEOUT);
    } catch (KafkaException e) {
      return;
    }
    if (partitions != null && partitions.size() > 1) {
      throw new IllegalArgumentException(
          "--maxRecords reads a topic of one partition, and topic '" + settings.topic + "' on "
              + settings.bootstrapServers + " has " + partitions.size() + ": its partitions are read side by side,"
              + " each to its own part of the " + settings.maxRecords + " records, and one holding fewer than its"
              + " part is waited on for ever. Leave out --maxRecords to read it unbounded (and cancel the job once it"
              + " has caught up), or copy its records to a topic of one partition.");
    }
  }

  /**
   * Sorts each decoded message into an event or a dead letter, and sorts out the events {@link EventTimePolicy} found
   * too late or from the future; it decodes nothing (see {@link DecodedMessage}).
   */
  static final class SortFn extends DoFn<KafkaRecord<byte[], DecodedMessage>, ClickEvent> {
    private final Duration maxOutOfOrderness;
    private final Duration allowedLateness;
    private final Duration maxFutureSkew;

    private final Counter recordsRead = Metrics.counter(STAGE, "records_read");
    private final Counter parsed = Metrics.counter(ParseEvents.STAGE, "events_parsed");
    private final Counter deadLettered = Metrics.counter(ParseEvents.STAGE, "dead_letters");
    private final Counter tooLate = Metrics.counter(LATE_STAGE, "events_too_late");

    SortFn(Duration maxOutOfOrderness, Duration allowedLateness, Duration maxFutureSkew) {
      this.maxOutOfOrderness = maxOutOfOrderness;
      this.allowedLateness = allowedLateness;
      this.maxFutureSkew = maxFutureSkew;
    }

    @ProcessElement
    public void processElement(
        @Element KafkaRecord<byte[], DecodedMessage> record, @Timestamp Instant stamped, MultiOutputReceiver out) {
      recordsRead.inc();
      DecodedMessage message = record.getKV().getValue();
      byte[] payload = message.payload;
      String source = record.getTopic() + "/" + record.getPartition() + "@" + record.getOffset();
      ClickEvent event = message.event;
      if (event == null) {
        deadLettered.inc();
        Metrics.counter(ParseEvents.STAGE, "dead_letters_" + message.reason).inc();
        out.get(ParseEvents.DEAD_LETTERS)
            .output(DeadLetters.ofMessage(ParseEvents.STAGE, message.reason, message.detail, payload, source));
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
            .output(
                DeadLetters.ofMessage(LATE_STAGE, TooLateEvents.REASON, lateDetail(event, stamped), payload, source));
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
