package dev.clickstream.runners;

import dev.clickstream.io.DurationOption;
import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.ClickEventDecoder;
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
public final class GenerateCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream generate --output=FILE [options]",
          "       ./clickstream generate --kafka=HOST:PORT [--topic=T] [--rate=N] [--format=avro|json] [options]",
          "",
          "Writes a deterministic synthetic clickstream (same options, same records) in arrival order:",
          "JSON lines, or an Avro container file when FILE ends in .avro; or produces it to a Kafka topic,",
          "one message per record (keyed by user), at a target rate or as fast as the broker takes it.",
          "",
          "  --output=FILE          where to write; parent directories are created",
          "  --kafka=HOST:PORT      produce to this Kafka broker (the topic is created if missing); with --output",
          "                         too, FILE records what was produced, as JSON lines",
          "  --topic=T              Kafka topic (default " + ReadKafkaEvents.DEFAULT_TOPIC + ")",
          "  --rate=N               Kafka: records per second (default 0: as fast as possible); with a rate,",
          "                         event times follow the wall clock: --start defaults to now, --span to",
          "                         events / rate; without one, the span ends now",
          "  --format=avro|json     Kafka: message encoding of valid events (default avro: Avro single-object",
          "                         encoding, which names its schema by fingerprint)",
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
          "  --malformedRatio=R     share of deliberately malformed records; not in Avro files (default 0)",
          "  --clickFollowsImpression=P  chance that a click is on the item of the user's latest impression, so",
          "                         clicks can be attributed (default 0: clicks pick items at random)",
          "",
          "Examples: ./clickstream generate --output=data/events.jsonl --events=1000000 --malformedRatio=0.01",
          "          ./clickstream generate --kafka=127.0.0.1:9092 --events=600000 --rate=10000");

  private static final Set<String> FLAGS =
      Set.of(
          "output", "events", "users", "items", "seed", "start", "span", "clickRatio", "otherRatio", "skew", "jitter",
          "malformedRatio", "clickFollowsImpression", "kafka", "topic", "rate", "format");

  private GenerateCommand() {}

  public static int run(List<String> args, PrintStream out, PrintStream err) throws InterruptedException {
    return run(args, out, err, () -> {});
  }

  /** As {@link #run(List, PrintStream, PrintStream)}, calling {@code beforeFirstSend} as the first record goes out. */
  static int run(List<String> args, PrintStream out, PrintStream err, Runnable beforeFirstSend)
      throws InterruptedException {
    Flags flags = Flags.parse("generate", args, FLAGS);
    if (!flags.has("output") && !flags.has("kafka")) {
      throw new UsageException(
          "generate: give --output=FILE or --kafka=HOST:PORT, or both (see ./clickstream generate --help)");
    }
    if (flags.has("kafka")) {
      return produce(flags, out, err, beforeFirstSend);
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

  /** Produces the stream to Kafka; with a rate, event times follow the wall clock. */
  private static int produce(Flags flags, PrintStream out, PrintStream err, Runnable beforeFirstSend)
      throws InterruptedException {
    String bootstrapServers = flags.string("kafka", null);
    String topic = flags.string("topic", ReadKafkaEvents.DEFAULT_TOPIC);
    double rate = flags.doubleValue("rate", 0, 0, 10_000_000);
    String format = flags.string("format", "avro");
    if (!format.equals("avro") && !format.equals("json")) {
      throw new UsageException("generate: --format=" + format + " is not supported: use avro or json");
    }
    EventGenerator.Settings settings = settings(flags);
    if (rate > 0 && !flags.has("span")) {
      settings.spanMillis = Math.max(1, (long) (settings.events / rate * 1000));
    }
    if (!flags.has("start")) {
      // Produced as fast as possible, the span ends now rather than starts now: events dated ahead of the clock by
      // more than --maxFutureSkew are dead letters in the pipelines.
      settings.startMillis = System.currentTimeMillis() - (rate > 0 ? 0 : settings.spanMillis);
    }
    KafkaTopics.ensure(bootstrapServers, topic);
    out.printf(Locale.ROOT, "Producing %,d records (%s) to %s at %s, %s%n",
        settings.events, format, topic, bootstrapServers,
        rate > 0 ? String.format(Locale.ROOT, "%,.0f records/s", rate) : "as fast as possible");
    long[] malformed = new long[1];
    boolean avro = format.equals("avro");
    String recordTo = flags.string("output", null);
    if (recordTo != null && recordTo.toLowerCase(Locale.ROOT).endsWith(".avro")) {
      throw new UsageException("generate: with --kafka, --output records JSON lines; use a .jsonl file");
    }
    KafkaEventProducer producer = new KafkaEventProducer(bootstrapServers, topic, rate, settings.events, err);
    try (producer; BufferedWriter recorded = recordTo == null ? null : newWriter(Path.of(recordTo))) {
      new EventGenerator(settings).generate(record -> {
        // Avro messages need the JSON text only to record them.
        String line = record.event == null || !avro || recorded != null ? record.jsonLine() : null;
        byte[] key = null;
        byte[] value;
        if (record.event == null) {
          malformed[0]++;
          value = line.getBytes(StandardCharsets.UTF_8);
        } else {
          key = record.event.getUserId().getBytes(StandardCharsets.UTF_8);
          value = avro ? ClickEventDecoder.toAvro(record.event) : line.getBytes(StandardCharsets.UTF_8);
        }
        if (recorded != null) {
          writeLine(recorded, line);
        }
        if (producer.sent() == 0) {
          beforeFirstSend.run();
        }
        try {
          producer.send(key, value);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted after " + producer.sent() + " records", e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + recordTo + ": " + e.getMessage(), e);
    }
    out.printf(Locale.ROOT, "Produced %,d records (%,d malformed) for %,d users to %s in %.1f s%n",
        producer.sent(), malformed[0], settings.users, topic, producer.secondsSinceStart());
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
      settings.spanMillis = DurationOption.parseFlag("span", flags.string("span", null)).getMillis();
    }
    if (flags.has("jitter")) {
      settings.jitterMillis = DurationOption.parseFlag("jitter", flags.string("jitter", null)).getMillis();
    }
    settings.clickRatio = flags.doubleValue("clickRatio", settings.clickRatio, 0, 1_000);
    settings.otherRatio = flags.doubleValue("otherRatio", settings.otherRatio, 0, 1);
    settings.skew = flags.doubleValue("skew", settings.skew, 0, 10);
    settings.malformedRatio = flags.doubleValue("malformedRatio", settings.malformedRatio, 0, 1);
    settings.clickFollowsImpression =
        flags.doubleValue("clickFollowsImpression", settings.clickFollowsImpression, 0, 1);
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
                    if (record.event == null) {
                      counts[1]++;
                    }
                    writeLine(writer, record.jsonLine());
                    progress(++counts[0], settings.events, progressStep, started, err);
                  });
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + output + ": " + e.getMessage(), e);
    }
    return counts;
  }

  private static BufferedWriter newWriter(Path output) {
    try {
      Files.createDirectories(output.toAbsolutePath().getParent());
      return Files.newBufferedWriter(output, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + output + ": " + e.getMessage(), e);
    }
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
