package dev.clickstream.bench;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.runners.Flags;
import dev.clickstream.runners.FlinkRest;
import dev.clickstream.runners.RunCommand;
import dev.clickstream.runners.UsageException;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.AssignEventTime;
import dev.clickstream.transforms.EntityPartials;
import dev.clickstream.transforms.RollingAggregate;
import dev.clickstream.transforms.SelectFeatureEvents;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.Read;
import org.apache.beam.sdk.io.UnboundedSource;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.joda.time.Instant;

/**
 * {@code ./clickstream bench state}: the checkpointed state of the rolling click counts per active user, measured on
 * streaming embedded Flink, for several numbers of clicks per user in the last hour.
 *
 * <p>Each run streams {@code K} clicks for each of {@code U} users through {@code SelectFeatureEvents} and {@code
 * RollingAggregate}, as the compiled click_counts does, waits until every click is applied and a checkpoint that
 * started afterwards has completed, sums that checkpoint's files, then takes a savepoint in Flink's canonical format
 * and sums its files too, and cancels the job. Each {@code K} runs with {@code U} and {@code U / 2} users: the slope
 * between the two is the state one more user adds, without the state of the source and of the other steps, which is
 * the same in both.
 *
 * <p>Both are measured because a full RocksDB checkpoint is a copy of RocksDB's own files (Snappy-compressed SST
 * files, with the versions of overwritten values that compaction has not merged yet), so its size depends on when
 * RocksDB last compacted; a canonical savepoint holds each key/value pair once, uncompressed, whatever the backend.
 * With the hashmap backend both are key/value streams.
 *
 * <p>A user's clicks are at distinct milliseconds spread over one hour, the worst case of {@code RollingAggregate}:
 * one partial per click. The source emits them in time order and its watermark is the time of its latest click, so
 * it never passes a user's cleanup time ({@code L} + 60 min) and no state is cleared before the checkpoint.
 */
