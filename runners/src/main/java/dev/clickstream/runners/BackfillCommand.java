package dev.clickstream.runners;

import dev.clickstream.offline.Backfill;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.store.JdbcUrls;
import dev.clickstream.store.StorePreflight;
import dev.clickstream.transforms.ProcessingClock;
import java.io.IOException;
import java.io.PrintStream;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;

/**
 * {@code ./clickstream backfill}: recomputes features from the offline raw events of a range of days ({@link
 * Backfill}), into the offline store and, with {@code --online}, the online store.
 */
final class BackfillCommand {
  private static final Set<String> OWN_FLAGS = Set.of("features", "from", "to", "online");

  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream backfill --features=FEATURE[,FEATURE...]|ALIAS --from=YYYY-MM-DD --to=YYYY-MM-DD"
              + " [--online] [job options]",
          "",
          "Recomputes the features from the offline raw events of those UTC days (OFFLINE/events/date=...), in",
          "batch, through the same job as ./clickstream run: the same rows, written to the offline store (replacing",
          "the files of the same windows). Only the range's events are read: start it a window early (an hour for",
          "click_counts) to recompute its first rows exactly.",
          "",
          "  --features=NAMES   features or an alias, as ./clickstream run takes them (all: every feature)",
          "  --from, --to       the first and last day, both included",
          "  --online           also upsert the rows into the online store (--onlineStore), to bootstrap a feature",
          "",
          "Job options as ./clickstream run takes them: --offlineStore (default ./data/offline), --onlineStore,",
          "--dimensions, --runner, --flinkMaster, --deadLetter (default ./data/dead-letters/backfill-NAMES.jsonl).");

  private BackfillCommand() {}

  static int run(List<String> args, PrintStream out) throws IOException {
    Flags flags = Flags.parse("backfill", ownFlags(args), OWN_FLAGS);
    String features = flags.string("features", "");
    if (features.isBlank()) {
      throw new UsageException("backfill: --features=NAMES is required (see ./clickstream backfill --help)");
    }
    LocalDate from = date(flags, "from");
    LocalDate to = date(flags, "to");
    boolean online = Boolean.parseBoolean(flags.string("online", "false"));
    List<String> jobArgs = new ArrayList<>(Flags.without(args, OWN_FLAGS));
    jobArgs.add("--writeOnlineStore=" + online);
    FeaturePipelineOptions options = RunCommand.options(features, jobArgs);
    if (online) {
      String problem = StorePreflight.problem(options.getOnlineStore());
      if (problem != null) {
        throw new UsageException(
            "backfill: --onlineStore=" + JdbcUrls.redacted(options.getOnlineStore()) + " " + problem);
      }
    }
    Pipeline pipeline = Pipeline.create(options);
    try {
      Backfill.build(pipeline, options, from, to, ProcessingClock.SYSTEM);
    } catch (IllegalArgumentException e) {
      throw new UsageException("backfill: " + e.getMessage());
    }
    out.printf("Backfilling %s from the offline events of %s to %s (%s) on %s: -> %s%s%n", features, from, to,
        options.getOfflineStore(), options.getRunner().getSimpleName(), options.getOfflineStore(),
        online ? " and " + JdbcUrls.redacted(options.getOnlineStore()) : "");
    PipelineResult result = RunCommand.runWithHeartbeat(pipeline, out);
    out.println("Done. Counters:");
    RunCommand.printCounters(result, out);
    return 0;
  }

  /** The command's own flags among {@code args}: the rest are the job's. */
  private static List<String> ownFlags(List<String> args) {
    List<String> own = new ArrayList<>(args);
    own.removeAll(Flags.without(args, OWN_FLAGS));
    return own;
  }

  private static LocalDate date(Flags flags, String name) {
    String text = flags.string(name, "");
    try {
      return LocalDate.parse(text);
    } catch (DateTimeParseException e) {
      throw new UsageException("backfill: --" + name + "=" + text + " must be a date, YYYY-MM-DD (UTC)");
    }
  }

}
