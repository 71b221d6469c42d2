package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.ReplaceRule;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.features.FeatureTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A feature's rows: computed and observed; a row that fails or does not fit goes to the dead letters, alone. */
@ExtendWith(TestPipelineExtension.class)
class FeatureRowsTest {
  private static final FeatureTable TABLE =
      FeatureTable.builder("ratio_feature", "entity")
          .longFeature("count")
          .nullableDoubleFeature("inverse")
          .replaceWhen(ReplaceRule.always())
          .build();

  @Test
  void aFailingRowGoesToTheDeadLettersWithTheFeatureNameAndTheOthersAreWritten(TestPipeline pipeline) {
    PCollectionTuple rows =
        pipeline
            .apply(Create.of(4L, 0L, 2L, -1L, 8L).withCoder(VarLongCoder.of()))
            .apply(FeatureRows.of(TABLE, FeatureRowsTest::row));

    PAssert.that(rows.get(FeatureRows.ROWS))
        .containsInAnyOrder(
            FeatureRows.row(TABLE, "e4", 4L, 0.25),
            FeatureRows.row(TABLE, "e2", 2L, 0.5),
            FeatureRows.row(TABLE, "e8", 8L, 0.125));
    PAssert.that(
            rows.get(FeatureRows.FAILURES)
                .apply(MapElements.into(TypeDescriptors.strings()).via(FeatureRowsTest::describe)))
        .containsInAnyOrder(
            // 1.0 / 0 is infinite: no store holds it.
            "ratio_feature feature_failed computing a ratio_feature row failed: java.lang.IllegalArgumentException:"
                + " column inverse got Infinity; stores hold finite numbers only | 0",
            "ratio_feature feature_failed computing a ratio_feature row failed: java.lang.IllegalStateException:"
                + " a negative count: -1 | -1");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, "ratio_feature", "elements_in"), equalTo(5L));
    assertThat(PipelineCounters.value(result, "ratio_feature", "rows_out"), equalTo(3L));
    assertThat(PipelineCounters.value(result, "ratio_feature", "failures"), equalTo(2L));
    assertThat(rowMicrosCount(result), equalTo(5L));
  }

  @Test
  void rowsThatDoNotFitTheTableFail(TestPipeline pipeline) {
    PCollectionTuple rows =
        pipeline
            .apply(Create.of(1L, 2L, 3L).withCoder(VarLongCoder.of()))
            .apply(
                FeatureRows.of(
                    TABLE,
                    (Long n) -> n == 1 ? new Object[] {"e1", 1L}
                        : n == 2 ? new Object[] {"e2", null, 1.0}
                        : new Object[] {"e3", 3, 1.0}));

    PAssert.that(rows.get(FeatureRows.ROWS)).empty();
    PAssert.that(
            rows.get(FeatureRows.FAILURES)
                .apply(MapElements.into(TypeDescriptors.strings()).via((DeadLetter d) -> d.getDetail())))
        .containsInAnyOrder(
            "computing a ratio_feature row failed: java.lang.IllegalArgumentException: expected 3 values [entity,"
                + " count, inverse], got [e1, 1]",
            "computing a ratio_feature row failed: java.lang.IllegalArgumentException: column count may not be null",
            "computing a ratio_feature row failed: java.lang.IllegalArgumentException: column count got a"
                + " java.lang.Integer (3); it holds Long or null");
    pipeline.run().waitUntilFinish();
  }

  @Test
  void rowsValidByConstructionHaveOneOutputAndNoDeadLetters(TestPipeline pipeline) {
    PCollectionTuple rows =
        pipeline
            .apply(Create.of(4L, 2L).withCoder(VarLongCoder.of()))
            .apply(FeatureRows.of(TABLE, FeatureRowsTest::row).validByConstruction());

    // One output, so a runner can chain the step to the next one.
    assertThat(rows.getAll().keySet(), equalTo(Set.of(FeatureRows.ROWS)));
    PAssert.that(rows.get(FeatureRows.ROWS))
        .containsInAnyOrder(FeatureRows.row(TABLE, "e4", 4L, 0.25), FeatureRows.row(TABLE, "e2", 2L, 0.5));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(PipelineCounters.value(result, "ratio_feature", "rows_out"), equalTo(2L));
  }

  @Test
  void aRowValidByConstructionThatIsNotIsABugThatFailsTheBundleNamingTheElement(TestPipeline pipeline) {
    pipeline
        .apply(Create.of(0L).withCoder(VarLongCoder.of()))
        .apply(FeatureRows.of(TABLE, FeatureRowsTest::row).validByConstruction());

    Exception failed = assertThrows(Exception.class, pipeline::run);
    assertThat(rootCause(failed).getMessage(),
        equalTo("a ratio_feature row, declared valid by construction, is not: java.lang.IllegalArgumentException:"
            + " column inverse got Infinity; stores hold finite numbers only; this is a bug in the feature's"
            + " computation. The element: 0"));
  }

  /** The innermost IllegalStateException: what the step threw, under the runner's wrappers. */
  private static Throwable rootCause(Throwable thrown) {
    Throwable found = thrown;
    for (Throwable cause = thrown; cause != null; cause = cause.getCause()) {
      if (cause instanceof IllegalStateException) {
        found = cause;
      }
    }
    return found;
  }

  @Test
  void theSchemaFollowsTheTableColumnByColumn() {
    assertThat(
        FeatureRows.schemaOf(TABLE),
        equalTo(Schema.builder()
            .addStringField("entity")
            .addInt64Field("count")
            .addNullableField("inverse", Schema.FieldType.DOUBLE)
            .build()));
  }

  @Test
  void featureRowsRoundTripThroughTheCoderOfTheirSchema() throws Exception {
    // Rows are never grouped on, so Beam's RowCoder (not deterministic for doubles) is all they need.
    CoderProperties.coderDecodeEncodeEqual(
        RowCoder.of(FeatureRows.schemaOf(TABLE)), FeatureRows.row(TABLE, "u1", 7L, null));
    CoderProperties.coderDecodeEncodeEqual(
        RowCoder.of(FeatureRows.schemaOf(TABLE)), FeatureRows.row(TABLE, "u2", -3L, 0.5));
  }

  private static Object[] row(Long count) {
    if (count < 0) {
      throw new IllegalStateException("a negative count: " + count);
    }
    return new Object[] {"e" + count, count, 1.0 / count};
  }

  private static String describe(DeadLetter deadLetter) {
    return deadLetter.getStage() + " " + deadLetter.getReason() + " " + deadLetter.getDetail() + " | "
        + deadLetter.getRawPayload();
  }

  private static long rowMicrosCount(PipelineResult result) {
    List<Long> counts = new ArrayList<>();
    for (MetricResult<DistributionResult> distribution :
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder().addNameFilter(MetricNameFilter.named("ratio_feature", "row_micros")).build())
            .getDistributions()) {
      counts.add(distribution.getCommitted().getCount());
    }
    return counts.stream().mapToLong(Long::longValue).sum();
  }
}
