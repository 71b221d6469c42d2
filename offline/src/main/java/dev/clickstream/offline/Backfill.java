package dev.clickstream.offline;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.pipelines.EventInput;
import dev.clickstream.pipelines.FeaturePipeline;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.pipelines.FeatureSelection;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.OfflineFiles;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.WriteOfflineEvents;
import java.io.IOException;
import java.nio.file.Paths;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.values.PCollection;

/**
 * Recomputes features from the offline raw events of a range of days, in batch, through the same compiled job as
 * the stream ({@link FeaturePipeline#buildFrom}): the same rows, written to the offline store (replacing the files
 * of the same windows) and, with {@code --writeOnlineStore=true}, upserted into the online store to bootstrap a new
 * feature.
 *
 * <p>Steps: ReadOfflineEvents (the Parquet files of {@code events/date=FROM..TO}), AssignEventTime, then the job's
 * own steps, and its dead letters to {@code --deadLetter}.
 *
 * <p>Only the events of the range are read: a feature whose window reaches back before {@code FROM} (a rolling
 * count's hour, a session's gap, a moving average's earlier windows) sees none of the events before it, so start
 * the range a window early to recompute its first rows exactly.
 */
public final class Backfill {
  private Backfill() {}

  /**
   * Adds the backfill of {@code options.getFeatures()} over the offline events from {@code from} to {@code to}
   * (UTC dates, both included) to {@code pipeline}.
   *
   * @throws IllegalArgumentException when the range is empty or the offline store holds no events in it
   */
  public static FeaturePipeline.Outputs build(
      Pipeline pipeline, FeaturePipelineOptions options, LocalDate from, LocalDate to, ProcessingClock clock)
      throws IOException {
    List<String> days = days(options.getOfflineStore(), from, to);
    FeatureSelection selection = FeaturePipeline.selection(FeatureDefinitions.REGISTRY, options);
    PCollection<ClickEvent> events =
        pipeline
            .apply("ReadOfflineEvents", ReadOfflineEvents.from(days))
            .apply("AssignEventTime", AssignEventTime.fromEventTimestamp());
    FeaturePipeline.Outputs outputs = FeaturePipeline.buildFrom(events, options, clock, selection);
    EventInput.writeDeadLetters(outputs.deadLetters, options, "backfill-" + selection.name());
    return outputs;
  }

  /** The globs of the days' event files; fails when none of the days holds any. */
  static List<String> days(String offlineStore, LocalDate from, LocalDate to) throws IOException {
    if (to.isBefore(from)) {
      throw new IllegalArgumentException("--to=" + to + " is before --from=" + from + ": the range is empty");
    }
    List<String> globs = new ArrayList<>();
    boolean any = false;
    String events = Paths.get(offlineStore, WriteOfflineEvents.DIRECTORY).toAbsolutePath().normalize().toString();
    for (LocalDate day = from; !day.isAfter(to); day = day.plusDays(1)) {
      globs.add(events + "/date=" + day + "/*.parquet");
      any |= !OfflineFiles.files(Paths.get(events, "date=" + day)).isEmpty();
    }
    if (!any) {
      throw new IllegalArgumentException("no offline events from " + from + " to " + to + " under " + events
          + ": a run over events keeps them there (./clickstream run ... --offlineStore=" + offlineStore + ")");
    }
    return globs;
  }
}
