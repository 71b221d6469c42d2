package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.sameInstance;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.CombineFnTester;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class CountImpressionsAndClicksTest {
  private static final CountImpressionsAndClicks COUNT = new CountImpressionsAndClicks("impression", "click");

  private static final List<String> EVENT_TYPES =
      List.of("impression", "click", "view", "impression", "purchase", "impression", "click", "impression");

  @Test
  void startsFromZero() {
    assertThat(COUNT.createAccumulator(), equalTo(new CtrCounts(0, 0)));
  }

  @Test
  void addInputCountsImpressionsAndClicks() {
    CtrCounts counts = COUNT.createAccumulator();
    counts = COUNT.addInput(counts, "impression");
    counts = COUNT.addInput(counts, "impression");
    counts = COUNT.addInput(counts, "click");

    assertThat(counts, equalTo(new CtrCounts(2, 1)));
  }

  @Test
  void addInputIgnoresOtherEventTypes() {
    CtrCounts counts = new CtrCounts(3, 1);

    for (String other : Arrays.asList("view", "purchase", "Impression", "CLICK", " click", "", null)) {
      assertThat("event type " + other, COUNT.addInput(counts, other), equalTo(new CtrCounts(3, 1)));
    }
  }

  @Test
  void countsTheEventTypesItIsGiven() {
    CountImpressionsAndClicks viewsAndPurchases = new CountImpressionsAndClicks("view", "purchase");

    CombineFnTester.testCombineFn(viewsAndPurchases, new ArrayList<>(EVENT_TYPES), new CtrCounts(1, 1));
  }

  @Test
  void rejectsOneEventTypeForBothCounts() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new CountImpressionsAndClicks("click", "click"));
    assertThat(e.getMessage(), equalTo("impressionType and clickType must differ, got click for both"));
  }

  @Test
  void mergeAccumulatorsAddsTheCounts() {
    assertThat(
        COUNT.mergeAccumulators(List.of(new CtrCounts(2, 1), new CtrCounts(0, 0), new CtrCounts(5, 3))),
        equalTo(new CtrCounts(7, 4)));
    assertThat(COUNT.mergeAccumulators(List.of()), equalTo(new CtrCounts(0, 0)));
  }

  @Test
  void extractOutputReturnsTheCounts() {
    assertThat(COUNT.extractOutput(new CtrCounts(4, 1)), equalTo(new CtrCounts(4, 1)));
  }

  @Test
  void givesTheSameResultHoweverTheInputIsSplitAndMerged() {
    CombineFnTester.testCombineFn(COUNT, new ArrayList<>(EVENT_TYPES), new CtrCounts(4, 2));
  }

  @Test
  void ctrIsClicksOverImpressions() {
    assertThat(new CtrCounts(4, 1).ctr(), equalTo(0.25));
    assertThat(new CtrCounts(3, 3).ctr(), equalTo(1.0));
    assertThat(new CtrCounts(5, 0).ctr(), equalTo(0.0));
  }

  @Test
  void ctrIsNullWithoutImpressions() {
    assertThat(new CtrCounts(0, 2).ctr(), nullValue());
    assertThat(new CtrCounts(0, 0).ctr(), nullValue());
  }

  @Test
  void countsAreValues() {
    assertThat(new CtrCounts(2, 1), equalTo(new CtrCounts(2, 1)));
    assertThat(new CtrCounts(2, 1).hashCode(), equalTo(new CtrCounts(2, 1).hashCode()));
    assertThat(new CtrCounts(2, 1), not(equalTo(new CtrCounts(1, 2))));
    assertThat(new CtrCounts(4, 1).toString(), equalTo("CtrCounts{impressions=4, clicks=1, ctr=0.25}"));
    assertThat(new CtrCounts(0, 1).toString(), equalTo("CtrCounts{impressions=0, clicks=1, ctr=null}"));
  }

  @Test
  void coderRoundTripsCounts() throws Exception {
    CtrCounts.CtrCountsCoder coder = CtrCounts.CtrCountsCoder.of();
    for (CtrCounts counts :
        List.of(new CtrCounts(0, 0), new CtrCounts(7, 3), new CtrCounts(0, 5), new CtrCounts(Long.MAX_VALUE, 1))) {
      CoderProperties.coderDecodeEncodeEqual(coder, counts);
      CoderProperties.coderDeterministic(coder, counts, new CtrCounts(counts.impressions(), counts.clicks()));
    }
    CoderProperties.coderSerializable(coder);
  }

  @Test
  void usesTheCompactCoderForAccumulatorAndOutput() throws Exception {
    CoderRegistry registry = CoderRegistry.createDefault();
    CtrCounts.CtrCountsCoder compact = CtrCounts.CtrCountsCoder.of();
    assertThat(COUNT.getAccumulatorCoder(registry, StringUtf8Coder.of()), sameInstance(compact));
    assertThat(COUNT.getDefaultOutputCoder(registry, StringUtf8Coder.of()), sameInstance(compact));
    assertThat(registry.getCoder(CtrCounts.class), equalTo(CtrCounts.CtrCountsCoder.of()));
  }

  @Test
  void combinesGloballyInAPipeline(TestPipeline pipeline) {
    PCollection<CtrCounts> counts =
        pipeline.apply(Create.of(EVENT_TYPES)).apply("CountImpressionsAndClicks", Combine.globally(COUNT));

    PAssert.that(counts).containsInAnyOrder(new CtrCounts(4, 2));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void combinesAnEmptyInputToZeroCounts(TestPipeline pipeline) {
    PCollection<CtrCounts> counts =
        pipeline
            .apply(Create.empty(StringUtf8Coder.of()))
            .apply("CountImpressionsAndClicks", Combine.globally(COUNT));

    PAssert.that(counts).containsInAnyOrder(new CtrCounts(0, 0));
    pipeline.run().waitUntilFinish();
  }
}
