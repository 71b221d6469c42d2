package dev.clickstream.transforms;

import static dev.clickstream.transforms.SumsInTwoWindows.BASE;
import static dev.clickstream.transforms.SumsInTwoWindows.FIRST_WINDOW;
import static dev.clickstream.transforms.SumsInTwoWindows.FIVE_MINUTES;
import static dev.clickstream.transforms.SumsInTwoWindows.KV_CODER;
import static dev.clickstream.transforms.SumsInTwoWindows.value;
import static dev.clickstream.transforms.SumsInTwoWindows.values;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.runners.TransformHierarchy;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Sum;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.WindowingStrategy;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The generic aggregation: its settings, their checks, and its behaviour with a combine other than CTR. */
@ExtendWith(TestPipelineExtension.class)
class TumblingWindowAggregateTest {
  private static final Duration ALLOWED_LATENESS = Duration.standardMinutes(10);

  private static TumblingWindowAggregate<String, Long, Long> sum() {
    return TumblingWindowAggregate.of(Sum.ofLongs());
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Settings

  @Test
  void windowSizeMustBePositive() {
    assertRejected(() -> sum().withWindowSize(null), "windowSize must be a positive duration, got null");
    assertRejected(() -> sum().withWindowSize(Duration.ZERO), "windowSize must be a positive duration, got PT0S");
    assertRejected(
        () -> sum().withWindowSize(Duration.standardMinutes(-5)),
        "windowSize must be a positive duration, got PT-300S");
  }

  @Test
  void allowedLatenessMustNotBeNegative() {
    assertRejected(() -> sum().withAllowedLateness(null), "allowedLateness must be zero or positive, got null");
    assertRejected(
        () -> sum().withAllowedLateness(Duration.millis(-1)),
        "allowedLateness must be zero or positive, got PT-0.001S");
  }

  @Test
  void earlyFiringDelayMustBePositive() {
    assertRejected(() -> sum().withEarlyFiringsEvery(null), "earlyFiringDelay must be a positive duration, got null");
    assertRejected(
        () -> sum().withEarlyFiringsEvery(Duration.ZERO), "earlyFiringDelay must be a positive duration, got PT0S");
    assertRejected(
        () -> sum().withEarlyFiringsEvery(Duration.standardSeconds(-30)),
        "earlyFiringDelay must be a positive duration, got PT-30S");
  }

  @Test
  void earlyFiringsAndACustomTriggerExcludeEachOther() {
    assertRejected(
        () -> sum().withTrigger(AfterWatermark.pastEndOfWindow()).withEarlyFiringsEvery(Duration.standardMinutes(1)),
        "earlyFiringDelay cannot be combined with a custom trigger");
    assertRejected(
        () -> sum().withEarlyFiringsEvery(Duration.standardMinutes(1)).withTrigger(AfterWatermark.pastEndOfWindow()),
        "a custom trigger cannot be combined with earlyFiringDelay");
  }

  @Test
  void requiredArgumentsMayNotBeNull() {
    NullPointerException combineFn =
        assertThrows(NullPointerException.class, () -> TumblingWindowAggregate.of(null));
    assertThat(combineFn.getMessage(), equalTo("combineFn"));
    NullPointerException trigger = assertThrows(NullPointerException.class, () -> sum().withTrigger(null));
    assertThat(trigger.getMessage(), equalTo("trigger"));
  }

  @Test
  void settingsReturnANewTransformAndLeaveTheOriginalUnchanged() {
    TumblingWindowAggregate<String, Long, Long> original = sum().withWindowSize(FIVE_MINUTES);
    original.withAllowedLateness(ALLOWED_LATENESS);

    WindowingStrategy<?, ?> strategy = windowingOf(original);

    assertThat(strategy.getAllowedLateness(), equalTo(Duration.ZERO));
  }

  @Test
  void expandWithoutAWindowSizeFailsClearly() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<KV<String, Long>> input = pipeline.apply(Create.of(KV.of("u1", 1L)).withCoder(KV_CODER));

    IllegalStateException e = assertThrows(IllegalStateException.class, () -> input.apply(sum()));

    assertThat(e.getMessage(), equalTo("TumblingWindowAggregate needs withWindowSize(...)"));
  }

