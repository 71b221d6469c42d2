package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.transforms.Combine.CombineFn;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * {@code Combine.perKey} for bounded input in non-merging windows, by hashing instead of sorting: each key is
 * assigned one of {@code shards} shards by the hash of its structural value, the values are grouped per shard and
 * window, and each group is combined per key in a hash map. Same outputs, timestamps, windows and panes as
 * {@code GroupByKey} then {@code Combine.groupedValues} when each window fires once, as bounded input does under
 * the default trigger.
 *
 * <p>Why: a batch runner that groups by sorting (Flink's) sorts every value by its encoded key, and with few
 * values per key and window that sort is most of the job. Grouped by shard, the sort sees a few distinct keys per
 * window instead of one per entity (docs/benchmarks.md). The price is memory: a worker holds one accumulator per
 * key of the shard and window it is combining, so {@code shards} must spread a window's keys thin enough.
 *
 * <p>Not for unbounded input, merging windows, or triggers that fire a window more than once: panes would be per
 * shard instead of per key.
 */
public final class CombinePerKeyInShards<K, InputT, AccumT, OutputT>
    extends PTransform<PCollection<KV<K, InputT>>, PCollection<KV<K, OutputT>>> {

  private final CombineFn<InputT, AccumT, OutputT> combineFn;
  private final int shards;

  private CombinePerKeyInShards(CombineFn<InputT, AccumT, OutputT> combineFn, int shards) {
    this.combineFn = combineFn;
    this.shards = shards;
  }

  public static <K, InputT, AccumT, OutputT> CombinePerKeyInShards<K, InputT, AccumT, OutputT> of(
      CombineFn<InputT, AccumT, OutputT> combineFn, int shards) {
    if (shards < 1) {
      throw new IllegalArgumentException("shards must be at least 1, got " + shards);
    }
    return new CombinePerKeyInShards<>(requireNonNull(combineFn, "combineFn"), shards);
  }

  @Override
  public PCollection<KV<K, OutputT>> expand(PCollection<KV<K, InputT>> input) {
    if (input.isBounded() != PCollection.IsBounded.BOUNDED) {
      throw new IllegalArgumentException(
          "CombinePerKeyInShards is for bounded input, where each window fires once; combine unbounded input with"
              + " Combine.perKey");
    }
    if (!(input.getCoder() instanceof KvCoder)) {
      throw new IllegalArgumentException(
          "CombinePerKeyInShards needs its input encoded with a KvCoder, got " + input.getCoder());
    }
    if (input.getWindowingStrategy().needsMerge()) {
      throw new IllegalArgumentException(
          "CombinePerKeyInShards needs non-merging windows, got " + input.getWindowingStrategy().getWindowFn());
    }
    KvCoder<K, InputT> inputCoder = (KvCoder<K, InputT>) input.getCoder();
    Coder<K> keyCoder = inputCoder.getKeyCoder();
    try {
      // What GroupByKey would check of the key coder, since the keys are now grouped here.
      keyCoder.verifyDeterministic();
    } catch (Coder.NonDeterministicException e) {
      throw new IllegalArgumentException(
          "CombinePerKeyInShards needs a deterministic key coder, got " + keyCoder + " (" + String.join("; ",
              e.getReasons()) + "); give the keys a deterministic coder with setCoder", e);
    }
    Coder<OutputT> outputCoder;
    try {
      outputCoder =
          combineFn.getDefaultOutputCoder(input.getPipeline().getCoderRegistry(), inputCoder.getValueCoder());
    } catch (CannotProvideCoderException e) {
      throw new IllegalStateException("no coder for the output of " + combineFn.getClass().getName()
          + "; override its getDefaultOutputCoder or register a coder for its output type", e);
    }
    return input
        .apply("AssignShards", ParDo.of(new AssignShard<>(keyCoder, shards)))
        .setCoder(KvCoder.of(VarIntCoder.of(), inputCoder))
        .apply("GroupPerShard", GroupByKey.create())
        .apply("CombinePerKeyInShard", ParDo.of(new CombineShard<>(keyCoder, combineFn)))
        .setCoder(KvCoder.of(keyCoder, outputCoder));
  }

  private static final class AssignShard<K, InputT> extends DoFn<KV<K, InputT>, KV<Integer, KV<K, InputT>>> {
    private final Coder<K> keyCoder;
    private final int shards;

    AssignShard(Coder<K> keyCoder, int shards) {
      this.keyCoder = keyCoder;
      this.shards = shards;
    }

    @ProcessElement
    public void processElement(@Element KV<K, InputT> element, OutputReceiver<KV<Integer, KV<K, InputT>>> out) {
      // The structural value's hash is the same on every worker: for a coder consistent with equals it is the key
      // itself, otherwise its encoding.
      int hash = keyCoder.structuralValue(element.getKey()).hashCode();
      out.output(KV.of(Math.floorMod(hash * 0x9E3779B9, shards), element));
    }
  }

  private static final class CombineShard<K, InputT, AccumT, OutputT>
      extends DoFn<KV<Integer, Iterable<KV<K, InputT>>>, KV<K, OutputT>> {
    private final Coder<K> keyCoder;
    private final CombineFn<InputT, AccumT, OutputT> combineFn;

    CombineShard(Coder<K> keyCoder, CombineFn<InputT, AccumT, OutputT> combineFn) {
      this.keyCoder = keyCoder;
      this.combineFn = combineFn;
    }

    /** Keys in the group combined last: a shard's groups are alike, so the next map starts about this big. */
    private transient int keysOfLastGroup;

    @ProcessElement
    public void processElement(
        @Element KV<Integer, Iterable<KV<K, InputT>>> shard, OutputReceiver<KV<K, OutputT>> out) {
      Map<Object, KeyedAccumulator<K, AccumT>> accumulators = new HashMap<>(keysOfLastGroup * 4 / 3 + 1);
      // Read back in the order they came: a list iterates faster than the map's table.
      List<KeyedAccumulator<K, AccumT>> keys = new ArrayList<>(keysOfLastGroup);
      for (KV<K, InputT> element : shard.getValue()) {
        Object structural = keyCoder.structuralValue(element.getKey());
        KeyedAccumulator<K, AccumT> keyed = accumulators.get(structural);
        if (keyed == null) {
          keyed = new KeyedAccumulator<>(element.getKey(), combineFn.createAccumulator());
          accumulators.put(structural, keyed);
          keys.add(keyed);
        }
        keyed.accumulator = combineFn.addInput(keyed.accumulator, element.getValue());
      }
      keysOfLastGroup = keys.size();
      for (KeyedAccumulator<K, AccumT> keyed : keys) {
        out.output(KV.of(keyed.key, combineFn.extractOutput(keyed.accumulator)));
      }
    }
  }

  private static final class KeyedAccumulator<K, AccumT> {
    final K key;
    AccumT accumulator;

    KeyedAccumulator(K key, AccumT accumulator) {
      this.key = key;
      this.accumulator = accumulator;
    }
  }
}
