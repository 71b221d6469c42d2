package dev.clickstream.pipelines;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.DriftRecord;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.CtrFeatureRow;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.transforms.CtrPerUser;
import dev.clickstream.transforms.DetectDrift;
import dev.clickstream.transforms.FormatCtrRows;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.WriteOfflineFiles;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.FlatMapElements;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Click-through rate per user over 5-minute event-time windows.
 *
 * <p>Steps:
 *
 * <ol>
 *   <li>ReadEvents: JSON lines or Avro files.
 *   <li>ParseEvents: valid events on, bad records to the dead letters with their reason.
 *   <li>AssignEventTime: each event's own timestamp.
 *   <li>ComputeCtr: impressions and clicks per user per 5-minute window aligned to the epoch.
 *   <li>FormatRows: one {@link CtrFeatureRow} per window and pane.
 *   <li>WriteOnlineStore: the online rows (a row that cannot be computed to the dead letters), upserted into
 *       {@code ctr_5min}, one row per user holding the latest window.
 *   <li>DetectCtrDrift, WriteDriftStatus: PSI and KS of each window's CTR values against the 15 minutes before;
 *       the latest evaluation into {@code feature_drift}.
 *   <li>WriteOfflineStore: every row, appended to Avro files partitioned by date.
 *   <li>WriteDeadLetters: rejected records, to the dead-letter file (or topic, for Kafka).
 * </ol>
 */
public final class CtrPipeline {

  /** The graph's outputs, for tests and summaries. */
  public static final class Outputs {
    public final PCollection<CtrFeatureRow> rows;
    public final PCollection<DeadLetter> deadLetters;

    Outputs(PCollection<CtrFeatureRow> rows, PCollection<DeadLetter> deadLetters) {
      this.rows = rows;
      this.deadLetters = deadLetters;
    }
  }

  private CtrPipeline() {}

  public static void main(String[] args) {
    CtrPipelineOptions options =
        PipelineOptionsFactory.fromArgs(args).withValidation().as(CtrPipelineOptions.class);
    run(options);
  }

  /** Runs the pipeline as {@link PipelineMain} does: to the end, unless Flink's CLI submits it detached. */
  public static PipelineResult run(CtrPipelineOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, options, ProcessingClock.SYSTEM);
    return PipelineMain.run(pipeline);
  }

  /** Adds the whole CTR pipeline to {@code pipeline}: read, parse, compute, write, dead letters. */
  public static Outputs build(Pipeline pipeline, CtrPipelineOptions options, ProcessingClock clock) {
    PCollectionTuple parsed = EventInput.readAndParse(pipeline, options, "ctr");
    Outputs outputs = buildFrom(EventInput.stamped(parsed, options), options, clock);
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTERS))
            .and(outputs.deadLetters)
            .apply("AllDeadLetters", Flatten.pCollections());
    EventInput.writeDeadLetters(deadLetters, options, "ctr");
    return new Outputs(outputs.rows, deadLetters);
  }

  /**
   * The CTR steps over parsed events stamped with their event time: computes the rows and writes them to the
   * online and offline stores. {@link AllPipelines} shares one parse between every pipeline this way. The returned
   * dead letters are the rows that could not be computed, for the caller to write with its others.
   */
  public static Outputs buildFrom(
      PCollection<ClickEvent> events, ClickstreamOptions options, ProcessingClock clock) {
    PCollection<CtrFeatureRow> rows =
        events
            .apply(
                "ComputeCtr",
                CtrPerUser.of(FeatureDefinitions.CTR_5MIN)
                    .withAllowedLateness(options.getAllowedLateness().toDuration()))
            .apply("FormatRows", FormatCtrRows.withClock(clock));

    PCollection<DeadLetter> failedRows =
        rows.apply(
            "WriteOnlineStore",
            WriteFeatureRows.into(FeatureTables.CTR_5MIN, FormatCtrRows::toOnlineRow, options));
    rows.apply(
        "WriteOfflineStore",
        WriteOfflineFiles.of(CtrFeatureRow.class, FeatureTables.CTR_5MIN.name(), CtrFeatureRow::getWindowStart)
            .to(options.getOfflineStore()));
    PCollection<DeadLetter> failedDriftRows = monitorDrift(rows, options, clock);
    return new Outputs(
        rows,
        PCollectionList.of(failedRows)
            .and(failedDriftRows)
            .apply("FeatureDeadLetters", Flatten.pCollections()));
  }

  /**
   * Drift of the CTR values ({@link FeatureDefinitions#CTR_DRIFT}) into {@code feature_drift}: each user-window
   * counts once, by its on-time pane (a late pane would count the user again); windows without impressions have no
   * CTR and are left out.
   */
  private static PCollection<DeadLetter> monitorDrift(
      PCollection<CtrFeatureRow> rows, ClickstreamOptions options, ProcessingClock clock) {
    DriftMonitor monitor = FeatureDefinitions.CTR_DRIFT;
    PCollection<DriftRecord> drift =
        rows.apply(
                "OnTimeCtrValues",
                FlatMapElements.into(TypeDescriptors.doubles())
                    .via((CtrFeatureRow row) ->
                        row.getCtr() != null && row.getPaneTiming().equals(PaneInfo.Timing.ON_TIME.name())
                            ? List.of(row.getCtr())
                            : List.<Double>of()))
            .apply(
                "DetectCtrDrift",
                DetectDrift.of(monitor)
                    .withAllowedLateness(options.getAllowedLateness().toDuration()));
    return drift.apply(
        "WriteDriftStatus",
        WriteFeatureRows.into(
            DriftMonitor.TABLE,
            (DriftRecord record) -> monitor.row(record, clock.nowMillis()),
            options));
  }
}
