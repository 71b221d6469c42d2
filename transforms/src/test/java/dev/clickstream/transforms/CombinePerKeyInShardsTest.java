package dev.clickstream.transforms;

import static dev.clickstream.transforms.SumsInTwoWindows.BASE;
import static dev.clickstream.transforms.SumsInTwoWindows.FIRST_WINDOW;
import static dev.clickstream.transforms.SumsInTwoWindows.FIVE_MINUTES;
import static dev.clickstream.transforms.SumsInTwoWindows.KV_CODER;
import static dev.clickstream.transforms.SumsInTwoWindows.SECOND_WINDOW;
import static dev.clickstream.transforms.SumsInTwoWindows.assertSumsPerKeyAndWindow;
import static dev.clickstream.transforms.SumsInTwoWindows.values;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Sum;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.Sessions;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Hashed-shard combining gives what Combine.perKey gives: per key, window, pane and timestamp. */
@ExtendWith(TestPipelineExtension.class)
class CombinePerKeyInShardsTest {
  /** One shard combines every key of a window together; 64 shards are more than there are keys. */
  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void sumsEachKeyInEachWindowWhateverTheShards(int shards, TestPipeline pipeline) {
    PCollection<KV<String, Long>> sums =
        windowedValues(pipeline).apply(CombinePerKeyInShards.of(Sum.ofLongs(), shards));

    assertSumsPerKeyAndWindow(sums);
    pipeline.run().waitUntilFinish();
  }

  @Test
  void outputsAreStampedWithTheEndOfTheirWindowAsCombinePerKeyStampsThem(TestPipeline pipeline) {
    PCollection<KV<String, Long>> stamps =
        windowedValues(pipeline)
            .apply(CombinePerKeyInShards.of(Sum.ofLongs(), 2))
            .apply(ParDo.of(new KeyAndTimestamp()))
            .setCoder(KV_CODER);

    long firstEnd = FIRST_WINDOW.maxTimestamp().getMillis();
    long secondEnd = SECOND_WINDOW.maxTimestamp().getMillis();
    PAssert.that(stamps)
        .containsInAnyOrder(
            KV.of("a", firstEnd), KV.of("b", firstEnd), KV.of("a", secondEnd), KV.of("b", secondEnd));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void manyKeysOverFewShardsSumAsAPlainLoopDoes(TestPipeline pipeline) {
    List<TimestampedValue<KV<String, Long>>> values = new ArrayList<>();
    Map<String, Long> expectedFirst = new TreeMap<>();
    Map<String, Long> expectedSecond = new TreeMap<>();
    for (int i = 0; i < 600; i++) {
      String key = "user-" + (i * 7 % 97);
      long value = i;
      boolean first = i % 3 != 0;
      Duration intoWindow = Duration.standardSeconds(i % 300);
      Duration offset = first ? intoWindow : FIVE_MINUTES.plus(intoWindow);
      values.add(TimestampedValue.of(KV.of(key, value), BASE.plus(offset)));
      (first ? expectedFirst : expectedSecond).merge(key, value, Long::sum);
    }

    PCollection<KV<String, Long>> sums =
        pipeline
            .apply(Create.timestamped(values).withCoder(KV_CODER))
            .apply(Window.into(FixedWindows.of(FIVE_MINUTES)))
            .apply(CombinePerKeyInShards.of(Sum.ofLongs(), 3));

    PAssert.that(sums).inOnTimePane(FIRST_WINDOW).containsInAnyOrder(asKvs(expectedFirst));
    PAssert.that(sums).inOnTimePane(SECOND_WINDOW).containsInAnyOrder(asKvs(expectedSecond));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void keysWhoseCoderIsNotConsistentWithEqualsCombineByTheirEncoding(TestPipeline pipeline) {
    // Equal byte arrays are distinct objects; only their structural value (the encoding) groups them.
    PCollection<KV<String, Long>> sums =
        pipeline
            .apply(
                Create.timestamped(
                        TimestampedValue.of(KV.of(bytes("a"), 1L), BASE),
                        TimestampedValue.of(KV.of(bytes("a"), 2L), BASE.plus(Duration.standardMinutes(1))),
                        TimestampedValue.of(KV.of(bytes("b"), 5L), BASE))
                    .withCoder(KvCoder.of(ByteArrayCoder.of(), VarLongCoder.of())))
            .apply(Window.into(FixedWindows.of(FIVE_MINUTES)))
            .apply(CombinePerKeyInShards.of(Sum.ofLongs(), 2))
            .apply(
                MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.longs()))
                    .via(kv -> KV.of(new String(kv.getKey(), StandardCharsets.UTF_8), kv.getValue())));

    PAssert.that(sums).containsInAnyOrder(KV.of("a", 3L), KV.of("b", 5L));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void shardsMustBePositive() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CombinePerKeyInShards.of(Sum.ofLongs(), 0));
    assertThat(e.getMessage(), equalTo("shards must be at least 1, got 0"));
  }

  @Test
  void unboundedInputIsRefused() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<KV<String, Long>> stream =
        pipeline.apply(TestStream.create(KV_CODER).addElements(KV.of("a", 1L)).advanceWatermarkToInfinity());

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> stream.apply(CombinePerKeyInShards.of(Sum.ofLongs(), 2)));
    assertThat(e.getMessage(), equalTo("CombinePerKeyInShards is for bounded input, where each window fires once;"
        + " combine unbounded input with Combine.perKey"));
  }

  @Test
  void mergingWindowsAreRefused() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<KV<String, Long>> sessions =
        pipeline
            .apply(Create.timestamped(TimestampedValue.of(KV.of("a", 1L), BASE)).withCoder(KV_CODER))
            .apply(Window.into(Sessions.withGapDuration(FIVE_MINUTES)));

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> sessions.apply(CombinePerKeyInShards.of(Sum.ofLongs(), 2)));
    assertThat(e.getMessage(), startsWith("CombinePerKeyInShards needs non-merging windows, got "));
  }

  @Test
  void aKeyCoderThatIsNotDeterministicIsRefused() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<KV<Double, Long>> input =
        pipeline.apply(Create.of(KV.of(1.5, 1L)).withCoder(KvCoder.of(DoubleCoder.of(), VarLongCoder.of())));

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> input.apply(CombinePerKeyInShards.of(Sum.ofLongs(), 2)));
    assertThat(
        e.getMessage(),
        equalTo("CombinePerKeyInShards needs a deterministic key coder, got DoubleCoder (Floating point encodings are"
            + " not guaranteed to be deterministic.); give the keys a deterministic coder with setCoder"));
  }

  private static PCollection<KV<String, Long>> windowedValues(TestPipeline pipeline) {
    return values(pipeline).apply(Window.into(FixedWindows.of(FIVE_MINUTES)));
  }

  private static List<KV<String, Long>> asKvs(Map<String, Long> sums) {
    List<KV<String, Long>> kvs = new ArrayList<>();
    sums.forEach((key, sum) -> kvs.add(KV.of(key, sum)));
    return kvs;
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static final class KeyAndTimestamp extends DoFn<KV<String, Long>, KV<String, Long>> {
    @ProcessElement
    public void processElement(ProcessContext context) {
      context.output(KV.of(context.element().getKey(), context.timestamp().getMillis()));
    }
  }
}
