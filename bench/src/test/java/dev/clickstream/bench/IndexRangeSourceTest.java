package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.io.BoundedSource;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.values.KV;
import org.junit.jupiter.api.Test;

class IndexRangeSourceTest {
  private static final PipelineOptions OPTIONS = PipelineOptionsFactory.create();

  @Test
  void splitsIntoOneSourcePerRangeWhateverTheBundleSizeAsked() throws Exception {
    IndexRangeSource source = IndexRangeSource.of(10, 3);

    List<List<KV<Long, Long>>> splits = new ArrayList<>();
    for (IndexRangeSource split : source.split(1_000_000, OPTIONS)) {
      splits.add(read(split));
    }

    assertThat(splits, equalTo(List.of(
        List.of(KV.of(0L, 3L)), List.of(KV.of(3L, 6L)), List.of(KV.of(6L, 10L)))));
    assertThat(read(source), equalTo(List.of(KV.of(0L, 3L), KV.of(3L, 6L), KV.of(6L, 10L))));
  }

  private static List<KV<Long, Long>> read(BoundedSource<KV<Long, Long>> source) throws Exception {
    List<KV<Long, Long>> ranges = new ArrayList<>();
    try (BoundedSource.BoundedReader<KV<Long, Long>> reader = source.createReader(OPTIONS)) {
      for (boolean more = reader.start(); more; more = reader.advance()) {
        ranges.add(reader.getCurrent());
      }
    }
    return ranges;
  }
}
