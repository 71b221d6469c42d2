package dev.clickstream.io;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.ClickEventSchemas;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.io.kafka.KafkaTimestampType;
import org.apache.beam.sdk.io.kafka.TimestampPolicy.PartitionContext;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.KV;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;

class EventTimePolicyTest {
  private static final Duration OUT_OF_ORDERNESS = Duration.millis(1_000);
  private static final Duration IDLE_TIMEOUT = Duration.millis(10_000);
  private static final Duration MAX_FUTURE_SKEW = Duration.standardHours(1);
  private final long[] wallClock = {5_000_000};

  @Test
  void eventsAreStampedWithTheirOwnTimeUntilTheyFallBehindTheWatermarkLessTheLateness() {
    EventTimePolicy policy = policy(Duration.millis(500), Optional.empty());
    List<Long> stamps = new ArrayList<>();
    // max 10_000 -> W 9_000; 8_600 is late but within 500 ms; 8_499 is too late and stamped at W.
    for (long time : new long[] {10_000, 9_500, 8_600, 8_500, 8_499, 12_000, 10_999, 11_000}) {
      stamps.add(stamp(policy, event(time)));
    }
    assertThat(stamps, equalTo(List.of(10_000L, 9_500L, 8_600L, 8_500L, 9_000L, 12_000L, 10_999L, 11_000L)));
    assertThat(policy.getWatermark(context(5)), equalTo(new Instant(11_000)));
  }

  @Test
  void badRecordsDoNotMoveTheWatermarkAndAreStampedWithIt() {
    EventTimePolicy policy = policy(Duration.ZERO, Optional.empty());
    stamp(policy, event(10_000));
    // Valid JSON of an event a year ahead, but without a user: it must not drag the watermark forward.
    byte[] bad = "{\"event_id\":\"e\",\"event_type\":\"click\",\"timestamp\":40000000000}"
        .getBytes(StandardCharsets.UTF_8);
    assertThat(stamp(policy, bad), equalTo(9_000L));
    assertThat(stamp(policy, event(9_000)), equalTo(9_000L));
    assertThat(policy.getWatermark(context(0)), equalTo(new Instant(9_000)));
  }

  @Test
  void anEventFromTheFutureMovesNothingAndIsStampedBeforeItsOwnTime() {
    EventTimePolicy policy = policy(Duration.ZERO, Optional.empty());
    stamp(policy, event(10_000));
    long year9999 = 253_402_214_400_000L;
    assertThat(stamp(policy, event(year9999)), equalTo(9_000L));
    // Exactly the skew ahead of the clock is still accepted; a millisecond more is not.
    long bound = wallClock[0] + MAX_FUTURE_SKEW.getMillis();
    assertThat(stamp(policy, event(bound + 1)), equalTo(9_000L));
    assertThat(policy.getWatermark(context(0)), equalTo(new Instant(9_000)));
    // A later normal event is not late.
    assertThat(stamp(policy, event(10_500)), equalTo(10_500L));
    assertThat(stamp(policy, event(bound)), equalTo(bound));
    assertThat(policy.getWatermark(context(0)), equalTo(new Instant(bound - 1_000)));
  }

  @Test
  void anIdlePartitionFollowsTheWallClockOnceCaughtUpForTheIdleTimeout() {
    EventTimePolicy policy = policy(Duration.ZERO, Optional.empty());
    stamp(policy, event(100_000));
    wallClock[0] += 10_000;
    assertThat("backlog left: not idle", policy.getWatermark(context(3)), equalTo(new Instant(99_000)));
    assertThat("caught up for exactly the timeout", policy.getWatermark(context(0)), equalTo(new Instant(99_000)));
    wallClock[0] += 2_500;
    assertThat(policy.getWatermark(context(0)), equalTo(new Instant(101_500)));
    // The advanced watermark holds: an event behind it is now too late.
    assertThat(stamp(policy, event(101_000)), equalTo(101_500L));
    assertThat(stamp(policy, event(101_500)), equalTo(101_500L));
    assertThat(policy.getWatermark(context(0)), equalTo(new Instant(101_500)));
  }

  @Test
  void aPartitionThatNeverHeldARecordAdvancesToTheWallClockWhenIdle() {
    EventTimePolicy policy = policy(Duration.ZERO, Optional.empty());
    assertThat(policy.getWatermark(context(0)), equalTo(BoundedWindow.TIMESTAMP_MIN_VALUE));
    wallClock[0] += 10_000;
    assertThat(policy.getWatermark(context(0)), equalTo(new Instant(wallClock[0] - 1_000)));
  }

