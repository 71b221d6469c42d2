package dev.clickstream.transforms;

import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.transforms.Combine.CombineFn;

/**
 * The CTR combine: counts {@code impression} and {@code click} event types. Other event types are ignored.
 *
 * <p>Associative and commutative, so runners combine partially before the shuffle and only the two counts cross
 * the network.
 */
public final class CountImpressionsAndClicks extends CombineFn<String, CtrCounts, CtrCounts> {
  public static final String IMPRESSION = "impression";
  public static final String CLICK = "click";

  @Override
  public CtrCounts createAccumulator() {
    return new CtrCounts(0, 0);
  }

  @Override
  public CtrCounts addInput(CtrCounts counts, String eventType) {
    if (IMPRESSION.equals(eventType)) {
      return new CtrCounts(counts.impressions() + 1, counts.clicks());
    }
    if (CLICK.equals(eventType)) {
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
