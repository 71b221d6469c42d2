package dev.clickstream.io;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.ClickEventDecoder;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.io.kafka.TimestampPolicy;
import org.apache.beam.sdk.io.kafka.TimestampPolicyFactory;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.kafka.common.TopicPartition;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Event time and the watermark of one Kafka partition, from the events' own {@code timestamp}s, with bounded
 * out-of-orderness; and the one place that decides which events are too late.
 *
 * <p><b>Watermark.</b> {@code W = (greatest event timestamp read so far) - maxOutOfOrderness}, never moving back.
 * When the partition has been caught up and silent for {@code idleTimeout}, {@code W} also advances with the wall
 * clock from then on, so an idle partition does not hold every window open; a partition that has never held a
 * record advances to {@code now - maxOutOfOrderness}.
 *
 * <p><b>Too late.</b> A valid event whose timestamp is earlier than {@code W - allowedLateness}, with {@code W} as it
 * was when the event was read, is too late: it is stamped with {@code W} instead of its own time, which is how
 * {@link ReadKafkaEvents} recognizes it and sends it to the dead letters. Every other event is stamped with its own
 * time. Because downstream watermarks never pass the source's, an event accepted here is never dropped later by a
 * window or a timer: within the allowed lateness it always updates its features. The decision depends only on the
 * order of records within the partition (and on idleness), so replaying a partition gives the same dead letters.
 *
 * <p>The policy reads each record's event as {@link DecodedMessage} decoded it when the record was read; it decodes
 * nothing itself. Records that are not valid events do not move {@code W}; they are stamped with {@code W} and become
 * dead letters downstream.
 *
 * <p><b>From the future.</b> An event dated more than {@code maxFutureSkew} after the wall clock moves nothing either:
 * it is stamped with {@code W}, earlier than its own time (where a too-late event is stamped later than its own),
 * and {@link ReadKafkaEvents} sends it to the dead letters with reason {@code future}. One event dated 9999 would
 * otherwise move {@code W} to 9999 and make every later event too late.
 */
final class EventTimePolicy extends TimestampPolicy<byte[], DecodedMessage> {
  private final long maxOutOfOrdernessMillis;
  private final long allowedLatenessMillis;
  private final long idleTimeoutMillis;
  private final Duration maxFutureSkew;
  private final LongSupplier wallClock;

  /** The greatest valid event timestamp read (or implied by a restored watermark); {@link #NONE} before any. */
  private long maxEventTime;
  private long watermark;
  private long lastRecordAt;

  private static final long NONE = Long.MIN_VALUE;

  EventTimePolicy(
      Duration maxOutOfOrderness,
      Duration allowedLateness,
      Duration idleTimeout,
      Duration maxFutureSkew,
      Optional<Instant> previousWatermark,
      LongSupplier wallClock) {
    this(maxOutOfOrderness, allowedLateness, idleTimeout, maxFutureSkew,
        restoredState(previousWatermark, maxOutOfOrderness), wallClock);
  }

  /** A policy that resumes from {@link #state()}; the idle clock restarts now, as after any restore. */
  EventTimePolicy(
      Duration maxOutOfOrderness,
      Duration allowedLateness,
      Duration idleTimeout,
      Duration maxFutureSkew,
      KV<Long, Long> state,
      LongSupplier wallClock) {
    this.maxFutureSkew = maxFutureSkew;
    this.maxOutOfOrdernessMillis = maxOutOfOrderness.getMillis();
    this.allowedLatenessMillis = allowedLateness.getMillis();
    this.idleTimeoutMillis = idleTimeout.getMillis();
    this.wallClock = wallClock;
    this.maxEventTime = state.getKey();
    this.watermark = state.getValue();
    this.lastRecordAt = wallClock.getAsLong();
  }

  /** The state of a partition that has not been read yet. */
  static KV<Long, Long> initialState() {
    return KV.of(NONE, BoundedWindow.TIMESTAMP_MIN_VALUE.getMillis());
  }