final class StateBench {
  static final long TARGET_BYTES = 1_024;
  /** Held partials a run may read, U K^2 / 2: under a minute on 2 cores with RocksDB (54 s at K=100, 10,000 users). */
  static final long MAX_PARTIALS_READ = 50_000_000L;
  /** Fewest users of a larger run: the smaller has half, and the slope needs users on both sides. */
  static final int MIN_USERS = 20;
  static final int MAX_CLICKS = 10_000;
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream bench state [options]",
          "",
          "Measures the checkpointed state of the rolling click counts (SelectFeatureEvents, RollingAggregate) per",
          "active user, on streaming embedded Flink (2 slots, a checkpoint every second, full checkpoints). For each",
          "number of clicks per user K, two runs, with U and U/2 users, each of which:",
          "  1. streams K clicks per user at distinct milliseconds spread over one hour, in time order; the source's",
          "     watermark stays within that hour, so no user's state is cleared",
          "  2. waits until every click is applied, then for a checkpoint that started afterwards, and sums the",
          "     sizes of its files (with rocksdb: RocksDB's compressed SST files, as they are at that moment)",
          "  3. takes a savepoint in Flink's canonical format (each key/value pair once, uncompressed) and sums its",
          "     files",
          "  4. cancels the job and deletes its checkpoints and savepoint",
          "then prints bytes per user = (bytes(U) - bytes(U/2)) / (U - U/2) of each: the state of the source and",
          "of the other steps is the same in both runs and cancels out. The 1,024-byte target is judged on the",
          "savepoint's: with rocksdb, the checkpoint's also depends on when RocksDB last compacted.",
          "",
          "  --users=N             users of the larger run of each K (default 10000, at least 2). Each click reads",
          "                        every partial its user holds, so a run reads U K^2 / 2 of them: when that is",
          "                        over " + String.format(Locale.ROOT, "%,d", MAX_PARTIALS_READ)
              + ", the run has fewer users, as many as fit (at least " + MIN_USERS + ")",
          "  --clicksPerUser=LIST  comma-separated K, each 1 to " + String.format(Locale.ROOT, "%,d", MAX_CLICKS)
              + " (default 1,10,100,1000)",
          "  --stateBackend=NAME   rocksdb (default) or hashmap");

  private static final Set<String> FLAGS = Set.of("users", "clicksPerUser", "stateBackend");
  private static final List<String> BACKENDS = List.of("rocksdb", "hashmap");
  /** 2025-11-22T08:26:40Z, as the generator's default start. */
  private static final long START = 1_763_800_000_000L;
  private static final long HOUR_MILLIS = 3_600_000L;
  private static final int ITEMS = 200;
  private static final long CHECKPOINT_MILLIS = 1_000;
  private static final String JOB_NAME = "bench-state";
  private static final Duration SAVEPOINT_TIMEOUT = Duration.ofMinutes(5);
  private static final long PROGRESS_MILLIS = 10_000;
  /** A run fails when no click is applied for this long, or no checkpoint completes after the last one. */
  private static final long STALL_MILLIS = 300_000;
  private static final long CANCEL_MILLIS = 60_000;
  private static final Pattern CHECKPOINT = Pattern.compile("chk-(\\d+)");

  /** Rows the run's last step received: one per applied click. Embedded Flink runs in this JVM. */
  private static final AtomicLong APPLIED = new AtomicLong();

  private StateBench() {}

  /** The files of one checkpoint or savepoint. */
  record Snapshot(String name, long files, long bytes) {}

  /** What one run measured: a checkpoint and a canonical savepoint of the same state. */
  record Run(int users, int clicksPerUser, Snapshot checkpoint, Snapshot savepoint, double seconds) {}

  static int run(List<String> args, PrintStream out) throws Exception {
    if (Flags.wantsHelp(args)) {
      out.println(HELP);
      return 0;
    }
    Flags flags = Flags.parse("bench state", args, FLAGS);
    int users = (int) flags.longValue("users", 10_000, 2, 10_000_000);
    List<Integer> clicksPerUser = clicksPerUser(flags.string("clicksPerUser", "1,10,100,1000"));
    String backend = flags.string("stateBackend", "rocksdb");
    if (!BACKENDS.contains(backend)) {
      throw new UsageException("bench state: --stateBackend=" + backend + " must be rocksdb or hashmap");
    }

    out.printf(Locale.ROOT,
        "Checkpointed state of the rolling click counts per user: streaming embedded Flink, 2 slots, %s state"
            + " backend, full checkpoints every %d ms; clicks per user: %s%n",
        backend, CHECKPOINT_MILLIS, clicksPerUser.stream().map(String::valueOf).reduce((a, b) -> a + ", " + b)
            .orElseThrow());
    List<Run[]> pairs = new ArrayList<>();
    for (int clicks : clicksPerUser) {
      int larger = usersFor(users, clicks);
      if (larger < users) {
        out.printf(Locale.ROOT, "K=%d: %,d users instead of %,d (a run reads U K^2 / 2 held partials; at most %,d)%n",
            clicks, larger, users, MAX_PARTIALS_READ);
      }
      Run big = measure(larger, clicks, backend, out);
      Run small = measure(larger / 2, clicks, backend, out);
      pairs.add(new Run[] {big, small});
    }

    out.println();
    out.println(table(pairs, backend));
    out.println(rawTable(pairs, backend));
    return 0;
  }

  private static List<Integer> clicksPerUser(String list) {
    List<Integer> values = new ArrayList<>();
    for (String part : list.split(",", -1)) {
      String text = part.trim();
      long value;
      try {
        value = Long.parseLong(text.replace("_", ""));
      } catch (NumberFormatException e) {
        value = -1;
      }
      if (value < 1 || value > MAX_CLICKS) {
        throw new UsageException("bench state: --clicksPerUser takes whole numbers from 1 to " + MAX_CLICKS
            + ", comma-separated; got '" + text + "'");
      }
      if (!values.contains((int) value)) {
        values.add((int) value);
      }
    }
    return values;
  }

  /** {@code users}, or fewer when the run would read more than {@link #MAX_PARTIALS_READ} held partials. */
  static int usersFor(int users, int clicksPerUser) {
    long fit = 2 * MAX_PARTIALS_READ / ((long) clicksPerUser * clicksPerUser);
    return (int) Math.min(users, Math.max(MIN_USERS, fit));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // One run

  /**
   * Streams {@code clicksPerUser} clicks for each of {@code users} users into the rolling counts, waits until all are
   * applied and a checkpoint that started afterwards completes, and returns the sizes of that checkpoint and of a
   * canonical savepoint taken after it.
   */
  private static Run measure(int users, int clicksPerUser, String backend, PrintStream out) throws Exception {
    long clicks = (long) users * clicksPerUser;
    out.printf(Locale.ROOT, "K=%d, %,d users: streaming %,d clicks ...%n", clicksPerUser, users, clicks);
    Path directory = Files.createTempDirectory("clickstream-bench-state");
    Path checkpoints = directory.resolve("checkpoints");
    int restPort = FreshnessBench.freePort();
    long runStarted = System.nanoTime();
    try {
      Pipeline pipeline = Pipeline.create(options(directory, checkpoints, backend, restPort));
      pipeline
          .apply("ReadClickIndexes", Read.from(new ClickIndexSource(0, 1, clicks, users, clicksPerUser)))
          .apply("ToClickEvents", ParDo.of(new ToClickEventFn(users, clicksPerUser)))
          .setCoder(AvroCoder.of(ClickEvent.class))
          .apply("AssignEventTime", AssignEventTime.fromEventTimestamp())
          .apply("SelectClickCounts", SelectFeatureEvents.of(FeatureDefinitions.CLICK_COUNTS))
          .apply("RollingClickCounts", RollingAggregate.of(FeatureDefinitions.CLICK_COUNTS))
          .get(RollingAggregate.ROWS)
          .apply("CountAndDiscardRows", ParDo.of(new CountRowsFn()));
      APPLIED.set(0);
      PipelineResult result = pipeline.run();
      try {
        awaitApplied(result, clicks, out);
        // A chk-N directory exists from the moment checkpoint N is triggered, before its barriers leave the
        // sources: any later N started after every click was applied, so it holds every user's partials.
        NavigableMap<Long, Path> started = checkpointDirectories(checkpoints);
        long lastStarted = started.isEmpty() ? 0 : started.lastKey();
        Snapshot checkpoint = awaitCheckpointAfter(lastStarted, checkpoints, result);
        Snapshot savepoint = canonicalSavepoint(new FlinkRest("127.0.0.1:" + restPort), directory);
        Run run = new Run(users, clicksPerUser, checkpoint, savepoint, millisSince(runStarted) / 1e3);
        out.printf(Locale.ROOT, "  checkpoint %s: %,d bytes in %d files; canonical savepoint: %,d bytes in %d files"
                + " (%.1f s)%n", checkpoint.name(), checkpoint.bytes(), checkpoint.files(), savepoint.bytes(),
            savepoint.files(), run.seconds());
        return run;
      } finally {
        cancel(result);
      }
    } finally {
      // Flink may still be discarding the cancelled job's checkpoints in it.
      Directories.deleteRecursively(directory);
    }
  }

  private static FlinkPipelineOptions options(Path directory, Path checkpoints, String backend, int restPort)
      throws IOException {
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    options.setMaxParallelism(RunCommand.MAX_PARALLELISM);
    options.setJobName(JOB_NAME);
    options.setStreaming(true);
    // Detached: run() returns while the unbounded job runs, and its result cancels it.
    options.setAttachedMode(false);
    options.setJobCheckIntervalInSecs(1);
    options.setCheckpointingInterval(CHECKPOINT_MILLIS);
    // Beam's name of the heap backend is filesystem.
    options.setStateBackend(backend.equals("hashmap") ? "filesystem" : "rocksdb");
    options.setStateBackendStoragePath(checkpoints.toUri().toString());
    options.setFlinkConfDir(flinkConf(directory, restPort).toString());
    return options;
  }

  /**
   * A Flink configuration that fixes what the sizes depend on, whatever FLINK_CONF_DIR holds (full checkpoints,
   * each one's files in its own chk-N directory; key/value snapshots uncompressed), and the REST port the savepoint
   * is taken through.
   */
  private static Path flinkConf(Path directory, int restPort) throws IOException {
    Path conf = directory.resolve("flink-conf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("config.yaml"),
        String.join("\n",
            "state.backend.incremental: false",
            "execution.checkpointing.snapshot-compression: false",
            "rest.bind-address: 127.0.0.1",
            "jobmanager.bind-host: 127.0.0.1",
            "taskmanager.bind-host: 127.0.0.1",
            "rest.address: 127.0.0.1",
            "rest.bind-port: " + restPort,
            ""),
        StandardCharsets.UTF_8);
    return conf;
  }

  private static void awaitApplied(PipelineResult result, long clicks, PrintStream out) throws InterruptedException {
    long lastProgress = System.nanoTime();
    long lastPrinted = System.nanoTime();
    long applied = 0;
    while (applied < clicks) {
      Thread.sleep(100);
      long now = APPLIED.get();
      if (now > applied) {
        applied = now;
        lastProgress = System.nanoTime();
      }
      checkRunning(result);
      if (millisSince(lastProgress) > STALL_MILLIS) {
        throw new IllegalStateException(String.format(Locale.ROOT,
            "bench state: no click applied for %d s; %,d of %,d applied", STALL_MILLIS / 1_000, applied, clicks));
      }
      if (millisSince(lastPrinted) >= PROGRESS_MILLIS) {
        out.printf(Locale.ROOT, "  %,d of %,d clicks applied%n", applied, clicks);
        lastPrinted = System.nanoTime();
      }
    }
  }

  /**
   * The newest completed checkpoint numbered above {@code lastStarted}: a chk-N directory with its {@code _metadata},
   * which Flink writes last and renames into place. Flink deletes a checkpoint once a newer one completes, possibly
   * while it is summed; then the newer one, which holds the same state, is summed instead.
   */
  private static Snapshot awaitCheckpointAfter(long lastStarted, Path checkpoints, PipelineResult result)
      throws IOException, InterruptedException {
    long waitingSince = System.nanoTime();
    while (millisSince(waitingSince) < STALL_MILLIS) {
      checkRunning(result);
      Map.Entry<Long, Path> newest = newestCompleted(checkpoints, lastStarted);
      if (newest != null) {
        try {
          long[] filesAndBytes = filesAndBytes(newest.getValue());
          checkNothingShared(newest.getValue().getParent());
          Map.Entry<Long, Path> still = newestCompleted(checkpoints, lastStarted);
          if (still != null && still.getKey().equals(newest.getKey())) {
            return new Snapshot("chk-" + newest.getKey(), filesAndBytes[0], filesAndBytes[1]);
          }
        } catch (NoSuchFileException | UncheckedIOException deleted) {
          // Subsumed by a newer checkpoint while it was summed.
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(String.format(Locale.ROOT,
        "bench state: no checkpoint after chk-%d completed within %d s", lastStarted, STALL_MILLIS / 1_000));
  }

  private static Map.Entry<Long, Path> newestCompleted(Path checkpoints, long after) throws IOException {
    for (Map.Entry<Long, Path> checkpoint : checkpointDirectories(checkpoints).tailMap(after, false)
        .descendingMap().entrySet()) {
      if (Files.exists(checkpoint.getValue().resolve("_metadata"))) {
        return checkpoint;
      }
    }
    return null;
  }

  /** A savepoint of the running job in Flink's canonical format, through the embedded cluster's REST API. */
  private static Snapshot canonicalSavepoint(FlinkRest rest, Path directory) throws IOException, InterruptedException {
    String jobId = rest.latestJobNamed(JOB_NAME)
        .orElseThrow(() -> new IllegalStateException("bench state: Flink's REST API lists no job " + JOB_NAME))
        .id();
    String location =
        rest.savepoint(jobId, directory.resolve("savepoints").toUri().toString(), "CANONICAL", SAVEPOINT_TIMEOUT);
    Path savepoint = Path.of(URI.create(location));
    long[] filesAndBytes = filesAndBytes(savepoint);
    return new Snapshot(savepoint.getFileName().toString(), filesAndBytes[0], filesAndBytes[1]);
  }

  /** The chk-N directories of the job's checkpoints, by N; none before the first is triggered. */
  private static NavigableMap<Long, Path> checkpointDirectories(Path checkpoints) throws IOException {
    NavigableMap<Long, Path> directories = new TreeMap<>();
    if (!Files.isDirectory(checkpoints)) {
      return directories;
    }
    // checkpoints/JOB_ID/chk-N
    try (Stream<Path> paths = Files.find(checkpoints, 2, (path, attributes) -> attributes.isDirectory())) {
      for (Path path : paths.toList()) {
        Matcher name = CHECKPOINT.matcher(path.getFileName().toString());
        if (name.matches()) {
          directories.put(Long.parseLong(name.group(1)), path);
        }
      }
    }
    return directories;
  }

  /**
   * The count and total size of the files of a full checkpoint or savepoint: every task's state files and the
   * {@code _metadata}, which also holds the state of tasks with less than 20 KB inline.
   */
  private static long[] filesAndBytes(Path snapshot) throws IOException {
    long files = 0;
    long bytes = 0;
    try (Stream<Path> paths = Files.walk(snapshot)) {
      for (Path path : paths.filter(Files::isRegularFile).toList()) {
        bytes += Files.size(path);
        files++;
      }
    }
    return new long[] {files, bytes};
  }

  /**
   * Incremental checkpoints keep state in shared/ (and task-owned state in taskowned/), which chk-N only refers to:
   * the sizes here count chk-N alone, so they would miss it.
   */
  private static void checkNothingShared(Path job) throws IOException {
    for (String shared : List.of("shared", "taskowned")) {
      Path directory = job.resolve(shared);
      if (Files.isDirectory(directory) && filesAndBytes(directory)[0] > 0) {
        throw new IllegalStateException("bench state: the checkpoint keeps files in " + directory
            + "; the bench counts full checkpoints only (state.backend.incremental: false)");
      }
    }
  }

  private static void checkRunning(PipelineResult result) {
    PipelineResult.State state = result.getState();
    if (state.isTerminal()) {
      throw new IllegalStateException("bench state: the job ended early, " + state
          + " (set CLICKSTREAM_DEBUG=1 and see Flink's log above for why)");
    }
  }

  /**
   * Cancels the job and waits until it has ended. The embedded cluster shuts down with its job, after which it
   * cannot be asked for the job's state: that counts as ended too.
   */
  private static void cancel(PipelineResult result) throws IOException, InterruptedException {
    long cancelled = System.nanoTime();
    try {
      result.cancel();
      while (!result.getState().isTerminal() && millisSince(cancelled) < CANCEL_MILLIS) {
        Thread.sleep(100);
      }
    } catch (RuntimeException clusterGone) {
      // The cluster shut down with the job.
    }
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Report

  private static String table(List<Run[]> pairs, String backend) {
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT,
        "| clicks per user in the last hour | users (two runs) | canonical savepoint bytes per user"
            + " | within %,d bytes? | checkpoint bytes per user (%s) |%n", TARGET_BYTES, backend));
    text.append("|---:|---:|---:|---|---:|\n");
    for (Run[] pair : pairs) {
      double checkpoint = bytesPerUser(pair[0], pair[1], Run::checkpoint);
      double savepoint = bytesPerUser(pair[0], pair[1], Run::savepoint);
      text.append(String.format(Locale.ROOT, "| %,d | %,d and %,d | %,.0f | %s | %,.0f |%n", pair[0].clicksPerUser(),
          pair[0].users(), pair[1].users(), savepoint, savepoint <= TARGET_BYTES ? "yes" : "no", checkpoint));
    }
    if (backend.equals("rocksdb")) {
      text.append(String.join("\n",
          "",
          "A full RocksDB checkpoint is a copy of RocksDB's SST files: compressed, and holding the overwritten",
          "versions compaction has not merged yet, so its slope depends on when RocksDB last compacted in each run",
          "and is no per-user measure. The canonical savepoint holds each key/value pair once, uncompressed."));
      text.append('\n');
    }
    return text.toString();
  }

  private static String rawTable(List<Run[]> pairs, String backend) {
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT,
        "Raw sizes (%s): every file of the checkpoint's chk-N directory and of the savepoint's directory,"
            + " _metadata included%n%n", backend));
    text.append("| clicks per user | users | clicks | checkpoint | files | bytes | canonical savepoint files | bytes"
        + " | run |\n");
    text.append("|---:|---:|---:|---|---:|---:|---:|---:|---:|\n");
    for (Run[] pair : pairs) {
      for (Run run : pair) {
        text.append(String.format(Locale.ROOT, "| %,d | %,d | %,d | %s | %d | %,d | %d | %,d | %.1f s |%n",
            run.clicksPerUser(), run.users(), (long) run.users() * run.clicksPerUser(), run.checkpoint().name(),
            run.checkpoint().files(), run.checkpoint().bytes(), run.savepoint().files(), run.savepoint().bytes(),
            run.seconds()));
      }
    }
    return text.toString();
  }

  /** The state one more user adds: the slope between the two runs of the same clicks per user. */
  static double bytesPerUser(Run larger, Run smaller, Function<Run, Snapshot> snapshot) {
    return (double) (snapshot.apply(larger).bytes() - snapshot.apply(smaller).bytes())
        / (larger.users() - smaller.users());
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The clicks

  /**
   * Click {@code index} of {@code users * clicksPerUser}: user {@code index % users}, at the start plus {@code index
   * / users} steps of an hour divided by {@code clicksPerUser}, so each user's clicks are at distinct milliseconds
   * within one hour and the clicks are in time order by index.
   */
  static ClickEvent click(long index, int users, int clicksPerUser) {
    return ClickEvent.newBuilder()
        .setEventId("c" + index)
        .setUserId("u" + index % users)
        .setEventType("click")
        .setItemId("item" + index % ITEMS)
        .setTimestamp(clickTime(index, users, clicksPerUser))
        .build();
  }

  static long clickTime(long index, int users, int clicksPerUser) {
    return START + index / users * (HOUR_MILLIS / clicksPerUser);
  }

  /**
   * Click indexes {@code first}, {@code first + stride}, ... below {@code count}, then none, as an unbounded source:
   * a bounded one would end with the final watermark and fire every cleanup timer. Its watermark is the time of its
   * latest click, which stays within the clicks' hour.
   */
  static final class ClickIndexSource extends UnboundedSource<Long, ClickIndexSource.Position> {
    private static final long serialVersionUID = 1L;
    private final long first;
    private final long stride;
    private final long count;
    private final int users;
    private final int clicksPerUser;

    ClickIndexSource(long first, long stride, long count, int users, int clicksPerUser) {
      this.first = first;
      this.stride = stride;
      this.count = count;
      this.users = users;
      this.clicksPerUser = clicksPerUser;
    }

    /** The next index to read. */
    record Position(long next) implements UnboundedSource.CheckpointMark, Serializable {
      @Override
      public void finalizeCheckpoint() {}
    }

    /** Interleaved, as GenerateSequence splits: each split's indexes stay in time order. */
    @Override
    public List<ClickIndexSource> split(int desiredNumSplits, PipelineOptions options) {
      List<ClickIndexSource> splits = new ArrayList<>();
      for (int split = 0; split < desiredNumSplits; split++) {
        splits.add(
            new ClickIndexSource(first + split * stride, stride * desiredNumSplits, count, users, clicksPerUser));
      }
      return splits;
    }

    @Override
    public UnboundedReader<Long> createReader(PipelineOptions options, Position position) {
      return new Reader(this, position == null ? first : position.next());
    }

    @Override
    public Coder<Position> getCheckpointMarkCoder() {
      return SerializableCoder.of(Position.class);
    }

    @Override
    public Coder<Long> getOutputCoder() {
      return VarLongCoder.of();
    }

    private static final class Reader extends UnboundedSource.UnboundedReader<Long> {
      private final ClickIndexSource source;
      private long next;
      private long current = -1;

      Reader(ClickIndexSource source, long next) {
        this.source = source;
        this.next = next;
      }

      @Override
      public boolean start() {
        return advance();
      }

      @Override
      public boolean advance() {
        if (next >= source.count) {
          return false;
        }
        current = next;
        next += source.stride;
        return true;
      }

      @Override
      public Long getCurrent() {
        if (current < 0) {
          throw new NoSuchElementException("no click read yet");
        }
        return current;
      }

      @Override
      public Instant getCurrentTimestamp() {
        return new Instant(clickTime(getCurrent(), source.users, source.clicksPerUser));
      }

      /** Later clicks are never earlier than the latest one read. */
      @Override
      public Instant getWatermark() {
        return current < 0 ? new Instant(START) : getCurrentTimestamp();
      }

      @Override
      public Position getCheckpointMark() {
        return new Position(next);
      }

      @Override
      public ClickIndexSource getCurrentSource() {
        return source;
      }

      @Override
      public void close() {}
    }
  }

  private static final class ToClickEventFn extends DoFn<Long, ClickEvent> {
    private final int users;
    private final int clicksPerUser;

    ToClickEventFn(int users, int clicksPerUser) {
      this.users = users;
      this.clicksPerUser = clicksPerUser;
    }

    @ProcessElement
    public void processElement(@Element Long index, OutputReceiver<ClickEvent> out) {
      out.output(click(index, users, clicksPerUser));
    }
  }

  /** The discarding sink: counts the rows, one per applied click. */
  private static final class CountRowsFn extends DoFn<EntityPartials, Void> {
    @ProcessElement
    public void processElement(@Element EntityPartials row) {
      APPLIED.incrementAndGet();
    }
  }
}
