package dev.clickstream.runners;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.pipelines.DurationOption;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.CtrCounts;
import dev.clickstream.transforms.CtrPerUser;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;

/**
 * {@code ./clickstream bench pipeline}: the CTR pipeline's throughput on embedded Flink against the same CTR
 * computed with Flink's DataStream API directly, over the same generated events, side by side in one process.
 *
 * <p>Both read a bounded sequence of event indexes, turn each into the same event ({@link #event}: a pure function
 * of the index, so neither side pays for reading a file and both see identical events), and compute impressions
 * and clicks per user over 5-minute event-time windows into a sink that only counts and sums what it receives. The
 * sums are compared, so the two computed the same rows. Each side runs once to warm up, then once measured; the
 * heap's peak is reset before each measured run.
 */
final class PipelineBench {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream bench pipeline [options] [-- BEAM_OPTIONS]",
          "",
          "Runs, side by side in this process on embedded Flink (2 slots), over the same generated events:",
          "  beam    the CTR pipeline's transforms (AssignEventTime, CtrPerUser) into a counting sink",
          "  native  the same CTR per user and 5-minute window with Flink's DataStream API, into a counting sink",
          "each once to warm up (on --warmup events) and once measured, and prints events/s of each, their ratio,",
          "the rows and counts each computed (they must agree) and the peak heap of each measured run.",
          "",
          "  --events=N      events per measured run (default 10000000)",
          "  --warmup=N      events per warm-up run (default 1000000; 0 skips the warm-up)",
          "  --users=N       distinct users (default 100000)",
          "  --span=DURATION event time the events cover (default 6h)",
          "  --only=beam|native  run one side only (to profile it, e.g. with JFR); no ratio then",
          "",
          "Options after -- go to the Beam side's pipeline options, e.g. -- --streaming=true --objectReuse=true.");

  private static final Set<String> FLAGS = Set.of("events", "warmup", "users", "span", "only");
  /** 2025-11-22T08:26:40Z, as the generator's default start. */
  private static final long START = 1_763_800_000_000L;
  private static final long JITTER_MILLIS = 30_000L;
  private static final TumblingAggregation FEATURE = FeatureDefinitions.CTR_5MIN;
  private static final String NAMESPACE = "PipelineBench";

  private PipelineBench() {}

  /** What one run computed and how long it took. */
  record Run(String side, long events, long nanos, long rows, long impressions, long clicks, long peakHeapBytes) {
    double eventsPerSecond() {
      return events / (nanos / 1e9);
    }

    boolean sameResult(Run other) {
      return rows == other.rows && impressions == other.impressions && clicks == other.clicks;
    }
  }

  static int run(List<String> args, PrintStream out) throws Exception {
    if (Flags.wantsHelp(args)) {
      out.println(HELP);
      return 0;
    }
    int separator = args.indexOf("--");
    List<String> beamArgs = separator < 0 ? List.of() : args.subList(separator + 1, args.size());
    Flags flags = Flags.parse("bench pipeline", separator < 0 ? args : args.subList(0, separator), FLAGS);
    long events = flags.longValue("events", 10_000_000, 1, 2_000_000_000);
    long warmup = flags.longValue("warmup", 1_000_000, 0, 2_000_000_000);
    int users = (int) flags.longValue("users", 100_000, 1, 100_000_000);
    long span = DurationOption.parse("span", flags.string("span", "6h")).getMillis();
    String only = flags.string("only", "");
    if (!List.of("", "beam", "native").contains(only)) {
      throw new UsageException("bench pipeline: --only must be beam or native, got '" + only + "'");
    }

    out.printf(Locale.ROOT, "CTR per user over 5-minute windows, %,d events, %,d users, embedded Flink, 2 slots%n",
        events, users);
    if (warmup > 0) {
      out.printf(Locale.ROOT, "Warming up on %,d events ...%n", warmup);
      if (!only.equals("native")) {
        beam(warmup, users, span, beamArgs);
      }
      if (!only.equals("beam")) {
        nativeFlink(warmup, users, span);
      }
    }
    if (!only.isEmpty()) {
      print(only.equals("beam") ? beam(events, users, span, beamArgs) : nativeFlink(events, users, span), out);
      return 0;
    }
    Run beam = beam(events, users, span, beamArgs);
    print(beam, out);
    Run nativeRun = nativeFlink(events, users, span);
    print(nativeRun, out);
    out.printf(Locale.ROOT, "ratio beam/native: %.2f%n", beam.eventsPerSecond() / nativeRun.eventsPerSecond());
    if (!beam.sameResult(nativeRun)) {
      out.println("error: the two sides computed different rows; the figures above compare different work");
      return 1;
    }
    out.println("Both sides computed the same rows.");
    return 0;
  }

  private static void print(Run run, PrintStream out) {
    out.printf(Locale.ROOT,
        "  %-7s %,12.0f events/s  %6.1f s  rows %,d (impressions %,d, clicks %,d)  peak heap %,d MB%n",
        run.side(), run.eventsPerSecond(), run.nanos() / 1e9, run.rows(), run.impressions(), run.clicks(),
        run.peakHeapBytes() / (1024 * 1024));
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

  private static Run beam(long events, int users, long span, List<String> beamArgs) {
    FlinkPipelineOptions options =
        PipelineOptionsFactory.fromArgs(beamArgs.toArray(new String[0])).as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply("GenerateIndexes", GenerateSequence.from(0).to(events))
        .apply(
            "ToEvents",
            MapElements.into(TypeDescriptor.of(ClickEvent.class))
                .via((Long index) -> event(index, events, users, span)))
        .setCoder(AvroCoder.of(ClickEvent.class))
        .apply("AssignEventTime", AssignEventTime.fromEventTimestamp())
        .apply("ComputeCtr", CtrPerUser.of(FEATURE))
        .apply("CountRows", ParDo.of(new CountRowsFn()));
    resetHeapPeak();
    long started = System.nanoTime();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    long nanos = System.nanoTime() - started;
    return new Run("beam", events, nanos, counter(result, "rows"), counter(result, "impressions"),
        counter(result, "clicks"), heapPeak());
  }

  /** The discarding sink: counts rows and sums their counts, so the two sides can be compared. */
  private static final class CountRowsFn extends DoFn<KV<String, CtrCounts>, Void> {
    private final Counter rows = Metrics.counter(NAMESPACE, "rows");
    private final Counter impressions = Metrics.counter(NAMESPACE, "impressions");
    private final Counter clicks = Metrics.counter(NAMESPACE, "clicks");

    @ProcessElement
    public void processElement(@Element KV<String, CtrCounts> row) {
      rows.inc();
      impressions.inc(row.getValue().impressions());
      clicks.inc(row.getValue().clicks());
    }
  }

  private static long counter(PipelineResult result, String name) {
    long total = 0;
    for (MetricResult<Long> counter :
        result
            .metrics()
            .queryMetrics(MetricsFilter.builder().addNameFilter(MetricNameFilter.named(NAMESPACE, name)).build())
            .getCounters()) {
      total += counter.getAttempted();
    }
    return total;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Native Flink

  private static Run nativeFlink(long events, int users, long span) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, new Configuration());
    env.setRuntimeMode(RuntimeExecutionMode.BATCH);
    String impression = "impression";
    String click = "click";
    env.fromSequence(0, events - 1)
        .map(index -> {
          ClickEvent event = event(index, events, users, span);
          return Tuple3.of(event.getUserId(), event.getEventType(), event.getTimestamp());
        })
        .returns(Types.TUPLE(Types.STRING, Types.STRING, Types.LONG))
        .filter(event -> event.f1.equals(impression) || event.f1.equals(click))
        .assignTimestampsAndWatermarks(
            WatermarkStrategy.<Tuple3<String, String, Long>>forBoundedOutOfOrderness(Duration.ofMillis(JITTER_MILLIS))
                .withTimestampAssigner((event, previous) -> event.f2))
        .keyBy(event -> event.f0, Types.STRING)
        .window(TumblingEventTimeWindows.of(Duration.ofMillis(FEATURE.windowMillis())))
        .aggregate(new CountImpressionsAndClicksNatively(impression, click))
        .addSink(new CountingSink())
        .name("CountRows");
    resetHeapPeak();
    long started = System.nanoTime();
    JobExecutionResult result = env.execute("bench-native-ctr");
    long nanos = System.nanoTime() - started;
    return new Run("native", events, nanos, result.<Long>getAccumulatorResult("rows"),
        result.<Long>getAccumulatorResult("impressions"), result.<Long>getAccumulatorResult("clicks"), heapPeak());
  }

  /** Impressions and clicks of one user and window, as {@code CountImpressionsAndClicks} does for Beam. */
  private static final class CountImpressionsAndClicksNatively
      implements AggregateFunction<Tuple3<String, String, Long>, long[], long[]> {
    private final String impression;
    private final String click;

    CountImpressionsAndClicksNatively(String impression, String click) {
      this.impression = impression;
      this.click = click;
    }

    @Override
    public long[] createAccumulator() {
      return new long[2];
    }

    @Override
    public long[] add(Tuple3<String, String, Long> event, long[] counts) {
      if (event.f1.equals(impression)) {
        counts[0]++;
      } else if (event.f1.equals(click)) {
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
  // Memory

  private static void resetHeapPeak() {
    System.gc();
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
  }

  /** The sum of the heap pools' peaks since the last reset: an upper bound of the heap in use at any moment. */
  private static long heapPeak() {
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    return peak;
  }
}