  @Test
  void windowsAccumulateWithTheGivenSizeAndLateness() {
    WindowingStrategy<?, ?> strategy =
        windowingOf(sum().withWindowSize(FIVE_MINUTES).withAllowedLateness(ALLOWED_LATENESS));

    assertThat(strategy.getWindowFn(), equalTo(FixedWindows.of(FIVE_MINUTES)));
    assertThat(strategy.getAllowedLateness(), equalTo(ALLOWED_LATENESS));
    assertThat(strategy.getMode(), equalTo(WindowingStrategy.AccumulationMode.ACCUMULATING_FIRED_PANES));
  }

  /** The windowing of the aggregate's output, from a pipeline that is built but not run. */
  private static WindowingStrategy<?, ?> windowingOf(TumblingWindowAggregate<String, Long, Long> aggregate) {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    return pipeline
        .apply(Create.of(KV.of("u1", 1L)).withCoder(KV_CODER))
        .apply(aggregate)
        .getWindowingStrategy();
  }

  private static void assertRejected(Runnable setting, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, setting::run);
    assertThat(e.getMessage(), equalTo(message));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Behaviour

  @Test
  void combinesEachKeyInEachWindow(TestPipeline pipeline) {
    assertSumsPerKeyAndWindow(pipeline, sum().withWindowSize(FIVE_MINUTES));
  }

  @Test
  void boundedInputCombinedBeforeTheShuffleGivesTheSameSums(TestPipeline pipeline) {
    assertSumsPerKeyAndWindow(pipeline, sum().withWindowSize(FIVE_MINUTES).withBoundedInputCombinedBeforeShuffle());
  }

