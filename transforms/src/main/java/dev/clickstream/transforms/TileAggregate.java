package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.Partial;
import dev.clickstream.features.WindowedAggregation;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.transforms.Combine.CombineFn;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;

/**
 * The tiles of a {@link WindowedAggregation}'s tiled pattern: per entity and tile of {@link
 * WindowedAggregation#tileMillis()} (event-time fixed windows aligned to the epoch), one {@link Partial} of the
 * tile's events, emitted as {@code EntityPartials(entity, tileStart, partial)} with exactly one partial. Rows for
 * {@link WindowedAggregation#tilesTable()} follow from {@link WindowedAggregation#tileRow}.
 *
 * <p>Assumes each element's timestamp is its event's time ({@link AssignEventTime} upstream): tiles are windows of
 * element timestamps, while a partial's latest time is read from {@link FeatureEvent#timestamp()}.
 *
 * <p>A tile fires once when the watermark passes its end (the on-time pane) and once more for each late event
 * within the allowed lateness (zero unless {@link #withAllowedLateness} says otherwise). Panes accumulate: a later
 * pane of a tile holds every event of the earlier ones and more, so a sink that keeps the pane with the larger count
 * (the tiles table's replace rule, {@code NEW.event_count > OLD.event_count}) keeps the fullest whatever order
 * retried or replayed writes arrive in. Events later than the allowed lateness are dropped by the runner and counted
 * in {@code droppedDueToLateness}: Beam's own counter ({@code LateDataDroppingDoFnRunner}, on portable and Flink
 * runners; {@code DroppedDueToLateness} on the Direct runner), or that of {@link CombinePerKeyInKeyedState}.
 *
 * <p>Works on bounded and unbounded input, windowed and combined as {@link TumblingWindowAggregate} does. The
 * output stays in the tile windows, so downstream steps can read the tile and the pane.
 */
public final class TileAggregate extends PTransform<PCollection<FeatureEvent>, PCollection<EntityPartials>> {
  private final WindowedAggregation feature;
  private final Duration allowedLateness;

  private TileAggregate(WindowedAggregation feature, Duration allowedLateness) {
    this.feature = feature;
    this.allowedLateness = allowedLateness;
  }

  /** Tiles of {@code feature.tileMillis()}, with no allowed lateness. */
  public static TileAggregate of(WindowedAggregation feature) {
    return new TileAggregate(requireNonNull(feature, "feature"), Duration.ZERO);
  }

  /** How long after a tile's end late events still update it. */
  public TileAggregate withAllowedLateness(Duration lateness) {
    FeatureSteps.checkAllowedLateness(lateness);
    return new TileAggregate(feature, lateness);
  }

  @Override
  public PCollection<EntityPartials> expand(PCollection<FeatureEvent> events) {
    return events
        .apply("KeyByEntity", FeatureSteps.keyByEntity())
        // A stream keeps each tile's partial in keyed state, bounded input of a batch run is merged in hashed shards.
        .apply("MergeEventsPerTile", TumblingWindowAggregate.<String, FeatureEvent, Partial>of(new MergeEventsFn())
            .withWindowSize(Duration.millis(feature.tileMillis()))
            .withAllowedLateness(allowedLateness))
        .apply("ToEntityPartials", ParDo.of(new ToEntityPartialsFn()))
        .setCoder(EntityPartials.Coder.of());
  }

  /** Merges events into one {@link Partial}: their count, latest time and value components. */
  static final class MergeEventsFn extends CombineFn<FeatureEvent, Partial, Partial> {
    @Override
    public Partial createAccumulator() {
      return new Partial();
    }

    @Override
    public Partial addInput(Partial accumulator, FeatureEvent event) {
      return accumulator.add(event.timestamp(), event.value());
    }

    @Override
    public Partial mergeAccumulators(Iterable<Partial> accumulators) {
      Partial merged = new Partial();
      for (Partial accumulator : accumulators) {
        merged.merge(accumulator);
      }
      return merged;
    }

    /** A copy: with accumulating panes the accumulator lives on in state after the pane fires. */
    @Override
    public Partial extractOutput(Partial accumulator) {
      return accumulator.copy();
    }

    @Override
    public Coder<Partial> getAccumulatorCoder(CoderRegistry registry, Coder<FeatureEvent> inputCoder)
        throws CannotProvideCoderException {
      return PartialCoder.of();
    }

    @Override
    public Coder<Partial> getDefaultOutputCoder(CoderRegistry registry, Coder<FeatureEvent> inputCoder)
        throws CannotProvideCoderException {
      return PartialCoder.of();
    }
  }

  /** The tile's start is its window's. */
  static final class ToEntityPartialsFn extends DoFn<KV<String, Partial>, EntityPartials> {
    @ProcessElement
    public void processElement(
        @Element KV<String, Partial> tile, IntervalWindow window, OutputReceiver<EntityPartials> out) {
      out.output(new EntityPartials(tile.getKey(), window.start().getMillis(), tile.getValue()));
    }
  }
}
