package dev.clickstream.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;

import dev.clickstream.features.DimensionDefinitions;
import dev.clickstream.features.DimensionSnapshot;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.EnrichedClickEvent;
import dev.clickstream.transforms.DimensionSnapshots;
import dev.clickstream.transforms.EnrichWithDimensions;
import dev.clickstream.transforms.SnapshotSource;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The refreshed side input on a real (embedded) Flink in streaming mode, where side-input windows that never fill
 * would hold elements back forever: each event gets the load of its own refresh interval, and an event before the
 * first refresh bypasses the side input with the defaults. (The transform's own tests run on the Direct runner.)
 */
class EnrichOnFlinkTest {
  /** 2024-03-01T12:00:00Z. */
  private static final Instant T0 = new Instant(1_709_294_400_000L);
  private static final Duration INTERVAL = Duration.standardMinutes(10);
  private static final long MINUTE = 60_000L;
  /** Filled by the pipeline's last step: embedded Flink runs in this JVM. */
  private static final Queue<String> ENRICHED = new ConcurrentLinkedQueue<>();

  @Test
  void eachEventGetsTheLoadOfItsIntervalAndEarlierEventsTheDefaults() {
    FlinkPipelineOptions options = TestRunners.options(TestRunners.FLINK, FlinkPipelineOptions.class);
    options.setStreaming(true);
    Pipeline pipeline = Pipeline.create(options);
    Instant stop = T0.plus(INTERVAL);
    DimensionSnapshots users =
        DimensionSnapshots.refreshedEvery(new VersionedUsers(), INTERVAL).startingAt(T0).stoppingAt(stop);
    DimensionSnapshots items =
        DimensionSnapshots.refreshedEvery(new VersionedItems(), INTERVAL).startingAt(T0).stoppingAt(stop);

    pipeline
        .apply(
            Create.timestamped(
                    event("before", T0.getMillis() - 5 * MINUTE),
                    event("first", T0.getMillis() + MINUTE),
                    event("second", T0.getMillis() + 12 * MINUTE))
                .withCoder(AvroCoder.of(ClickEvent.class)))
        .apply(EnrichWithDimensions.of(users, items))
        .apply(ParDo.of(new Collect()));
    ENRICHED.clear();
    pipeline.run().waitUntilFinish();

    assertThat(
        ENRICHED,
        containsInAnyOrder(
            "before unknown false unknown false",
            "first free true shoes true",
            "second premium true boots true"));
  }

  private static TimestampedValue<ClickEvent> event(String id, long timestamp) {
    ClickEvent event =
        ClickEvent.newBuilder()
            .setEventId(id)
            .setUserId("u1")
            .setEventType("click")
            .setItemId("i1")
            .setTimestamp(timestamp)
            .build();
    return TimestampedValue.of(event, new Instant(timestamp));
  }

  private static final class Collect extends DoFn<EnrichedClickEvent, Void> {
    @ProcessElement
    public void processElement(@Element EnrichedClickEvent event) {
      ENRICHED.add(event.getEventId() + " " + event.getUserSegment() + " " + event.getUserKnown() + " "
          + event.getItemCategory() + " " + event.getItemKnown());
    }
  }

  /** u1 is a free user until the refresh at T0 + 10 min, premium from then on. */
  private static final class VersionedUsers implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant refresh) {
      String segment = refresh.isBefore(T0.plus(INTERVAL)) ? "free" : "premium";
      return DimensionSnapshot.of(DimensionDefinitions.USERS, refresh.getMillis(),
          Map.of("u1", Arrays.asList("de", segment, null)));
    }
  }

  /** i1 is in shoes until the refresh at T0 + 10 min, in boots from then on. */
  private static final class VersionedItems implements SnapshotSource {
    @Override
    public DimensionSnapshot load(Instant refresh) {
      String category = refresh.isBefore(T0.plus(INTERVAL)) ? "shoes" : "boots";
      return DimensionSnapshot.of(DimensionDefinitions.ITEMS, refresh.getMillis(),
          Map.of("i1", List.of(category, "spring", 49.95)));
    }
  }
}