  /** Everything that decides lateness and the watermark from here on: the max event time and the watermark. */
  KV<Long, Long> state() {
    return KV.of(maxEventTime, watermark);
  }

  /**
   * KafkaIO checkpoints only the watermark. Restored from it, lateness is judged as before the checkpoint: a record
   * moves the watermark exactly when it would have. A partition checkpointed before it held a record or went idle is
   * still at the minimum, as if new.
   */
  private static KV<Long, Long> restoredState(Optional<Instant> previousWatermark, Duration maxOutOfOrderness) {
    long watermark = previousWatermark.map(Instant::getMillis).orElse(BoundedWindow.TIMESTAMP_MIN_VALUE.getMillis());
    return watermark > BoundedWindow.TIMESTAMP_MIN_VALUE.getMillis()
        ? KV.of(watermark + maxOutOfOrderness.getMillis(), watermark)
        : initialState();
  }

  /** Restores the idle clock of a policy rebuilt from its {@link #state()} within the same worker. */
  void lastRecordAt(long wallClockMillis) {
    lastRecordAt = wallClockMillis;
  }

  long lastRecordAt() {
    return lastRecordAt;
  }

  /** The factory KafkaIO calls for each partition it reads, at start and on restore from a checkpoint. */
  static TimestampPolicyFactory<byte[], DecodedMessage> factory(
      Duration maxOutOfOrderness,
      Duration allowedLateness,
      Duration idleTimeout,
      Duration maxFutureSkew) {
    SerializableFunction<KV<Long, Long>, EventTimePolicy> fromState =
        fromState(maxOutOfOrderness, allowedLateness, idleTimeout, maxFutureSkew);
    return (TopicPartition partition, Optional<Instant> previousWatermark) ->
        fromState.apply(restoredState(previousWatermark, maxOutOfOrderness));
  }

  /** What {@link ReadKafkaPartitions} calls for each read of a partition, with the state it checkpointed. */
  static SerializableFunction<KV<Long, Long>, EventTimePolicy> fromState(
      Duration maxOutOfOrderness,
      Duration allowedLateness,
      Duration idleTimeout,
      Duration maxFutureSkew) {
    return state ->
        new EventTimePolicy(
            maxOutOfOrderness, allowedLateness, idleTimeout, maxFutureSkew, state, System::currentTimeMillis);
  }

  @Override
  public Instant getTimestampForRecord(PartitionContext context, KafkaRecord<byte[], DecodedMessage> record) {
    return stamp(record.getKV().getValue().event);
  }

  @Override
  public Instant getWatermark(PartitionContext context) {
    return advance(context.getMessageBacklog());
  }

  /**
   * The timestamp of the next record read from the partition, from the event it holds; {@code event} is null when
   * the record is not a valid event.
   */
  Instant stamp(ClickEvent event) {
    lastRecordAt = wallClock.getAsLong();
    if (event == null) {
      return new Instant(watermark);
    }
    long eventTime = event.getTimestamp();
    if (ClickEventDecoder.isInFuture(eventTime, lastRecordAt, maxFutureSkew)
        || eventTime < watermark - allowedLatenessMillis) {
      return new Instant(watermark);
    }
    if (eventTime > maxEventTime) {
      maxEventTime = eventTime;
      watermark = Math.max(watermark, maxEventTime - maxOutOfOrdernessMillis);
    }
    return new Instant(eventTime);
  }

  /** The watermark, advanced with the wall clock if the partition is caught up ({@code backlog} 0) and idle. */
  Instant advance(long backlog) {
    long now = wallClock.getAsLong();
    long silentFor = now - lastRecordAt;
    if (backlog == 0 && silentFor >= idleTimeoutMillis) {
      long idleWatermark =
          maxEventTime != NONE
              ? maxEventTime - maxOutOfOrdernessMillis + (silentFor - idleTimeoutMillis)
              : now - maxOutOfOrdernessMillis;
      watermark = Math.max(watermark, Math.min(idleWatermark, BoundedWindow.TIMESTAMP_MAX_VALUE.getMillis()));
    }
    return new Instant(watermark);
  }
}
