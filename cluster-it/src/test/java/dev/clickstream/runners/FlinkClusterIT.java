package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.pipelines.KafkaEventStream;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.StoreFixtures;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipelines on a real Flink session cluster: a JobManager and two TaskManagers, each its own JVM, started by
 * {@code ./clickstream cluster start}, reading a real Kafka broker and writing PostgreSQL. The CTR job goes in
 * through Flink's own CLI ({@code flink run -d}) and the click-count job through the launcher
 * ({@code run --flinkMaster}), both from the shaded jar. While events keep arriving, the click-count job is stopped
 * with a savepoint and resumed from it, then the TaskManager running the jobs is killed. At the end both tables
 * must equal a plain-Java computation over the events: nothing lost, nothing counted twice.
 */
class FlinkClusterIT {
  private static final long OUT_OF_ORDERNESS = 5_000;
  /** Events go in four phases of six slices: before the stop, while stopped, after the resume, after the kill. */
  private static final int SLICES = 24;
  private static final int PHASE = 6;
  private static final Duration SLICE_PAUSE = Duration.ofMillis(400);
  private static final Duration TIMEOUT = Duration.ofSeconds(120);
  private static final Pattern SUBMITTED_JOB = Pattern.compile("as job ([0-9a-f]{32})");

  private static EmbeddedKafkaBroker broker;

