package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.transforms.Combine.CombineFn;

/**
 * The CTR combine: counts the event types it is given as impressions and as clicks (for {@code ctr_5min}, {@code
 * impression} and {@code click}; {@link CtrPerUser#of} reads them from the feature's definition). Other event types
 * are ignored.
 *
 * <p>Associative and commutative, so a runner may combine partially before the shuffle, and keyed state holds only
 * the two counts per user and window (see {@link TumblingWindowAggregate} for when bounded input is combined).
 */
public final class CountImpressionsAndClicks extends CombineFn<String, CtrCounts, CtrCounts> {
  private final String impressionType;
  private final String clickType;

  /** Counts events of {@code impressionType} as impressions and of {@code clickType} as clicks. */
  public CountImpressionsAndClicks(String impressionType, String clickType) {
    this.impressionType = requireNonNull(impressionType, "impressionType");
    this.clickType = requireNonNull(clickType, "clickType");
    if (impressionType.equals(clickType)) {
      throw new IllegalArgumentException(
          "impressionType and clickType must differ, got " + impressionType + " for both");
    }
  }

  @Override
  public CtrCounts createAccumulator() {
    return new CtrCounts(0, 0);
  }

  @Override
  public CtrCounts addInput(CtrCounts counts, String eventType) {
    if (impressionType.equals(eventType)) {
      return new CtrCounts(counts.impressions() + 1, counts.clicks());
    }
    if (clickType.equals(eventType)) {
      return new CtrCounts(counts.impressions(), counts.clicks() + 1);
    }
    return counts;
  }

  @Override
  public CtrCounts mergeAccumulators(Iterable<CtrCounts> accumulators) {
    long impressions = 0;
    long clicks = 0;
    for (CtrCounts counts : accumulators) {
      impressions += counts.impressions();
      clicks += counts.clicks();
    }
    return new CtrCounts(impressions, clicks);
  }

  @Override
  public CtrCounts extractOutput(CtrCounts counts) {
    return counts;
  }

  @Override
  public Coder<CtrCounts> getAccumulatorCoder(CoderRegistry registry, Coder<String> inputCoder) {
    return CtrCounts.CtrCountsCoder.of();
  }

  @Override
  public Coder<CtrCounts> getDefaultOutputCoder(CoderRegistry registry, Coder<String> inputCoder) {
    return CtrCounts.CtrCountsCoder.of();
  }
}
