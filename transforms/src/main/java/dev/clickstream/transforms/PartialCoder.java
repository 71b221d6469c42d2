package dev.clickstream.transforms;

import dev.clickstream.features.Partial;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.BigEndianLongCoder;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * Encodes a {@link Partial} component by component: compact, deterministic, and independent of Java
 * serialization, so state written by one build can be read by the next.
 */
public final class PartialCoder extends AtomicCoder<Partial> {
  private static final PartialCoder INSTANCE = new PartialCoder();

  public static PartialCoder of() {
    return INSTANCE;
  }

  private PartialCoder() {}

  @Override
  public void encode(Partial partial, OutputStream out) throws IOException {
    VarLongCoder.of().encode(partial.count(), out);
    // Times are epoch milliseconds, or Long.MIN_VALUE when empty: fixed width keeps the empty marker small.
    BigEndianLongCoder.of().encode(partial.latestTimestamp(), out);
    VarLongCoder.of().encode(partial.valueCount(), out);
    if (partial.valueCount() > 0) {
      DoubleCoder.of().encode(partial.sum(), out);
      DoubleCoder.of().encode(partial.min(), out);
      DoubleCoder.of().encode(partial.max(), out);
      BigEndianLongCoder.of().encode(partial.lastTimestamp(), out);
      DoubleCoder.of().encode(partial.lastValue(), out);
    }
  }

  @Override
  public Partial decode(InputStream in) throws IOException {
    long count = VarLongCoder.of().decode(in);
    long latest = BigEndianLongCoder.of().decode(in);
    long valueCount = VarLongCoder.of().decode(in);
    if (valueCount == 0) {
      return Partial.ofCount(count, latest);
    }
    return Partial.fromComponents(
        count, latest, valueCount,
        DoubleCoder.of().decode(in),
        DoubleCoder.of().decode(in),
        DoubleCoder.of().decode(in),
        BigEndianLongCoder.of().decode(in),
        DoubleCoder.of().decode(in));
  }

  @Override
  public void verifyDeterministic() {}

  @Override
  public boolean consistentWithEquals() {
    return true;
  }
}
