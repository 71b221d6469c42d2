package dev.clickstream.bench;

import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.io.DurationOption;
import dev.clickstream.pipelines.ClickCounter;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.pipelines.EventSource;
import dev.clickstream.pipelines.EmbeddedFlink;
import dev.clickstream.pipelines.FeaturePipeline;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.pipelines.FeatureSelection;
import dev.clickstream.pipelines.EventInput;
import dev.clickstream.pipelines.EventSource;
import dev.clickstream.runners.Flags;
import dev.clickstream.runners.GenerateCommand;
import dev.clickstream.runners.KafkaEventProducer;
import dev.clickstream.runners.UsageException;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.store.JdbcUrls;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.BundleMetrics;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.CompileFeature;
import dev.clickstream.transforms.EntityPartials;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.RollingAggregate;
import dev.clickstream.transforms.SelectFeatureEvents;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.Read;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * {@code ./clickstream bench pipeline}: the throughput of the CTR and rolling click-count pipelines on embedded
 * Flink, with and without their stores, against the same CTR written with Flink's DataStream API, over the same
 * generated events, one run after the other in one process (see {@link #HELP} for the runs).
 *
 * <p>Every run turns event indexes into the same events ({@link #event}: a pure function of the index, so no run
 * pays for reading a file, except the Kafka runs, which read one topic those events were written to). Each run goes
 * once to warm up, then once measured, with the heap's peak reset before it. The runs count what they computed in
 * their sinks, and each is checked against its native run, so the figures compare the same work.
 *
 * <p>The streaming runs ({@link StreamingRuns}: every feature, CTR and rolling counts, and those two in Flink's
 * DataStream API, from a pre-filled topic into PostgreSQL with checkpoints) run only when {@code --runs} names them;
 * they compare the tables they leave.
 */
final class PipelineBench {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream bench pipeline [options] [-- BEAM_OPTIONS]",
          "",
          "Runs, one after the other in this process on embedded Flink (2 slots), over the same generated events:",
          "  ctr             the compiled ctr_5min (AssignEventTime, TumblingFeatures) into a counting sink",
          "  ctr-stores      FeaturePipeline of ctr (ctr_5min and its drift): rows, drift, online store (H2 in a",
          "                  temporary directory) and offline files",
          "  rolling         the rolling click counts' transforms (SelectFeatureEvents, RollingAggregate) into a",
          "                  counting sink",
          "  rolling-stores  FeaturePipeline of click-counts (the rolling click counts) into H2",
          "  native          the CTR per user and 5-minute window with Flink's DataStream API, into a counting sink",
          "  ctr-kafka       the CTR pipeline's read from Kafka (ReadKafkaEvents, Avro) and CTR transforms, into a",
          "                  counting sink, from a topic of the same events on an embedded broker (1 partition)",
          "  native-kafka    native's CTR reading the same topic with Flink's KafkaSource and Avro's decoder",
          "each once to warm up (on --warmup events) and once measured, and prints events/s of each, its ratio to",
          "native (ctr-kafka: to native-kafka), what each computed (the CTR runs must agree with native; the",
          "rolling runs must count every click native counted) and the peak heap of each measured run. The Kafka",
          "runs' topics are filled before they start, not timed.",
          "",
          "Streaming runs, only when named in --runs: each reads a topic of one partition filled first (not timed)",
          "by ./clickstream generate (users drawn Zipf-skewed, 1% malformed records, clicks following impressions",
          "as in the demo), as run --source=kafka --streaming=true --maxRecords=N does, on embedded Flink with",
          "checkpoints every 2 s, into a PostgreSQL schema of its own (--onlineStore), dropped after the run:",
          "  all-stream      every feature: the registry's one job, as ./clickstream run all builds it (the users",
          "                  and items dimension tables written into the schema first)",
          "  counts-stream   the same job of ctr_5min and click_counts",
          "  native-stream   ctr_5min and click_counts with Flink's DataStream API: KafkaSource, Avro's decoder,",
          "                  event-time windows and keyed state, a JDBC sink of batched guarded upserts",
          "The time of a streaming run is its job's, from its start to its end with every row written. Each prints",
          "its rows per table, dead letters, and when its first and last click-count rows were made (the last",
          "against the job's end: how long the job went on after the stream had gone through). ctr_5min and",
          "click_counts must hold the same rows (but updated_at) in every streaming run, and the same dead letters",
          "counted, as native-stream's: else the bench exits 1. It prints counts-stream/native-stream and",
          "all-stream's events/s, medians over the rounds, and CPU seconds.",
          "",
          "  --events=N      events per measured run (default 10000000; streaming runs 200000)",
          "  --warmup=N      events per warm-up run (default 1000000, streaming runs 20000; 0 skips the warm-up)",
          "  --users=N       distinct users (default 100000; streaming runs 10000)",
          "  --span=DURATION event time the events cover (default 6h; streaming runs 1h)",
          "  --runs=LIST     which runs, comma-separated (default: all but the streaming runs)",
          "  --rounds=N      measure every run N times, round after round, and give each ratio's median (default",
          "                  1): ratios of runs minutes apart move with the machine's load",
          "  --onlineStore=URL  the streaming runs' PostgreSQL (default " + BenchCommand.DEFAULT_STORE + ")",
          "",
          "Options after -- go to the Beam runs' pipeline options, e.g. -- --objectReuse=true.");

  /** The runs without --runs: all but the streaming runs, which need PostgreSQL and take minutes each. */
  static final List<String> DEFAULT_RUNS =
      List.of("ctr", "ctr-stores", "rolling", "rolling-stores", "native", "ctr-kafka", "native-kafka");
  static final List<String> RUNS = runNames();
  private static final Set<String> FLAGS =
      Set.of("events", "warmup", "users", "span", "runs", "rounds", "onlineStore");
  /** 2025-11-22T08:26:40Z, as the generator's default start. */
  static final long START = 1_763_800_000_000L;
  private static final long JITTER_MILLIS = 30_000L;
  private static final TumblingAggregation FEATURE = FeatureDefinitions.CTR_5MIN;
  private static final WindowedAggregation CLICK_COUNTS = FeatureDefinitions.CLICK_COUNTS;
  private static final String NAMESPACE = "PipelineBench";
  /** Index ranges the Beam side generates from: small enough that the workers finish within a range of each other. */
  private static final int GENERATOR_SPLITS = 64;
  private static final TypeInformation<Tuple3<String, String, Long>> EVENT_TYPE =
      Types.TUPLE(Types.STRING, Types.STRING, Types.LONG);

  private PipelineBench() {}

  /**
   * What one run computed and how long it took. CTR runs count rows and sum their impressions and clicks; rolling
   * runs count rows and the clicks they were given (as {@code clicks}).
   */
  record Run(String side, long events, long nanos, long rows, long impressions, long clicks, long peakHeapBytes,
      String detail, long cpuNanos, StreamingRuns.Stored stored) {
    Run(String side, long events, long nanos, long rows, long impressions, long clicks, long peakHeapBytes,
        String detail) {
      this(side, events, nanos, rows, impressions, clicks, peakHeapBytes, detail, 0, null);
    }

    /** A streaming run, whose tables say what it computed. */
    static Run streaming(String side, long events, long nanos, long peakHeapBytes, StreamingRuns.Stored stored) {
      return new Run(side, events, nanos, stored.rowsOf(StreamingRuns.CTR.table()), 0,
          stored.rowsOf(StreamingRuns.CLICK_COUNTS.precomputedTable()), peakHeapBytes,
          StreamingRuns.describe(stored, events, nanos),
          0, stored);
    }

    double eventsPerSecond() {
      return events / (nanos / 1e9);
    }


    /** The run with the CPU time the whole process spent on it, its own and the runner's threads together. */
    Run withCpuNanos(long cpu) {
      return new Run(side, events, nanos, rows, impressions, clicks, peakHeapBytes, detail, cpu, stored);
    }
  }

  /**
   * The events, the Beam options, for the Kafka runs the broker, and for the streaming runs their PostgreSQL, of
   * one measured or warm-up run.
   */
  record Setup(long events, int users, long span, List<String> beamArgs, KafkaTopics kafka, String onlineStore) {
    /** This setup with {@code count} events, reading from {@code topics} where it reads Kafka. */
    Setup with(long count, KafkaTopics topics) {
      return new Setup(count, users, span, beamArgs, topics, onlineStore);
    }
  }

  private static List<String> runNames() {
    List<String> runs = new ArrayList<>(DEFAULT_RUNS);
    runs.addAll(StreamingRuns.RUNS);
    return List.copyOf(runs);
  }

  static int run(List<String> args, PrintStream out) throws Exception {
    if (Flags.wantsHelp(args)) {
      out.println(HELP);
      return 0;
    }
    int separator = args.indexOf("--");
    List<String> beamArgs = separator < 0 ? List.of() : args.subList(separator + 1, args.size());
    Flags flags = Flags.parse("bench pipeline", separator < 0 ? args : args.subList(0, separator), FLAGS);
    List<String> runs = runs(flags.string("runs", String.join(",", DEFAULT_RUNS)));
    int rounds = (int) flags.longValue("rounds", 1, 1, 100);
    boolean streaming = runs.stream().anyMatch(StreamingRuns::isStreaming);
    boolean batch = !runs.stream().allMatch(StreamingRuns::isStreaming);
    String onlineStore = flags.string("onlineStore", BenchCommand.DEFAULT_STORE);
    if (streaming) {
      StreamingRuns.checkStore(onlineStore);
    }
    String batchSpan = flags.string("span", "6h");
    String streamSpan = flags.string("span", StreamingRuns.DEFAULT_SPAN);
    Setup batchRun = setup(flags, 10_000_000, 100_000, batchSpan, beamArgs, onlineStore);
    Setup streamRun = setup(flags, StreamingRuns.DEFAULT_EVENTS, StreamingRuns.DEFAULT_USERS, streamSpan, beamArgs,
        onlineStore);
    long batchWarmup = flags.longValue("warmup", 1_000_000, 0, 2_000_000_000);
    long streamWarmup = flags.longValue("warmup", StreamingRuns.DEFAULT_WARMUP, 0, 2_000_000_000);

    Setup shown = batch ? batchRun : streamRun;
    out.printf(Locale.ROOT, "%,d events, %,d users over %s, embedded Flink, 2 slots; runs: %s%n", shown.events(),
        shown.users(), batch ? batchSpan : streamSpan, String.join(", ", runs));
    if (streaming && batch) {
      out.printf(Locale.ROOT, "Streaming runs: %,d events, %,d users over %s%n", streamRun.events(),
          streamRun.users(), streamSpan);
    }
    if (streaming) {
      out.printf(Locale.ROOT, "Streaming runs read a topic of one partition (Zipf-skewed users, 1%% malformed"
          + " records), checkpoint every %d s and write to %s, a schema per run%n",
          StreamingRuns.CHECKPOINT_INTERVAL.toSeconds(), JdbcUrls.redacted(onlineStore));
    }
    boolean kafkaRuns = streaming || runs.stream().anyMatch(run -> run.endsWith("-kafka"));
    try (KafkaTopics kafka = kafkaRuns ? KafkaTopics.start(out) : null) {
      if (batchWarmup > 0 && batch || streamWarmup > 0 && streaming) {
        out.printf(Locale.ROOT, "Warming up on %s ...%n", batch && streaming
            ? String.format(Locale.ROOT, "%,d events (streaming runs %,d)", batchWarmup, streamWarmup)
            : String.format(Locale.ROOT, "%,d events", batch ? batchWarmup : streamWarmup));
        for (String run : runs) {
          boolean stream = StreamingRuns.isStreaming(run);
          Setup setup = (stream ? streamRun : batchRun).with(stream ? streamWarmup : batchWarmup, kafka);
          if (setup.events() > 0) {
            measure(run, setup);
          }
        }
      }
      List<Map<String, Run>> measuredRounds = new ArrayList<>();
      for (int round = 1; round <= rounds; round++) {
        Map<String, Run> measured = new LinkedHashMap<>();
        for (String run : runs) {
          out.printf(Locale.ROOT, rounds == 1 ? "Running %s ...%n" : "Running %s (round %d of %d) ...%n", run, round,
              rounds);
          long cpuBefore = processCpuNanos();
          Setup setup = StreamingRuns.isStreaming(run) ? streamRun : batchRun;
          Run result = measure(run, setup.with(setup.events(), kafka));
          result = result.withCpuNanos(processCpuNanos() - cpuBefore);
          measured.put(run, result);
          print(result, out);
        }
        measuredRounds.add(measured);
      }
      return compare(measuredRounds, out);
    }
  }

  private static Setup setup(Flags flags, long events, int users, String span, List<String> beamArgs,
      String onlineStore) {
    return new Setup(flags.longValue("events", events, 1, 2_000_000_000),
        (int) flags.longValue("users", users, 1, 100_000_000), DurationOption.parseFlag("span", span).getMillis(),
        beamArgs, null, onlineStore);
  }

  private static List<String> runs(String list) {
    List<String> runs = new ArrayList<>();
    for (String run : list.split(",")) {
      String name = run.trim();
      if (!RUNS.contains(name)) {
        throw new UsageException("bench pipeline: --runs takes " + String.join(", ", RUNS) + "; got '" + name + "'");
      }
      if (!runs.contains(name)) {
        runs.add(name);
      }
    }
    return runs;
  }

  private static Run measure(String run, Setup setup) throws Exception {
    switch (run) {
      case "ctr":
        return ctr(setup, false);
      case "ctr-stores":
        return ctr(setup, true);
      case "rolling":
        return rolling(setup, false);
      case "rolling-stores":
        return rolling(setup, true);
      case "ctr-kafka":
        return ctrFromKafka(setup);
      case "native-kafka":
        return nativeFlinkFromKafka(setup);
      case StreamingRuns.ALL:
      case StreamingRuns.COUNTS:
      case StreamingRuns.NATIVE:
        return StreamingRuns.measure(run, setup);
      default:
        return nativeFlink(setup);
    }
  }

  /**
   * Ratios to the native run of the same input and round (ctr-kafka to native-kafka, the others to native), their
   * median over the rounds, and the cross-checks: exit 1 when a run computed something else than its native run did.
   */
  private static int compare(List<Map<String, Run>> rounds, PrintStream out) {
    boolean agree = true;
    for (String side : rounds.get(0).keySet()) {
      if (StreamingRuns.isStreaming(side)) {
        agree &= compareStreaming(side, rounds, out);
        continue;
      }
      if (side.startsWith("native")) {
        continue;
      }
      String baseline = side.endsWith("-kafka") ? "native-kafka" : "native";
      if (!rounds.get(0).containsKey(baseline)) {
        out.printf(Locale.ROOT, "No ratio for %s: %s did not run.%n", side, baseline);
        continue;
      }
      List<Double> ratios = new ArrayList<>();
      List<Double> cpuRatios = new ArrayList<>();
      for (Map<String, Run> round : rounds) {
        Run run = round.get(side);
        Run nativeRun = round.get(baseline);
        ratios.add(run.eventsPerSecond() / nativeRun.eventsPerSecond());
        cpuRatios.add((double) nativeRun.cpuNanos() / run.cpuNanos());
        if (!computedTheSame(run, nativeRun)) {
          out.printf(Locale.ROOT, "error: %s computed other rows than %s; the figures compare different work%n",
              side, baseline);
          agree = false;
        }
      }
      if (ratios.size() == 1) {
        out.printf(Locale.ROOT, "ratio %s/%s: %.2f%n", side, baseline, ratios.get(0));
      } else {
        out.printf(Locale.ROOT, "ratio %s/%s: %.2f, the median of %s%n", side, baseline, median(ratios),
            ratios.stream().map(ratio -> String.format(Locale.ROOT, "%.2f", ratio)).collect(Collectors.joining(", ")));
      }
      // CPU time moves less than wall time when other processes share the cores: the work itself, compared.
      out.printf(Locale.ROOT, "  CPU time %s/%s (%s's CPU seconds over %s's, the same events): %.2f, the"
          + " median of %s%n", side, baseline, baseline, side, median(cpuRatios),
          cpuRatios.stream().map(ratio -> String.format(Locale.ROOT, "%.2f", ratio)).collect(Collectors.joining(", ")));
    }
    if (!agree) {
      return 1;
    }
    out.println("Every run compared computed what its native run computed (CTR rows and counts; rolling: every"
        + " click; streaming: the same ctr_5min and click_counts rows and dead letters).");
    return 0;
  }

  /** The bar issue 18 sets for every feature, live, on 2 cores. */
  static final double ALL_STREAM_TARGET = 50_000;

  /**
   * A streaming run's medians over the rounds (events/s, CPU seconds, time after its last click-count row), its
   * ratio to native-stream (counts-stream), and its tables against native-stream's in every round; false when they
   * differ.
   */
  private static boolean compareStreaming(String side, List<Map<String, Run>> rounds, PrintStream out) {
    List<Double> rates = new ArrayList<>();
    List<Double> ratesBetweenRows = new ArrayList<>();
    List<Double> cpuSeconds = new ArrayList<>();
    List<Double> afterLastRow = new ArrayList<>();
    for (Map<String, Run> round : rounds) {
      Run run = round.get(side);
      rates.add(run.eventsPerSecond());
      ratesBetweenRows.add(run.stored().eventsPerSecondBetweenRows(run.events(), run.nanos()));
      cpuSeconds.add(run.cpuNanos() / 1e9);
      afterLastRow.add(run.stored().afterLastRowNanos() / 1e9);
    }
    out.printf(Locale.ROOT, "%s: %,.0f events/s, the median of %s%s; between its first and last click-count rows"
            + " %,.0f events/s (%s); CPU %.1f s (%s); the job ended %.2f s after its last click-count row (%s)%n",
        side, median(rates), StreamingRuns.list(rates, "%,.0f"),
        side.equals(StreamingRuns.ALL) ? String.format(Locale.ROOT, " (target %,.0f: %s)",
            ALL_STREAM_TARGET, median(rates) >= ALL_STREAM_TARGET ? "met" : "missed") : "",
        median(ratesBetweenRows), StreamingRuns.list(ratesBetweenRows, "%,.0f"), median(cpuSeconds),
        StreamingRuns.list(cpuSeconds, "%.1f"), median(afterLastRow), StreamingRuns.list(afterLastRow, "%.2f"));
    if (side.equals(StreamingRuns.NATIVE)) {
      return true;
    }
    if (!rounds.get(0).containsKey(StreamingRuns.NATIVE)) {
      out.printf(Locale.ROOT, "No cross-check for %s: %s did not run.%n", side, StreamingRuns.NATIVE);
      return true;
    }
    boolean agree = true;
    List<Double> ratios = new ArrayList<>();
    List<Double> cpuRatios = new ArrayList<>();
    for (Map<String, Run> round : rounds) {
      Run run = round.get(side);
      Run nativeRun = round.get(StreamingRuns.NATIVE);
      ratios.add(run.eventsPerSecond() / nativeRun.eventsPerSecond());
      cpuRatios.add((double) nativeRun.cpuNanos() / run.cpuNanos());
      String difference = run.stored().difference(nativeRun.stored());
      if (difference != null) {
        out.printf(Locale.ROOT, "error: %s stored other rows than %s: %s%n", side, StreamingRuns.NATIVE, difference);
        agree = false;
      }
    }
    if (side.equals(StreamingRuns.COUNTS)) {
      out.printf(Locale.ROOT, "ratio %s/%s: %.2f, the median of %s; CPU time %.2f (%s)%n", side,
          StreamingRuns.NATIVE, median(ratios), StreamingRuns.list(ratios, "%.2f"), median(cpuRatios),
          StreamingRuns.list(cpuRatios, "%.2f"));
    }
    return agree;
  }

  private static boolean computedTheSame(Run run, Run nativeRun) {
    return run.side().startsWith("ctr")
        ? run.rows() == nativeRun.rows()
            && run.impressions() == nativeRun.impressions()
            && run.clicks() == nativeRun.clicks()
        : run.clicks() == nativeRun.clicks();
  }

  static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().collect(Collectors.toList());
    int middle = sorted.size() / 2;
    return sorted.size() % 2 == 1 ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
  }

  private static void print(Run run, PrintStream out) {
    String counts =
        run.stored() != null
            ? String.format(Locale.ROOT, "%s %,d rows, %s %,d rows", StreamingRuns.CTR.table().name(), run.rows(),
                StreamingRuns.CLICK_COUNTS.precomputedTable().name(), run.clicks())
            : run.side().startsWith("rolling")
            ? String.format(Locale.ROOT, "rows %,d (clicks in %,d)", run.rows(), run.clicks())
            : String.format(Locale.ROOT, "rows %,d (impressions %,d, clicks %,d)", run.rows(), run.impressions(),
                run.clicks());
    out.printf(Locale.ROOT, "  %-14s %,12.0f events/s  %6.1f s (CPU %.1f s)  %s  peak heap %,d MB%s%n", run.side(),
        run.eventsPerSecond(), run.nanos() / 1e9, run.cpuNanos() / 1e9, counts, run.peakHeapBytes() / (1024 * 1024),
        run.detail().isEmpty() ? "" : "\n" + " ".repeat(17) + run.detail());
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The events

  /**
   * Event {@code index} of {@code count}: arrivals spread evenly over {@code span} from {@link #START}, each event's
   * time its arrival minus up to 30 s, users uniform, about one click per ten impressions, one in twenty a page view
   * (which CTR ignores). A pure function of its arguments, so both sides generate the same events in parallel.
   */
  static ClickEvent event(long index, long count, int users, long span) {
    long bits = mix(index);
    long arrival = START + (long) ((double) index * span / count);
    String type;
    int kind = (int) Math.floorMod(bits >>> 40, 100);
    if (kind < 5) {
      type = "page_view";
    } else if (kind < 14) {
      type = "click";
    } else {
      type = "impression";
    }
    return ClickEvent.newBuilder()
        .setEventId("e" + index)
        .setUserId("u" + Math.floorMod(bits, users))
        .setEventType(type)
        .setItemId("item" + Math.floorMod(bits >>> 20, 200))
        .setTimestamp(arrival - Math.floorMod(bits >>> 8, JITTER_MILLIS + 1))
        .build();
  }

  /** SplitMix64's finalizer: well-spread bits from a counter. */
  private static long mix(long index) {
    long z = index * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Beam

  private static Run ctr(Setup setup, boolean stores) throws Exception {
    return beamRun(setup, stores, (events, options) -> {
      if (stores) {
        withStores(events, options, "ctr").rows(FEATURE.table()).apply("CountRows", ParDo.of(countCtrRows()));
      } else {
        computeCtr(events).apply("CountRows", ParDo.of(countCtrRows()));
      }
    }, (measured, detail) -> new Run(stores ? "ctr-stores" : "ctr", setup.events(), measured.nanos(),
        counter(measured.result(), "rows"), counter(measured.result(), "impressions"),
        counter(measured.result(), "clicks"), measured.peakHeapBytes(), detail), FEATURE.table());
  }

  private static Run rolling(Setup setup, boolean stores) throws Exception {
    return beamRun(setup, stores, (events, options) -> {
      events.apply("CountClicksIn", ParDo.of(countClicks()));
      if (stores) {
        withStores(events, options, "click-counts")
            .rows(CLICK_COUNTS.precomputedTable())
            .apply("CountRows", ParDo.of(PipelineBench.<Row>countRows()));
      } else {
        events
            .apply("SelectClickCounts", SelectFeatureEvents.of(CLICK_COUNTS))
            .apply("RollingClickCounts", RollingAggregate.of(CLICK_COUNTS))
            .get(RollingAggregate.ROWS)
            .apply("CountRows", ParDo.of(PipelineBench.<EntityPartials>countRows()));
      }
    }, (measured, detail) -> new Run(stores ? "rolling-stores" : "rolling", setup.events(), measured.nanos(),
        counter(measured.result(), "rows"), 0, counter(measured.result(), "clicks"), measured.peakHeapBytes(),
        detail), CLICK_COUNTS.precomputedTable());
  }

  /** The steps a Beam run adds over the generated events. */
  private interface BeamSteps {
    void add(PCollection<ClickEvent> events, FeaturePipelineOptions options);
  }

  /** What a Beam run reports, from its measurement and what its store holds ("" without stores). */
  private interface BeamReport {
    Run of(Measured measured, String storeDetail);
  }

  /**
   * One Beam run over the generated events, with {@code steps}; with {@code stores}, into an H2 store and offline
   * files in a temporary directory, whose {@code table} is described in the report.
   */
  private static Run beamRun(Setup setup, boolean stores, BeamSteps steps, BeamReport report, FeatureTable table)
      throws Exception {
    Path directory = stores ? Files.createTempDirectory("clickstream-bench") : null;
    try {
      FeaturePipelineOptions options = beamOptions(setup, directory).as(FeaturePipelineOptions.class);
      Pipeline pipeline = Pipeline.create(options);
      steps.add(stampedEvents(pipeline, setup), options);
      Measured measured = runMeasured(pipeline);
      return report.of(measured, stores ? storeDetail(directory, table.name(), measured) : "");
    } finally {
      if (directory != null) {
        Directories.deleteRecursively(directory);
      }
    }
  }

  /** The CTR pipeline's own Kafka read (bounded by the record count) and CTR transforms, into the counting sink. */
  private static Run ctrFromKafka(Setup setup) throws Exception {
    String topic = setup.kafka().topicWith(setup);
    ClickstreamOptions options = beamOptions(setup, null).as(ClickstreamOptions.class);
    options.setSource(EventSource.KAFKA);
    options.setBootstrapServers(setup.kafka().bootstrapServers());
    options.setTopic(topic);
    options.setMaxRecords(setup.events());
    options.setConsumerGroup("bench-" + UUID.randomUUID());
    Pipeline pipeline = Pipeline.create(options);
    PCollectionTuple read = pipeline.apply("ReadKafkaEvents", EventInput.readKafka(options, "bench"));
    read.get(ParseEvents.DEAD_LETTERS).apply("CountDeadLetters", ParDo.of(countDeadLetters()));
    computeCtr(read.get(ParseEvents.EVENTS)).apply("CountRows", ParDo.of(countCtrRows()));
    Measured measured = runMeasured(pipeline);
    return new Run("ctr-kafka", setup.events(), measured.nanos(), counter(measured.result(), "rows"),
        counter(measured.result(), "impressions"), counter(measured.result(), "clicks"), measured.peakHeapBytes(),
        String.format(Locale.ROOT, "%,d dead letters", counter(measured.result(), "dead_letters")));
  }

  /** The generated events, each at its own event time. */
  private static PCollection<ClickEvent> stampedEvents(Pipeline pipeline, Setup setup) {
    return generate(pipeline, setup).apply("AssignEventTime", AssignEventTime.fromEventTimestamp());
  }

  /** The {@link FeaturePipeline} of {@code pipeline} (an alias: ctr) over {@code events}, dead letters counted. */
  private static FeaturePipeline.Outputs withStores(
      PCollection<ClickEvent> events, FeaturePipelineOptions options, String pipeline) {
    FeaturePipeline.Outputs outputs = FeaturePipeline.buildFrom(events, options, ProcessingClock.SYSTEM,
        FeatureSelection.of(FeatureDefinitions.REGISTRY, List.of(pipeline), ClickCounter.STATEFUL));
    outputs.deadLetters.apply("CountDeadLetters", ParDo.of(countDeadLetters()));
    return outputs;
  }

  /** The compiled {@code ctr_5min}'s rows, without its stores. */
  private static PCollection<Row> computeCtr(PCollection<ClickEvent> events) {
    return events
        .apply("ComputeCtr", CompileFeature.withClock(ProcessingClock.SYSTEM).tumbling(FEATURE, ClickEvent.class))
        .get(CompileFeature.rowsOf(FEATURE.table()));
  }

  private static FlinkPipelineOptions beamOptions(Setup setup, Path storeDirectory) {
    FlinkPipelineOptions options =
        PipelineOptionsFactory.fromArgs(setup.beamArgs().toArray(new String[0])).as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    EmbeddedFlink.bindTo(options, EmbeddedFlink.LOOPBACK);
    options.setParallelism(2);
    if (storeDirectory != null) {
      ClickstreamOptions stores = options.as(ClickstreamOptions.class);
      stores.setOnlineStore(onlineStoreUrl(storeDirectory));
      stores.setOfflineStore(storeDirectory.resolve("offline").toString());
    }
    return options;
  }

  /**
   * Ranges of indexes, each expanded by a DoFn and read by whichever worker is free ({@link IndexRangeSource}): the
   * runner reads a BoundedSource (such as GenerateSequence) updating every metric of the pipeline after each record,
   * 26% of the run in a profile, so the source gives ranges, not events.
   */
  private static PCollection<ClickEvent> generate(Pipeline pipeline, Setup setup) {
    return pipeline
        .apply("IndexRanges", Read.from(IndexRangeSource.of(setup.events(), GENERATOR_SPLITS)))
        .apply("ToEvents", ParDo.of(new GenerateEventsFn(setup.events(), setup.users(), setup.span())))
        .setCoder(AvroCoder.of(ClickEvent.class));
  }

  private record Measured(PipelineResult result, long nanos, long peakHeapBytes) {}

  /** The CPU time of this JVM so far: the embedded Flink's threads, GC and JIT included. */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static Measured runMeasured(Pipeline pipeline) {
    resetHeapPeak();
    long started = System.nanoTime();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    return new Measured(result, System.nanoTime() - started, heapPeak());
  }

  /** Events {@code [from, to)} of each range, by {@link #event}. */
  private static final class GenerateEventsFn extends DoFn<KV<Long, Long>, ClickEvent> {
    private final long events;
    private final int users;
    private final long span;

    GenerateEventsFn(long events, int users, long span) {
      this.events = events;
      this.users = users;
      this.span = span;
    }

    @ProcessElement
    public void processElement(@Element KV<Long, Long> range, OutputReceiver<ClickEvent> out) {
      for (long index = range.getKey(); index < range.getValue(); index++) {
        out.output(event(index, events, users, span));
      }
    }
  }

  /**
   * A discarding sink that adds {@code amounts} of each element to the counters {@code names}. It counts in plain
   * fields and adds to Beam's counters once a bundle, as native's sink adds to Flink's accumulators: a counter update
   * per element (a metrics-container lookup) would be the sink's own cost.
   */
  private static final class CountingFn<T> extends DoFn<T, Void> {
    private final SerializableFunction<T, long[]> amounts;
    private final BundleMetrics counts;

    CountingFn(SerializableFunction<T, long[]> amounts, String... names) {
      this.amounts = amounts;
      Counter[] counters = new Counter[names.length];
      for (int i = 0; i < names.length; i++) {
        counters[i] = Metrics.counter(NAMESPACE, names[i]);
      }
      this.counts = BundleMetrics.of(counters);
    }

    @StartBundle
    public void startBundle() {
      counts.reset();
    }

    @ProcessElement
    public void processElement(@Element T element) {
      long[] added = amounts.apply(element);
      for (int i = 0; i < added.length; i++) {
        counts.add(i, added[i]);
      }
    }

    @FinishBundle
    public void finishBundle() {
      counts.flush();
    }
  }

  private static final long[] ONE = {1};
  private static final long[] NONE = {0};

  /** The discarding sink of ctr_5min's rows: counts them and sums their counts. */
  private static CountingFn<Row> countCtrRows() {
    return new CountingFn<>(
        row -> new long[] {1, row.getInt64("impressions"), row.getInt64("clicks")}, "rows", "impressions", "clicks");
  }

  /** The discarding sink of any rows: counts them. */
  private static <T> CountingFn<T> countRows() {
    return new CountingFn<>(row -> ONE, "rows");
  }

  /** The clicks going into the rolling counts, to compare with native's. */
  private static CountingFn<ClickEvent> countClicks() {
    return new CountingFn<>(event -> event.getEventType().equals("click") ? ONE : NONE, "clicks");
  }

  private static CountingFn<DeadLetter> countDeadLetters() {
    return new CountingFn<>(deadLetter -> ONE, "dead_letters");
  }

  private static long counter(PipelineResult result, String name) {
    return counter(result, NAMESPACE, name);
  }

  /** The counter {@code namespace/name} of a finished run, summed over the steps that report it. */
  static long counter(PipelineResult result, String namespace, String name) {
    long total = 0;
    for (MetricResult<Long> counter :
        result
            .metrics()
            .queryMetrics(MetricsFilter.builder().addNameFilter(MetricNameFilter.named(namespace, name)).build())
            .getCounters()) {
      total += counter.getAttempted();
    }
    return total;
  }

  /** What a stores run left: the rows its table ends with, and the dead letters it made. */
  private static String storeDetail(Path directory, String table, Measured measured) throws SQLException {
    return String.format(Locale.ROOT, "online store: %,d rows in %s, %,d dead letters", tableRows(directory, table),
        table, counter(measured.result(), "dead_letters"));
  }

  /** The H2 online store of a stores run, in its temporary directory. */
  private static String onlineStoreUrl(Path directory) {
    return "jdbc:h2:file:" + directory.resolve("online").toAbsolutePath();
  }

  /** Rows in the run's H2 store; the table name is one of the registry's. */
  private static long tableRows(Path directory, String table) throws SQLException {
    try (Connection connection = DriverManager.getConnection(onlineStoreUrl(directory));
        Statement statement = connection.createStatement();
        ResultSet count = statement.executeQuery("SELECT COUNT(*) FROM " + table)) {
      count.next();
      return count.getLong(1);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Native Flink

  private static Run nativeFlink(Setup setup) throws Exception {
    long events = setup.events();
    int users = setup.users();
    long span = setup.span();
    StreamExecutionEnvironment env = nativeEnvironment();
    DataStream<Tuple3<String, String, Long>> generated =
        env.fromSequence(0, events - 1)
            .map(index -> {
              ClickEvent event = event(index, events, users, span);
              return Tuple3.of(event.getUserId(), event.getEventType(), event.getTimestamp());
            })
            .returns(EVENT_TYPE);
    return runNatively(env, "native", events, generated);
  }

  /** Native's CTR over the topic, read with Flink's KafkaSource and decoded with Avro's reader. */
  private static Run nativeFlinkFromKafka(Setup setup) throws Exception {
    String topic = setup.kafka().topicWith(setup);
    StreamExecutionEnvironment env = nativeEnvironment();
    KafkaSource<byte[]> source =
        KafkaSource.<byte[]>builder()
            .setBootstrapServers(setup.kafka().bootstrapServers())
            .setTopics(topic)
            .setGroupId("bench-native-" + UUID.randomUUID())
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setDeserializer(KafkaRecordDeserializationSchema.valueOnly(ByteArrayDeserializer.class))
            .build();
    DataStream<Tuple3<String, String, Long>> read =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "ReadKafka")
            .map(new DecodeAvroClickEvents())
            .returns(EVENT_TYPE);
    return runNatively(env, "native-kafka", setup.events(), read);
  }

  /**
   * ClickEvents in Avro's single-object encoding, as the producers write them, to (user, type, timestamp), with one
   * of Avro's message decoders per task.
   */
  private static final class DecodeAvroClickEvents extends RichMapFunction<byte[], Tuple3<String, String, Long>> {
    private transient BinaryMessageDecoder<ClickEvent> decoder;

    @Override
    public void open(Configuration parameters) {
      decoder = ClickEvent.getDecoder();
    }

    @Override
    public Tuple3<String, String, Long> map(byte[] payload) throws IOException {
      ClickEvent event = decoder.decode(payload);
      return Tuple3.of(event.getUserId(), event.getEventType(), event.getTimestamp());
    }
  }

  /** The event types native's CTR counts, as ctr_5min's declaration does. */
  private static final String IMPRESSION = "impression";
  private static final String CLICK = "click";

  private static StreamExecutionEnvironment nativeEnvironment() {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(
        2, Configuration.fromMap(EmbeddedFlink.settings(EmbeddedFlink.LOOPBACK)));
    env.setRuntimeMode(RuntimeExecutionMode.BATCH);
    return env;
  }

  /** CTR per user and 5-minute window over (user, type, timestamp) events, into the counting sink. */
  private static Run runNatively(
      StreamExecutionEnvironment env, String side, long events, DataStream<Tuple3<String, String, Long>> input)
      throws Exception {
    input
        .filter(event -> event.f1.equals(IMPRESSION) || event.f1.equals(CLICK))
        .assignTimestampsAndWatermarks(
            WatermarkStrategy.<Tuple3<String, String, Long>>forBoundedOutOfOrderness(Duration.ofMillis(JITTER_MILLIS))
                .withTimestampAssigner((event, previous) -> event.f2))
        .keyBy(event -> event.f0, Types.STRING)
        .window(TumblingEventTimeWindows.of(Duration.ofMillis(FEATURE.windowMillis())))
        .aggregate(new CountImpressionsAndClicksNatively())
        .addSink(new CountingSink())
        .name("CountRows");
    resetHeapPeak();
    long started = System.nanoTime();
    JobExecutionResult result = env.execute("bench-" + side + "-ctr");
    long nanos = System.nanoTime() - started;
    return new Run(side, events, nanos, result.<Long>getAccumulatorResult("rows"),
        result.<Long>getAccumulatorResult("impressions"), result.<Long>getAccumulatorResult("clicks"), heapPeak(),
        "");
  }

  /** Impressions and clicks of one user and window, as the compiled ctr_5min counts them in Beam. */
  private static final class CountImpressionsAndClicksNatively
      implements AggregateFunction<Tuple3<String, String, Long>, long[], long[]> {
    @Override
    public long[] createAccumulator() {
      return new long[2];
    }

    @Override
    public long[] add(Tuple3<String, String, Long> event, long[] counts) {
      if (event.f1.equals(IMPRESSION)) {
        counts[0]++;
      } else if (event.f1.equals(CLICK)) {
        counts[1]++;
      }
      return counts;
    }

    @Override
    public long[] getResult(long[] counts) {
      return counts;
    }

    @Override
    public long[] merge(long[] a, long[] b) {
      return new long[] {a[0] + b[0], a[1] + b[1]};
    }
  }

  /** Counts rows and sums their counts in accumulators, read from the job's result. */
  private static final class CountingSink extends RichSinkFunction<long[]> {
    private final LongCounter rows = new LongCounter();
    private final LongCounter impressions = new LongCounter();
    private final LongCounter clicks = new LongCounter();

    @Override
    public void open(Configuration parameters) {
      getRuntimeContext().addAccumulator("rows", rows);
      getRuntimeContext().addAccumulator("impressions", impressions);
      getRuntimeContext().addAccumulator("clicks", clicks);
    }

    @Override
    public void invoke(long[] counts, Context context) {
      rows.add(1);
      impressions.add(counts[0]);
      clicks.add(counts[1]);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Kafka

  /** An embedded broker with one topic per event count, each holding those events as Avro, filled on first use. */
  static final class KafkaTopics implements AutoCloseable {
    /**
     * One, as the launcher's topics: a bounded KafkaIO read ({@code --maxRecords}) gives each partition an equal
     * share of the records and waits for a partition that holds fewer than its share.
     */
    private static final int PARTITIONS = 1;
    private final EmbeddedKafkaBroker broker;
    private final PrintStream out;
    private final Set<String> filled = new HashSet<>();

    private KafkaTopics(EmbeddedKafkaBroker broker, PrintStream out) {
      this.broker = broker;
      this.out = out;
    }

    static KafkaTopics start(PrintStream out) throws Exception {
      out.println("Starting an embedded Kafka broker for the Kafka runs ...");
      return new KafkaTopics(EmbeddedKafkaBroker.start(0), out);
    }

    String bootstrapServers() {
      return broker.bootstrapServers();
    }

    /** The topic holding the setup's events, keyed by user, written once and shared by both Kafka runs. */
    String topicWith(Setup setup) throws Exception {
      String topic = "bench-events-" + setup.events() + "-" + setup.users() + "-" + setup.span();
      if (filled.add(topic)) {
        broker.createTopic(topic, PARTITIONS);
        out.printf(Locale.ROOT, "  writing %,d events to topic %s (not timed) ...%n", setup.events(), topic);
        try (KafkaEventProducer producer =
            new KafkaEventProducer(bootstrapServers(), topic, 0, setup.events(), out)) {
          for (long index = 0; index < setup.events(); index++) {
            ClickEvent event = event(index, setup.events(), setup.users(), setup.span());
            producer.send(event.getUserId().getBytes(StandardCharsets.UTF_8), ClickEventDecoder.toAvro(event));
          }
        }
      }
      return topic;
    }

    /**
     * The streaming runs' topic of the setup's events, written once by {@code ./clickstream generate} (see {@link
     * StreamingRuns#generatorArgs}) and shared by every streaming run.
     */
    String streamTopicWith(Setup setup) throws Exception {
      String topic = "bench-stream-" + setup.events() + "-" + setup.users() + "-" + setup.span();
      if (filled.add(topic)) {
        broker.createTopic(topic, PARTITIONS);
        out.printf(Locale.ROOT, "  writing %,d records to topic %s (not timed) ...%n", setup.events(), topic);
        List<String> args = new ArrayList<>(StreamingRuns.generatorArgs(setup.events(), setup.users(), setup.span()));
        args.add("--kafka=" + bootstrapServers());
        args.add("--topic=" + topic);
        GenerateCommand.run(args, StreamingRuns.quiet(), StreamingRuns.quiet());
      }
      return topic;
    }

    @Override
    public void close() throws Exception {
      broker.close();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Memory

  static void resetHeapPeak() {
    System.gc();
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
  }

  /** The sum of the heap pools' peaks since the last reset: an upper bound of the heap in use at any moment. */
  static long heapPeak() {
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    return peak;
  }
}
