package dev.clickstream.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.BoundedSource;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.values.KV;

/**
 * Index ranges {@code [from, to)} of the generated events, one split per range, for a DoFn to expand.
 *
 * <p>Why not {@code Create} and a {@code Reshuffle}: a random key spreads 16 ranges unevenly over 2 workers (11 and
 * 5, or worse, in about one run of five), so one worker generated twice as many events as the other in a profile and
 * the run took as long as its slower half. Flink's batch runner hands a source's splits to whichever worker asks next, so
 * a worker that is done with its range takes the next one, as native's number sequence spreads its own.
 */
final class IndexRangeSource extends BoundedSource<KV<Long, Long>> {
  private static final long serialVersionUID = 1L;

  private final List<KV<Long, Long>> ranges;

  private IndexRangeSource(List<KV<Long, Long>> ranges) {
    this.ranges = ranges;
  }

  /** {@code splits} ranges of about equal size over {@code [0, events)}. */
  static IndexRangeSource of(long events, int splits) {
    List<KV<Long, Long>> ranges = new ArrayList<>();
    for (int split = 0; split < splits; split++) {
      ranges.add(KV.of(events * split / splits, events * (split + 1) / splits));
    }
    return new IndexRangeSource(List.copyOf(ranges));
  }

  @Override
  public List<IndexRangeSource> split(long desiredBundleSizeBytes, PipelineOptions options) {
    List<IndexRangeSource> splits = new ArrayList<>();
    for (KV<Long, Long> range : ranges) {
      splits.add(new IndexRangeSource(List.of(range)));
    }
    return splits;
  }

  @Override
  public long getEstimatedSizeBytes(PipelineOptions options) {
    return 16L * ranges.size();
  }

  @Override
  public Coder<KV<Long, Long>> getOutputCoder() {
    return KvCoder.of(VarLongCoder.of(), VarLongCoder.of());
  }

  @Override
  public BoundedReader<KV<Long, Long>> createReader(PipelineOptions options) {
    return new BoundedReader<>() {
      private int next = 0;

      @Override
      public boolean start() {
        return advance();
      }

      @Override
      public boolean advance() {
        next++;
        return next <= ranges.size();
      }

      @Override
      public KV<Long, Long> getCurrent() {
        if (next < 1 || next > ranges.size()) {
          throw new NoSuchElementException();
        }
        return ranges.get(next - 1);
      }

      @Override
      public void close() {}

      @Override
      public BoundedSource<KV<Long, Long>> getCurrentSource() {
        return IndexRangeSource.this;
      }
    };
  }
}