  @Test
  void aRestoredPolicyJudgesLatenessFromTheCheckpointedWatermark() {
    EventTimePolicy policy = policy(Duration.ZERO, Optional.of(new Instant(50_000)));
    assertThat(policy.getWatermark(context(5)), equalTo(new Instant(50_000)));
    assertThat(stamp(policy, event(49_999)), equalTo(50_000L));
    assertThat(stamp(policy, event(50_500)), equalTo(50_500L));
    assertThat(policy.getWatermark(context(5)), equalTo(new Instant(50_000)));
    assertThat(stamp(policy, event(52_000)), equalTo(52_000L));
    assertThat(policy.getWatermark(context(5)), equalTo(new Instant(51_000)));
  }

  @Test
  void aPartitionRestoredBeforeItHeldARecordStillAdvancesToTheWallClockWhenIdle() {
    EventTimePolicy policy = policy(Duration.ZERO, Optional.of(BoundedWindow.TIMESTAMP_MIN_VALUE));
    wallClock[0] += 10_000;
    assertThat(policy.getWatermark(context(0)), equalTo(new Instant(wallClock[0] - 1_000)));
  }

  @Test
  void aPolicyRebuiltFromItsStateJudgesTheRestOfThePartitionAsTheOriginalDoes() {
    // ReadKafkaPartitions checkpoints state() and rebuilds the policy from it for every call, so the two must agree
    // record for record, including after an idle advance, where the watermark alone would not tell the max.
    long[] times = {10_000, 9_000, 12_000, 8_000, 11_500, 30_000, 29_100, 28_400};
    EventTimePolicy original = policy(Duration.millis(500), Optional.empty());
    stamp(original, event(times[0]));
    wallClock[0] += 12_000;
    original.getWatermark(context(0));
    // Still idle 1 s later: W = 10_000 - 1_000 + 3_000. A copy that only knew W (KafkaIO's checkpoint) would take the
    // max to be W + 1_000 and answer 14_000.
    EventTimePolicy idleCopy =
        new EventTimePolicy(
            OUT_OF_ORDERNESS, Duration.millis(500), IDLE_TIMEOUT, MAX_FUTURE_SKEW, original.state(),
            () -> wallClock[0]);
    idleCopy.lastRecordAt(original.lastRecordAt());
    wallClock[0] += 1_000;
    assertThat(idleCopy.advance(0), equalTo(new Instant(12_000)));
    assertThat(original.getWatermark(context(0)), equalTo(new Instant(12_000)));
    List<Long> originalStamps = new ArrayList<>();
    List<Long> rebuiltStamps = new ArrayList<>();
    EventTimePolicy rebuilt = null;
    for (int i = 1; i < times.length; i++) {
      rebuilt =
          new EventTimePolicy(
              OUT_OF_ORDERNESS, Duration.millis(500), IDLE_TIMEOUT, MAX_FUTURE_SKEW,
              i == 1 ? original.state() : rebuilt.state(), () -> wallClock[0]);
      originalStamps.add(stamp(original, event(times[i])));
      rebuiltStamps.add(stamp(rebuilt, event(times[i])));
    }
    // W = 12_000 after the idle advance: 9_000 and 8_000 (behind W - 500) are too late and stamped with W, 11_500 is
    // exactly at the bound and applied; after 30_000, W = 29_000 and 28_400 is too late.
    assertThat(originalStamps, equalTo(List.of(12_000L, 12_000L, 12_000L, 11_500L, 30_000L, 29_100L, 29_000L)));
    assertThat(rebuiltStamps, equalTo(originalStamps));
    assertThat(rebuilt.state(), equalTo(original.state()));
    assertThat(EventTimePolicy.initialState(),
        equalTo(KV.of(Long.MIN_VALUE, BoundedWindow.TIMESTAMP_MIN_VALUE.getMillis())));
  }

  private EventTimePolicy policy(Duration allowedLateness, Optional<Instant> previousWatermark) {
    return new EventTimePolicy(
        OUT_OF_ORDERNESS, allowedLateness, IDLE_TIMEOUT, MAX_FUTURE_SKEW, previousWatermark, () -> wallClock[0]);
  }

  /** Stamps {@code value} as a reader does: decoded once as it is read, then given to the policy. */
  private static long stamp(EventTimePolicy policy, byte[] value) {
    KafkaRecord<byte[], DecodedMessage> record =
        new KafkaRecord<>("t", 0, 0, 0, KafkaTimestampType.CREATE_TIME, null, null,
            DecodedMessage.decode(value, ClickEventDecoder.Format.AUTO, ClickEventSchemas.compiled()));
    return policy.getTimestampForRecord(context(1), record).getMillis();
  }

  private static byte[] event(long timestamp) {
    return ClickEventDecoder.toAvro(
        ClickEvent.newBuilder()
            .setEventId("e" + timestamp)
            .setUserId("u1")
            .setEventType("click")
            .setTimestamp(timestamp)
            .build());
  }

  private static PartitionContext context(long backlog) {
    return new PartitionContext() {
      @Override
      public long getMessageBacklog() {
        return backlog;
      }

      @Override
      public Instant getBacklogCheckTime() {
        return Instant.now();
      }
    };
  }
}
