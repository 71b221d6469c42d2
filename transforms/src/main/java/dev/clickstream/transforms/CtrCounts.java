package dev.clickstream.transforms;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.Objects;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * Impressions and clicks of one user in one window, and the click-through rate they give.
 *
 * <p>Encoded with {@link CtrCountsCoder}. Also {@link Serializable}, because {@code Combine.globally} captures the
 * combine's default value (zero counts) in a serialized DoFn.
 */
@DefaultCoder(CtrCounts.CtrCountsCoder.class)
public final class CtrCounts implements Serializable {
  private static final long serialVersionUID = 1L;
  private final long impressions;
  private final long clicks;

  public CtrCounts(long impressions, long clicks) {
    this.impressions = impressions;
    this.clicks = clicks;
  }

  public long impressions() {
    return impressions;
  }

  public long clicks() {
    return clicks;
  }

  /** {@code clicks / impressions}, or null when there were no impressions (the rate is undefined, not zero). */
  public Double ctr() {
    return impressions == 0 ? null : (double) clicks / impressions;
  }

  @Override
  public boolean equals(Object other) {
    if (!(other instanceof CtrCounts)) {
      return false;
    }
    CtrCounts that = (CtrCounts) other;
    return impressions == that.impressions && clicks == that.clicks;
  }

  @Override
  public int hashCode() {
    return Objects.hash(impressions, clicks);
  }

  @Override
  public String toString() {
    return "CtrCounts{impressions=" + impressions + ", clicks=" + clicks + ", ctr=" + ctr() + "}";
  }

  /** Two variable-length longs: a few bytes per pane instead of Java serialization. */
  public static final class CtrCountsCoder extends AtomicCoder<CtrCounts> {
    private static final CtrCountsCoder INSTANCE = new CtrCountsCoder();
    private static final VarLongCoder LONG = VarLongCoder.of();

    public static CtrCountsCoder of() {
      return INSTANCE;
    }

    /** What {@link DefaultCoder} looks up, so the registry picks this coder for {@link CtrCounts}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(CtrCounts.class), INSTANCE);
    }

    @Override
    public void encode(CtrCounts value, OutputStream out) throws IOException {
      LONG.encode(value.impressions, out);
      LONG.encode(value.clicks, out);
    }

    @Override
    public CtrCounts decode(InputStream in) throws IOException {
      return new CtrCounts(LONG.decode(in), LONG.decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