  private static void assertSumsPerKeyAndWindow(
      TestPipeline pipeline, TumblingWindowAggregate<String, Long, Long> aggregate) {
    SumsInTwoWindows.assertSumsPerKeyAndWindow(values(pipeline).apply(aggregate));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void boundedInputGroupedPerKeyUnderACustomTriggerGivesTheSameSums(TestPipeline pipeline) {
    assertSumsPerKeyAndWindow(
        pipeline, sum().withWindowSize(FIVE_MINUTES).withTrigger(AfterWatermark.pastEndOfWindow()));
  }

  @Test
  void boundedInputInOneShardGivesTheSameSums(TestPipeline pipeline) {
    assertSumsPerKeyAndWindow(pipeline, sum().withWindowSize(FIVE_MINUTES).withBoundedInputShards(1));
  }

  @Test
  void boundedInputShardsMustBePositive() {
    assertRejected(() -> sum().withBoundedInputShards(0), "boundedInputShards must be at least 1, got 0");
  }

  @Test
  void eachKindOfInputGetsItsOwnCombine() {
    assertThat(
        stepsUnder(bounded(sum().withWindowSize(FIVE_MINUTES)), "Sum/"),
        equalTo(List.of("Sum/WindowIntoTumblingWindows", "Sum/CombinePerKeyInShards")));
    assertThat(
        stepsUnder(bounded(sum().withWindowSize(FIVE_MINUTES).withEarlyFiringsEvery(Duration.standardMinutes(1))),
            "Sum/"),
        equalTo(List.of("Sum/WindowIntoTumblingWindows", "Sum/GroupPerKey", "Sum/CombineGroupedValues")));
    assertThat(
        stepsUnder(bounded(sum().withWindowSize(FIVE_MINUTES).withTrigger(AfterWatermark.pastEndOfWindow())), "Sum/"),
        equalTo(List.of("Sum/WindowIntoTumblingWindows", "Sum/GroupPerKey", "Sum/CombineGroupedValues")));
    assertThat(
        stepsUnder(bounded(sum().withWindowSize(FIVE_MINUTES).withBoundedInputCombinedBeforeShuffle()), "Sum/"),
        equalTo(List.of("Sum/WindowIntoTumblingWindows", "Sum/CombinePerKey")));

    assertThat(
        stepsUnder(unbounded(sum().withWindowSize(FIVE_MINUTES)), "Sum/"),
        equalTo(List.of("Sum/CombinePerKeyInKeyedState")));
    assertThat(
        stepsUnder(unbounded(sum().withWindowSize(FIVE_MINUTES).withEarlyFiringsEvery(Duration.standardMinutes(1))),
            "Sum/"),
        equalTo(List.of("Sum/WindowIntoTumblingWindows", "Sum/CombinePerKey")));

    // A streaming run's bounded input (a Kafka read with --maxRecords) takes the path a live stream takes.
    Pipeline streamingRun = Pipeline.create(PipelineOptionsFactory.fromArgs("--streaming=true").create());
    streamingRun.apply(Create.timestamped(value("a", 1, Duration.ZERO)).withCoder(KV_CODER))
        .apply("Sum", sum().withWindowSize(FIVE_MINUTES));
    assertThat(stepsUnder(streamingRun, "Sum/"), equalTo(List.of("Sum/CombinePerKeyInKeyedState")));
  }

  /** A pipeline that applies {@code aggregate}, named "Sum", to bounded input. */
  private static Pipeline bounded(TumblingWindowAggregate<String, Long, Long> aggregate) {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    pipeline.apply(Create.timestamped(value("a", 1, Duration.ZERO)).withCoder(KV_CODER)).apply("Sum", aggregate);
    return pipeline;
  }

  /** A pipeline that applies {@code aggregate}, named "Sum", to unbounded input. */
  private static Pipeline unbounded(TumblingWindowAggregate<String, Long, Long> aggregate) {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    pipeline
        .apply(TestStream.create(KV_CODER).addElements(value("a", 1, Duration.ZERO)).advanceWatermarkToInfinity())
        .apply("Sum", aggregate);
    return pipeline;
  }

  /** The full names of the composite's direct steps, in graph order. */
  private static List<String> stepsUnder(Pipeline pipeline, String prefix) {
    List<String> steps = new ArrayList<>();
    pipeline.traverseTopologically(
        new Pipeline.PipelineVisitor.Defaults() {
          @Override
          public CompositeBehavior enterCompositeTransform(TransformHierarchy.Node node) {
            addIfDirectStep(node);
            return CompositeBehavior.ENTER_TRANSFORM;
          }

          @Override
          public void visitPrimitiveTransform(TransformHierarchy.Node node) {
            addIfDirectStep(node);
          }

          private void addIfDirectStep(TransformHierarchy.Node node) {
            String name = node.getFullName();
            if (name.startsWith(prefix) && name.indexOf('/', prefix.length()) < 0) {
              steps.add(name);
            }
          }
        });
    return steps;
  }

  @Test
  void withoutAllowedLatenessLateValuesAreDropped(TestPipeline pipeline) {
    TestStream<KV<String, Long>> values =
        TestStream.create(KV_CODER)
            .advanceWatermarkTo(BASE)
            .addElements(value("a", 1, Duration.standardMinutes(1)))
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(6)))
            .addElements(value("a", 2, Duration.standardMinutes(2)))
            .advanceWatermarkToInfinity();

    PCollection<KV<String, Long>> sums = pipeline.apply(values).apply(sum().withWindowSize(FIVE_MINUTES));

    PAssert.that(sums).inWindow(FIRST_WINDOW).containsInAnyOrder(KV.of("a", 1L));
    PAssert.that(sums).inFinalPane(FIRST_WINDOW).containsInAnyOrder(KV.of("a", 1L));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aCustomTriggerReplacesTheDefaultOneAndPanesStillAccumulate(TestPipeline pipeline) {
    // The default trigger fires no early panes; this one fires one after every value.
    TestStream<KV<String, Long>> values =
        TestStream.create(KV_CODER)
            .advanceWatermarkTo(BASE)
            .addElements(value("a", 1, Duration.standardMinutes(1)))
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(2)))
            .addElements(value("a", 2, Duration.standardMinutes(3)))
            .advanceWatermarkToInfinity();

    PCollection<KV<String, Long>> sums =
        pipeline
            .apply(values)
            .apply(
                sum()
                    .withWindowSize(FIVE_MINUTES)
                    .withTrigger(AfterWatermark.pastEndOfWindow().withEarlyFirings(AfterPane.elementCountAtLeast(1))));

    PAssert.that(sums).inEarlyPane(FIRST_WINDOW).containsInAnyOrder(KV.of("a", 1L), KV.of("a", 3L));
    PAssert.that(sums).inOnTimePane(FIRST_WINDOW).containsInAnyOrder(KV.of("a", 3L));
    pipeline.run().waitUntilFinish();
  }
}
