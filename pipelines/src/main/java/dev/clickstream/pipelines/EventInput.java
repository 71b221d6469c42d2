package dev.clickstream.pipelines;

import dev.clickstream.io.ReadEventRecords;
import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.io.WriteDeadLettersToKafka;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.ClickEventSchemas;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.WriteDeadLetters;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;

/**
 * The ends every pipeline shares, from its options: read the events from files or Kafka, parse them, stamp each with
 * its own time; and write the dead letters back where the events came from (a file, or the dead-letter topic). The
 * readers and writers themselves are in {@code dev.clickstream.io}; this class turns options into their settings.
 */
public final class EventInput {
  /** The step that reads Kafka: its operators carry this name on Flink (the demo waits for them to set up). */
  public static final String KAFKA_STEP = "ReadKafkaEvents";

  private EventInput() {}

  /**
   * Valid events under {@link ParseEvents#EVENTS}, rejected records (and damaged files) under {@link
   * ParseEvents#DEAD_LETTERS}.
   *
   * @param pipelineName names the default consumer group of a Kafka source
   */
  public static PCollectionTuple readAndParse(Pipeline pipeline, ClickstreamOptions options, String pipelineName) {
    if (ClickstreamOptions.readsKafka(options)) {
      return pipeline.apply(KAFKA_STEP, readKafka(options, pipelineName));
    }
    return pipeline.apply(
        "ReadEvents",
        ReadEventRecords.from(options.getInput())
            .withFormat(ReadEventRecords.resolveFormat(options.getInput(), options.getInputFormat()))
            .withMaxFutureSkew(options.getMaxFutureSkew().toDuration()));
  }

  /**
   * The Kafka source {@code options} describe; {@code pipelineName} names its default consumer group. An unbounded
   * read on Flink gets short bundles unless {@code --maxBundleTimeMills} says otherwise ({@link #shortenFlinkBundles}).
   */
  public static ReadKafkaEvents readKafka(ClickstreamOptions options, String pipelineName) {
    required(options.getBootstrapServers(), "--source=kafka needs --bootstrapServers=HOST:PORT");
    required(options.getTopic(), "--source=kafka needs --topic=TOPIC");
    ReadKafkaEvents read =
        ReadKafkaEvents.from(options.getBootstrapServers(), options.getTopic())
            .withConsumerGroup(ClickstreamOptions.consumerGroup(options, pipelineName))
            .withFormat(options.getInputFormat())
            .withWriterSchemas(ClickEventSchemas.fromOption(options.getWriterSchemas()))
            .withMaxOutOfOrderness(options.getMaxOutOfOrderness().toDuration())
            .withAllowedLateness(options.getAllowedLateness().toDuration())
            .withIdleTimeout(options.getIdleTimeout().toDuration())
            .withMaxFutureSkew(options.getMaxFutureSkew().toDuration());
    Long maxRecords = options.getMaxRecords();
    if (maxRecords != null) {
      return read.withMaxRecords(maxRecords);
    }
    shortenFlinkBundles(options.as(FlinkPipelineOptions.class));
    return read;
  }

  /** Flink's default bundle time, which {@link #shortenFlinkBundles} replaces. */
  static final long FLINK_DEFAULT_BUNDLE_MILLIS = 1_000;

  /**
   * What {@link #shortenFlinkBundles} sets: windows close and rows land within a few hundred milliseconds. Shorter
   * bundles are fresher but cost CPU in every operator: each checks its bundle every half bundle time.
   */
  public static final long STREAMING_BUNDLE_MILLIS = 100;

  /**
   * Beam's Flink runner emits an operator's output watermark only between bundles, and closes a bundle when the bundle
   * time has passed since the last one closed; a checkpoint closes one too. The unbounded Kafka reader keeps a bundle
   * open almost all the time, so with checkpoints more often than the default 1 s bundle the watermark never left
   * the reader (FlinkClusterIT: 500 ms checkpoints, no window ever closed). Unless {@code --maxBundleTimeMills} says
   * otherwise, unbounded reads on Flink use {@value #STREAMING_BUNDLE_MILLIS} ms bundles, which also keep
   * event-to-servable latency low.
   */
  private static void shortenFlinkBundles(FlinkPipelineOptions flink) {
    if (flink.getMaxBundleTimeMills() == FLINK_DEFAULT_BUNDLE_MILLIS) {
      flink.setMaxBundleTimeMills(STREAMING_BUNDLE_MILLIS);
    }
  }

  /** The valid events of {@code parsed}, each at its own event time (a Kafka source stamps them as it reads). */
  public static PCollection<ClickEvent> stamped(PCollectionTuple parsed, ClickstreamOptions options) {
    PCollection<ClickEvent> events = parsed.get(ParseEvents.EVENTS);
    return ClickstreamOptions.readsKafka(options)
        ? events
        : events.apply("AssignEventTime", AssignEventTime.fromEventTimestamp());
  }

  /** To the dead-letter topic for a Kafka source, else to {@code --deadLetter} (default per pipeline). */
  public static void writeDeadLetters(
      PCollection<DeadLetter> deadLetters, ClickstreamOptions options, String pipelineName) {
    if (ClickstreamOptions.readsKafka(options)) {
      required(options.getDeadLetterTopic(), "--deadLetterTopic must name a Kafka topic");
      deadLetters.apply(
          "WriteDeadLetters",
          WriteDeadLettersToKafka.to(options.getBootstrapServers(), options.getDeadLetterTopic()));
    } else {
      deadLetters.apply(
          "WriteDeadLetters", WriteDeadLetters.toFile(ClickstreamOptions.deadLetterPath(options, pipelineName)));
    }
  }

  /** Fails with {@code message} when an option the source needs is unset or blank. */
  private static void required(String option, String message) {
    if (option == null || option.isBlank()) {
      throw new IllegalArgumentException(message);
    }
  }
}