  /** Kept when the test fails: the cluster's logs are in it. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  static Path work;

  @BeforeAll
  static void startBroker() throws Exception {
    broker = EmbeddedKafkaBroker.start(0);
  }

  @AfterAll
  static void stopBroker() throws Exception {
    ConnectionPools.closeAll();
    broker.close();
  }

  @Test
  void jobsSurviveAStopWithSavepointAndALostTaskManagerWithExactRows() throws Exception {
    Path clusterDir = work.resolve("cluster");
    int restPort = freePort();
    String dirFlag = "--dir=" + clusterDir;
    String master = "localhost:" + restPort;
    String topic = "cluster_events";
    broker.createTopic(topic, 1);
    String storeUrl = StoreFixtures.freshStoreUrl("postgresql");
    KafkaEventStream stream = new KafkaEventStream(41, 9_000, 60, 250, OUT_OF_ORDERNESS, OUT_OF_ORDERNESS, 0);
    stream.closeWindows();
    List<String> pipelineFlags = List.of(
        "--source=kafka", "--bootstrapServers=" + broker.bootstrapServers(), "--topic=" + topic,
        "--maxOutOfOrderness=" + OUT_OF_ORDERNESS + "ms",
        // Only the closing event may move the watermark past the last windows, not an idle wall clock.
        "--idleTimeout=1h",
        "--onlineStore=" + storeUrl, "--offlineStore=" + work.resolve("offline"), "--checkpointingInterval=500");

    FlinkRest rest = new FlinkRest(master);
    ExecutorService producer = Executors.newSingleThreadExecutor();
    try {
      assertThat(cluster("start", dirFlag, "--port=" + restPort, "--rpcPort=" + freePort(), "--taskManagers=2",
          "--slots=4"), containsString("Flink session cluster ready: 2 TaskManagers, 8 slots (8 free)."));
      // CTR through Flink's CLI, as `flink run -d -c MAIN app.jar ARGS` on any Flink 1.19 cluster.
      List<String> ctrArgs = new ArrayList<>(List.of("flink", dirFlag, "run", "-d", "-c",
          "dev.clickstream.pipelines.FeaturePipeline", ClusterCommand.jobJar().toString(), "--features=ctr",
          "--runner=FlinkRunner",
          "--streaming=true", "--jobName=it-ctr", "--parallelism=2", "--maxParallelism=128",
          "--deadLetterTopic=" + topic + "_ctr_dlq"));
      ctrArgs.addAll(pipelineFlags);
      assertThat(ClusterCommand.run(ctrArgs, System.out), is(0));
      String ctrJob = rest.latestJobNamed("it-ctr").orElseThrow().id();
      // Click counts through the launcher, which submits detached and prints the job id.
      List<String> countArgs = new ArrayList<>(List.of("run", "click-counts", "--flinkMaster=" + master,
          "--deadLetterTopic=" + topic + "_counts_dlq"));
      countArgs.addAll(pipelineFlags);
      String countJob = submitThroughLauncher(countArgs);
      awaitTrue("both jobs run every task", () -> allTasksRunning(rest, ctrJob) && allTasksRunning(rest, countJob));

      AtomicInteger slicesSent = new AtomicInteger();
      CountDownLatch stopped = new CountDownLatch(1);
      CountDownLatch resumed = new CountDownLatch(1);
      CountDownLatch killed = new CountDownLatch(1);
      List<CountDownLatch> phaseStarts = List.of(new CountDownLatch(0), stopped, resumed, killed);
      Future<?> producing = producer.submit(() -> {
        int perSlice = (stream.messages.size() + SLICES - 1) / SLICES;
        for (int slice = 0; slice < SLICES; slice++) {
          if (slice % PHASE == 0) {
            phaseStarts.get(slice / PHASE).await();
          }
          int from = slice * perSlice;
          // The closing event goes last, after every job has recovered.
          int to = Math.min(stream.messages.size() - 1, from + perSlice);
          KafkaEventStream.produce(broker.bootstrapServers(), topic, stream.messages.subList(from, to));
          slicesSent.incrementAndGet();
          Thread.sleep(SLICE_PAUSE.toMillis());
        }
        return null;
      });

      awaitTrue("rows land in both tables", () -> !KafkaEventStream.storedCtr(storeUrl).isEmpty()
          && !KafkaEventStream.storedClickCounts(storeUrl).isEmpty());
      awaitTrue("the first phase is sent", () -> slicesSent.get() == PHASE);
      String savepoint = rest.stopWithSavepoint(countJob, work.resolve("savepoints").toUri().toString(), TIMEOUT);
      awaitTrue("the stopped job is finished", () -> rest.job(countJob).path("state").asText().equals("FINISHED"));
      stopped.countDown();
      awaitTrue("events arrive while the job is stopped", () -> slicesSent.get() == 2 * PHASE);
      List<String> resumeArgs = new ArrayList<>(countArgs);
      resumeArgs.add("--savepointPath=" + savepoint);
      String resumedJob = submitThroughLauncher(resumeArgs);
      resumed.countDown();
      awaitTrue("the resumed job runs every task", () -> allTasksRunning(rest, resumedJob));
      // The REST API serves cached snapshots of a job (web.refresh-interval): its restore may show a moment later.
      awaitTrue("the resumed job reports what it restored",
          () -> !rest.checkpoints(resumedJob).path("latest").path("restored").isMissingNode());
      JsonNode restoredFrom = rest.checkpoints(resumedJob).path("latest").path("restored");
      assertThat(restoredFrom.path("is_savepoint").asBoolean(), is(true));
      assertThat(restoredFrom.path("external_path").asText(), equalTo(savepoint));

      // Mid-stream, once both jobs have checkpointed since the resume: kill -9 the TaskManager that runs the most.
      awaitTrue("events arrive after the resume", () -> slicesSent.get() == 3 * PHASE);
      awaitTrue("both jobs checkpoint after the resume", () -> completedCheckpoints(rest, resumedJob) >= 2
          && completedCheckpoints(rest, ctrJob) >= 2);
      FlinkRest.TaskManager busiest = rest.taskManagers().stream()
          .max(Comparator.comparingInt(taskManager -> taskManager.slots() - taskManager.freeSlots()))
          .orElseThrow();
      List<String> jobsOnIt = new ArrayList<>();
      for (String job : List.of(ctrJob, resumedJob)) {
        if (taskManagersOf(rest, job).contains(busiest.id())) {
          jobsOnIt.add(job);
        }
      }
      assertThat(jobsOnIt, not(empty()));
      long pid = Long.parseLong(Files.readString(clusterDir.resolve("pid").resolve(busiest.id() + ".pid")).trim());
      ProcessHandle.of(pid).orElseThrow().destroyForcibly();
      killed.countDown();
      awaitTrue("the killed TaskManager is gone", () -> rest.taskManagers().size() == 1);
      for (String job : jobsOnIt) {
        awaitTrue(job + " restores from a checkpoint", () -> {
          JsonNode restored = rest.checkpoints(job).path("latest").path("restored");
          return allTasksRunning(rest, job) && !restored.isMissingNode()
              && !restored.path("is_savepoint").asBoolean();
        });
      }
      producing.get();
      KafkaEventStream.produce(broker.bootstrapServers(), topic,
          stream.messages.subList(stream.messages.size() - 1, stream.messages.size()));

      Map<String, String> expectedCtr = stream.expectedCtr();
      Map<String, List<Object>> expectedCounts = stream.expectedClickCounts();
      awaitTrue("both tables equal the independent computation",
          () -> KafkaEventStream.storedCtr(storeUrl).equals(expectedCtr)
              && KafkaEventStream.storedClickCounts(storeUrl).equals(expectedCounts),
          () -> "ctr_5min: " + difference(expectedCtr, KafkaEventStream.storedCtr(storeUrl)) + "; click_counts: "
              + difference(expectedCounts, KafkaEventStream.storedClickCounts(storeUrl)));
      assertThat(KafkaEventStream.storedCtr(storeUrl), equalTo(expectedCtr));
      assertThat(KafkaEventStream.storedClickCounts(storeUrl), equalTo(expectedCounts));
      for (String deadLetters : List.of(topic + "_ctr_dlq", topic + "_counts_dlq")) {
        assertThat(deadLetters + ": every bad or too-late record, at least once", sources(deadLetters),
            is(stream.malformed + stream.tooLate));
      }

      // A lost TaskManager is a missing process: start brings back just that one.
      assertThat(cluster("status", dirFlag), containsString(busiest.id() + "    not running"));
      assertThat(cluster("start", dirFlag), containsString("Started " + busiest.id()));
      assertThat(rest.overview().path("taskmanagers").asInt(), is(2));
    } finally {
      producer.shutdownNow();
      String stopped = cluster("stop", dirFlag);
      assertThat(stopped, containsString("Stopped jobmanager"));
    }
    assertThat(ClusterCommand.liveProcesses(new ClusterCommand.Layout(clusterDir)).keySet(), is(empty()));
    assertThat(leftoverClusterProcesses(clusterDir), is(empty()));
  }

  /** Runs {@code ./clickstream cluster ARGS} in this JVM and returns what it printed. */
  private static String cluster(String... args) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      int exit = Clickstream.run(prepend("cluster", args), out, out);
      String printed = bytes.toString(StandardCharsets.UTF_8);
      System.out.print(printed);
      if (exit != 0 && !args[0].equals("status")) {
        throw new AssertionError("cluster " + String.join(" ", args) + " exited " + exit + ":\n" + printed);
      }
      return printed;
    }
  }

  private static List<String> prepend(String first, String... rest) {
    List<String> all = new ArrayList<>();
    all.add(first);
    all.addAll(List.of(rest));
    return all;
  }

  /**
   * Runs the launcher as {@code ./clickstream} does, in its own JVM from the shaded jar, and returns the id of the
   * job it submitted.
   */
  private static String submitThroughLauncher(List<String> args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(ClusterCommand.flinkJvmOpens());
    command.add("-cp");
    Path target = ClusterCommand.jobJar().getParent();
    command.add(ClusterCommand.jobJar() + File.pathSeparator + target.resolve("launcher-lib") + File.separator + "*");
    command.add(Clickstream.class.getName());
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    System.out.print(output);
    assertThat("./clickstream " + String.join(" ", args) + "\n" + output, process.waitFor(), is(0));
    Matcher job = SUBMITTED_JOB.matcher(output);
    assertThat(output, job.find(), is(true));
    return job.group(1);
  }

  /** Resource ids of the TaskManagers that run any task of {@code job}. */
  private static Set<String> taskManagersOf(FlinkRest rest, String job) throws IOException {
    Set<String> taskManagers = new TreeSet<>();
    for (JsonNode vertex : rest.job(job).path("vertices")) {
      JsonNode hosts = rest.get("/jobs/" + job + "/vertices/" + vertex.path("id").asText() + "/taskmanagers");
      for (JsonNode host : hosts.path("taskmanagers")) {
        taskManagers.add(host.path("taskmanager-id").asText());
      }
    }
    return taskManagers;
  }

  private static boolean allTasksRunning(FlinkRest rest, String job) throws IOException {
    return rest.allTasksRunning(job);
  }

  private static long completedCheckpoints(FlinkRest rest, String job) throws IOException {
    return rest.checkpoints(job).path("counts").path("completed").asLong();
  }

  /** The distinct source positions in a dead-letter topic: each bad record once, however often it was written. */
  private static int sources(String topic) {
    List<ConsumerRecord<byte[], byte[]>> letters =
        KafkaEventStream.readTopic(broker.bootstrapServers(), topic, 1, Duration.ofSeconds(30));
    Set<String> sources = new TreeSet<>();
    letters.forEach(letter -> sources.add(KafkaEventStream.header(letter, "source")));
    return sources.size();
  }

  /** Processes still alive that carry this cluster's marker, whatever their pid files say. */
  private static List<Long> leftoverClusterProcesses(Path clusterDir) {
    String marker = "-Dclickstream.cluster=" + clusterDir.toAbsolutePath().normalize();
    List<Long> leftovers = new ArrayList<>();
    ProcessHandle.allProcesses().forEach(process -> {
      try {
        String cmdline = Files.readString(Path.of("/proc", String.valueOf(process.pid()), "cmdline"));
        if (List.of(cmdline.split("\0")).contains(marker)) {
          leftovers.add(process.pid());
        }
      } catch (IOException | RuntimeException e) {
        // Gone meanwhile, or not ours to read.
      }
    });
    return leftovers;
  }

  private interface Check {
    boolean holds() throws Exception;
  }

  private interface Explanation {
    String explain() throws Exception;
  }

  /** Which users differ, with the first few rows: enough to tell a lost event from a double count. */
  private static <V> String difference(Map<String, V> expected, Map<String, V> actual) {
    List<String> differences = new ArrayList<>();
    Set<String> users = new TreeSet<>(expected.keySet());
    users.addAll(actual.keySet());
    for (String user : users) {
      if (!java.util.Objects.equals(expected.get(user), actual.get(user))) {
        differences.add(user + " expected " + expected.get(user) + " stored " + actual.get(user));
      }
    }
    return differences.size() + " of " + users.size() + " users differ"
        + (differences.isEmpty() ? "" : ", e.g. " + String.join(", ", differences.subList(0, Math.min(5,
            differences.size()))));
  }

  private static void awaitTrue(String what, Check check) throws Exception {
    awaitTrue(what, check, () -> "");
  }

  /** Waits until {@code check} holds; an exception (a table not created yet, a job not listed yet) means not yet. */
  private static void awaitTrue(String what, Check check, Explanation explanation) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    Exception last = null;
    while (true) {
      try {
        if (check.holds()) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + TIMEOUT.toSeconds() + " s: " + what + " " + explanation.explain()
            + " (cluster logs in " + work + ")", last);
      }
      Thread.sleep(250);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
