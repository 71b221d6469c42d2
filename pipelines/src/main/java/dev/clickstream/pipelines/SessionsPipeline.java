package dev.clickstream.pipelines;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.SessionFeatures;
import dev.clickstream.transforms.SessionFeatures.SessionStats;
import dev.clickstream.transforms.TooLateEvents;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.joda.time.Duration;

/**
 * Per-user session features from {@link FeatureDefinitions#USER_SESSIONS}: sessions of events less than 30 minutes
 * apart, with their length, events and clicks.
 *
 * <p>Steps:
 *
 * <ol>
 *   <li>ReadEvents, ParseEvents, AssignEventTime: as in {@link CtrPipeline}.
 *   <li>SessionizePerUser: {@link SessionFeatures}, Beam's session-window merge rule on keyed state, one output per
 *       session and pane.
 *   <li>WriteOnlineStore: rows with session lengths (a row that cannot be computed to the dead letters),
 *       upserted into {@code user_sessions}, one row per user holding the session that ends last.
 *   <li>WriteDeadLetters: rejected records, and events that arrived too late for their session.
 * </ol>
 */
public final class SessionsPipeline {
  public static final SessionAggregation FEATURE = FeatureDefinitions.USER_SESSIONS;

  private SessionsPipeline() {}

  public static void main(String[] args) {
    CtrPipelineOptions options =
        PipelineOptionsFactory.fromArgs(args).withValidation().as(CtrPipelineOptions.class);
    run(options);
  }

  /** Runs the pipeline as {@link PipelineMain} does: to the end, unless Flink's CLI submits it detached. */
  public static PipelineResult run(ClickstreamOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, options, ProcessingClock.SYSTEM);
    return PipelineMain.run(pipeline);
  }

  /** Adds the whole sessions pipeline to {@code pipeline}: read, parse, sessionize, write, dead letters. */
  public static PCollection<DeadLetter> build(Pipeline pipeline, ClickstreamOptions options, ProcessingClock clock) {
    return EventInput.around(pipeline, options, "sessions", events -> buildFrom(events, options, clock));
  }

  /**
   * The session steps over parsed events stamped with their event time; the returned dead letters are the events
   * that arrived too late, for the caller to write with its others.
   */
  public static PCollection<DeadLetter> buildFrom(
      PCollection<ClickEvent> events, ClickstreamOptions options, ProcessingClock clock) {
    Duration allowedLateness = options.getAllowedLateness().toDuration();
    PCollectionTuple sessions =
        events.apply("SessionizePerUser", SessionFeatures.of(FEATURE).withAllowedLateness(allowedLateness));
    PCollection<KV<String, SessionStats>> stats = sessions.get(SessionFeatures.SESSIONS);
    PCollection<DeadLetter> failedRows =
        stats.apply(
            "WriteOnlineStore",
            WriteFeatureRows.into(
                FEATURE.table(),
                (KV<String, SessionStats> session) -> row(session, clock.nowMillis()),
                options));
    PCollection<DeadLetter> tooLate =
        sessions
            .get(SessionFeatures.TOO_LATE)
            .apply(
                "TooLateToDeadLetters",
                TooLateEvents.clickEventsToDeadLetters("SessionFeatures", allowedLateness));
    return PCollectionList.of(tooLate)
            .and(failedRows)
        .apply("FeatureDeadLetters", Flatten.pCollections());
  }

  /** A {@code user_sessions} row. */
  static Object[] row(KV<String, SessionStats> session, long updatedAt) {
    SessionStats stats = session.getValue();
    return FEATURE.row(session.getKey(), stats.start(), stats.end(), stats.events(), stats.clicks(), updatedAt);
  }
}
