package dev.clickstream.runners;

import dev.clickstream.pipelines.DurationOption;
import dev.clickstream.schemas.ClickEvent;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;

/** {@code ./clickstream generate}: writes a deterministic synthetic event stream to a file. */
final class GenerateCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream generate --output=FILE [options]",
          "",
          "Writes a deterministic synthetic clickstream (same options, same file) in arrival order:",
          "JSON lines, or an Avro container file when FILE ends in .avro.",
          "",
          "  --output=FILE          where to write (required); parent directories are created",
          "  --events=N             number of records (default 100000)",
          "  --users=N              distinct users u0..u{N-1} (default 1000)",
          "  --items=N              distinct items item0..item{N-1} (default 200)",
          "  --seed=N               random seed (default 42)",
          "  --start=TIME           first arrival: epoch ms or ISO instant (default 1763800000000 = 2025-11-22T08:26:40Z)",
          "  --span=DURATION        time the arrivals cover, e.g. 1h, 30m, PT2H (default 1h)",
          "  --clickRatio=R         clicks per impression (default 0.1: one click per ten impressions)",
          "  --otherRatio=R         share of page_view events, which CTR ignores (default 0.05)",
          "  --skew=S               Zipf exponent of user activity; 0 is uniform (default 1.0)",
          "  --jitter=DURATION      event time lags arrival by up to this, so events arrive out of order (default 30s)",
          "  --malformedRatio=R     share of deliberately malformed records, JSON lines only (default 0)",
          "",
          "Example: ./clickstream generate --output=data/events.jsonl --events=1000000 --malformedRatio=0.01");

  private static final Set<String> FLAGS =
      Set.of(
          "output", "events", "users", "items", "seed", "start", "span", "clickRatio", "otherRatio", "skew", "jitter",
          "malformedRatio");

  private GenerateCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (Flags.wantsHelp(args)) {
      out.println(HELP);
      return 0;
    }
    Flags flags = Flags.parse("generate", args, FLAGS);
    if (!flags.has("output")) {
      throw new UsageException("generate: --output=FILE is required (see ./clickstream generate --help)");
    }
    EventGenerator.Settings settings = settings(flags);
    Path output = Path.of(flags.string("output", null));
    boolean avro = output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".avro");
    if (avro && settings.malformedRatio > 0) {
      throw new UsageException(
          "generate: --malformedRatio needs JSON lines output; an Avro file cannot hold malformed records."
              + " Use a .jsonl file, or drop --malformedRatio");
    }
    long started = System.nanoTime();
    long[] counts = write(settings, output, avro, err);
    double seconds = (System.nanoTime() - started) / 1e9;
    out.printf(
        Locale.ROOT,
        "Wrote %,d records (%,d malformed) for %,d users to %s in %.1f s%n",
        counts[0], counts[1], settings.users, output, seconds);
    return 0;
  }

  static EventGenerator.Settings settings(Flags flags) {
    EventGenerator.Settings settings = new EventGenerator.Settings();
    settings.events = flags.longValue("events", settings.events, 1, Long.MAX_VALUE / 2);
    settings.users = (int) flags.longValue("users", settings.users, 1, 50_000_000);
    settings.items = (int) flags.longValue("items", settings.items, 1, Integer.MAX_VALUE);
    settings.seed = flags.longValue("seed", settings.seed, Long.MIN_VALUE, Long.MAX_VALUE);
    settings.startMillis = parseStart(flags.string("start", null), settings.startMillis);
    if (flags.has("span")) {
      settings.spanMillis = DurationOption.parse("span", flags.string("span", null)).getMillis();
    }
    if (flags.has("jitter")) {
      settings.jitterMillis = DurationOption.parse("jitter", flags.string("jitter", null)).getMillis();
    }
    settings.clickRatio = flags.doubleValue("clickRatio", settings.clickRatio, 0, 1_000);
    settings.otherRatio = flags.doubleValue("otherRatio", settings.otherRatio, 0, 1);
    settings.skew = flags.doubleValue("skew", settings.skew, 0, 10);
    settings.malformedRatio = flags.doubleValue("malformedRatio", settings.malformedRatio, 0, 1);
    return settings;
  }

  private static long parseStart(String text, long defaultValue) {
    if (text == null) {
      return defaultValue;
    }
    try {
      return text.matches("\\d+") ? Long.parseLong(text) : Instant.parse(text).toEpochMilli();
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new UsageException(
          "generate: --start=" + text + " is neither epoch milliseconds nor an ISO instant like 2025-11-22T08:00:00Z");
    }
  }

  /** Returns {records, malformed}. Reports progress on {@code err} about every tenth of the run. */
  private static long[] write(EventGenerator.Settings settings, Path output, boolean avro, PrintStream err) {
    long[] counts = new long[2];
    long progressStep = Math.max(100_000, settings.events / 10);
    long started = System.nanoTime();
    try {
      Path parent = output.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      if (avro) {
        try (DataFileWriter<ClickEvent> writer =
            new DataFileWriter<>(new SpecificDatumWriter<>(ClickEvent.class))) {
          writer.create(ClickEvent.getClassSchema(), output.toFile());
          new EventGenerator(settings)
              .generate(
                  record -> {
                    append(writer, record.event);
                    progress(++counts[0], settings.events, progressStep, started, err);
                  });
        }
      } else {
        try (BufferedWriter writer = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
          new EventGenerator(settings)
              .generate(
                  record -> {
                    String line;
                    if (record.event == null) {
                      counts[1]++;
                      line = record.malformedLine;
                    } else {
                      line = EventGenerator.toJsonLine(record.event);
                    }
                    writeLine(writer, line);
                    progress(++counts[0], settings.events, progressStep, started, err);
                  });
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + output + ": " + e.getMessage(), e);
    }
    return counts;
  }

  private static void append(DataFileWriter<ClickEvent> writer, ClickEvent event) {
    try {
      writer.append(event);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writeLine(BufferedWriter writer, String line) {
    try {
      writer.write(line);
      writer.write('\n');
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void progress(long done, long total, long step, long startedNanos, PrintStream err) {
    if (done % step != 0 || done == total) {
      return;
    }
    double seconds = (System.nanoTime() - startedNanos) / 1e9;
    err.printf(
        Locale.ROOT,
        "  generated %,d of %,d records (%d%%), %,.0f records/s%n",
        done, total, done * 100 / total, done / Math.max(seconds, 1e-3));
  }
}
