package dev.clickstream.runners;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

/**
 * {@code ./clickstream cluster start|stop|status|flink}: a Flink 1.19 session cluster on this machine, one
 * JobManager and N TaskManagers, each its own JVM started from the Flink jars Maven resolved for the project (no
 * Flink distribution needed). Jobs reach it as they reach any Flink cluster: {@code run --flinkMaster=HOST:PORT}
 * or Flink's own CLI.
 */
final class ClusterCommand {
  static final String DEFAULT_DIR = "data/flink-cluster";
  static final int DEFAULT_PORT = 8081;

  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream cluster start  [--taskManagers=1] [--slots=4] [--port=" + DEFAULT_PORT + "] [--dir="
              + DEFAULT_DIR + "] [...]",
          "       ./clickstream cluster status [--dir=" + DEFAULT_DIR + "]",
          "       ./clickstream cluster stop   [--dir=" + DEFAULT_DIR + "]",
          "       ./clickstream cluster flink  [--dir=" + DEFAULT_DIR + "] FLINK_CLI_ARGS ...",
          "",
          "A Flink 1.19 session cluster on this machine: one JobManager and N TaskManagers, each a separate JVM",
          "started from the project's resolved Flink jars, with the REST API and web UI on --port. Its",
          "configuration, logs, pid files, checkpoints and savepoints live under --dir.",
          "",
          "  start    starts whatever of the cluster is not running and waits until every TaskManager has",
          "           registered. Flags (a new cluster only; a running one keeps its configuration):",
          "    --taskManagers=N        TaskManager processes (default 1)",
          "    --slots=N               task slots per TaskManager (default 4; a job needs as many slots as its",
          "                            --parallelism)",
          "    --port=N                REST API and web UI (default " + DEFAULT_PORT + ")",
          "    --rpcPort=N             JobManager RPC (default 6123)",
          "    --taskManagerMemory=SIZE  each TaskManager's whole process (default 2048m)",
          "    --jobManagerMemory=SIZE   the JobManager's whole process (default 1024m)",
          "    --stateBackend=hashmap|rocksdb  state backend of jobs that do not choose one (default hashmap)",
          "  status   which processes run, the slots, and every job with its state",
          "  stop     stops the processes this command started from --dir, and nothing else; running jobs end",
          "           with them (stop them with a savepoint first to resume them later)",
          "  flink    Flink's own command line against this cluster, e.g.",
          "             ./clickstream cluster flink run -d -c dev.clickstream.pipelines.FeaturePipeline \\",
          "                 runners/target/clickstream.jar --features=ctr --runner=FlinkRunner --streaming=true \\",
          "                 --source=kafka",
          "             ./clickstream cluster flink list",
          "             ./clickstream cluster flink stop --savepointPath " + DEFAULT_DIR + "/savepoints JOB_ID",
          "",
          "Submit a pipeline with ./clickstream run all --flinkMaster=localhost:" + DEFAULT_PORT
              + " --source=kafka --streaming=true",
          "and watch it at http://localhost:" + DEFAULT_PORT + ". docs/deploy-flink.md has the details.");

  private static final Set<String> START_FLAGS =
      Set.of("dir", "taskManagers", "slots", "port", "rpcPort", "taskManagerMemory", "jobManagerMemory",
          "stateBackend");
  private static final Set<String> DIR_FLAG = Set.of("dir");
  private static final String JOB_MANAGER = "jobmanager";
  private static final String JOB_MANAGER_MAIN =
      "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  private static final String TASK_MANAGER_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
  private static final String CLI_MAIN = "org.apache.flink.client.cli.CliFrontend";
  /** Our own key in the cluster's config: how many TaskManagers {@code start} keeps running. */
  private static final String TASK_MANAGERS_KEY = "clickstream.cluster.taskmanagers";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT).withZone(ZoneId.systemDefault());

  private ClusterCommand() {}

  static int run(List<String> args, PrintStream out) throws Exception {
    if (args.isEmpty()) {
      out.println(HELP);
      return 2;
    }
    List<String> rest = args.subList(1, args.size());
    if (args.get(0).equals("flink")) {
      return flink(rest); // Flink's CLI answers its own --help
    }
    if (Flags.wantsHelp(args)) {
      out.println(HELP);
      return 0;
    }
    switch (args.get(0)) {
      case "start":
        return start(Flags.parse("cluster start", rest, START_FLAGS), out);
      case "status":
        return status(Flags.parse("cluster status", rest, DIR_FLAG), out);
      case "stop":
        return stop(Flags.parse("cluster stop", rest, DIR_FLAG), out);
      default:
        throw new UsageException(
            "cluster: unknown subcommand '" + args.get(0) + "'; use start, status, stop or flink (see --help)");
    }
  }

  /** The files of one cluster: all under one directory, so that {@code stop} and {@code status} find them. */
  static final class Layout {
    final Path dir;
    final Path conf;
    final Path logs;
    final Path pids;

    Layout(Path dir) {
      this.dir = dir.toAbsolutePath().normalize();
      this.conf = this.dir.resolve("conf");
      this.logs = this.dir.resolve("log");
      this.pids = this.dir.resolve("pid");
    }

    Path configFile() {
      return conf.resolve("config.yaml");
    }

    Path pidFile(String process) {
      return pids.resolve(process + ".pid");
    }

    Path log(String process) {
      return logs.resolve(process + ".log");
    }

    static Layout of(Flags flags) {
      return new Layout(Paths.get(flags.string("dir", DEFAULT_DIR)));
    }
  }

  private static String taskManager(int index) {
    return "taskmanager-" + index;
  }

  // ---- start ---------------------------------------------------------------------------------------------------

  private static int start(Flags flags, PrintStream out) throws Exception {
    Layout layout = Layout.of(flags);
    // Any process still up keeps the configuration it started with; the others come back with the same.
    boolean running = !liveProcesses(layout).isEmpty();
    if (!running) {
      writeConfig(layout, flags);
    } else if (flags.has("taskManagers")) {
      updateTaskManagerCount(layout, (int) flags.longValue("taskManagers", 1, 1, 64));
    }
    Configuration config = GlobalConfiguration.loadConfiguration(layout.conf.toString());
    int taskManagers = Integer.parseInt(config.getString(TASK_MANAGERS_KEY, "1"));
    String restAddress = "localhost:" + config.getString("rest.port", String.valueOf(DEFAULT_PORT));
    FlinkRest rest = new FlinkRest(restAddress);
    List<String> classpath = flinkClasspath();

    Map<String, Long> live = liveProcesses(layout);
    if (running) {
      out.printf("The cluster in %s is running; its configuration stays as it is.%n", layout.dir);
    }
    if (!live.containsKey(JOB_MANAGER)) {
      checkPortFree(config.getInteger("rest.port", DEFAULT_PORT), "--port");
      checkPortFree(config.getInteger("jobmanager.rpc.port", 6123), "--rpcPort");
      JobManagerProcessSpec spec =
          JobManagerProcessUtils.processSpecFromConfigWithNewOptionToInterpretLegacyHeap(
              config, JobManagerOptions.TOTAL_PROCESS_MEMORY);
      List<String> jvm = words(JobManagerProcessUtils.generateJvmParametersStr(spec, config));
      List<String> dynamic = words(JobManagerProcessUtils.generateDynamicConfigsStr(spec));
      long pid = launch(layout, JOB_MANAGER, classpath, jvm, JOB_MANAGER_MAIN, dynamic);
      out.printf("Started the JobManager (pid %d); log %s%n", pid, layout.log(JOB_MANAGER));
      awaitUp(rest, layout, JOB_MANAGER, out);
    }

    TaskExecutorProcessSpec taskManagerSpec =
        TaskExecutorProcessUtils.processSpecFromConfig(
            TaskExecutorProcessUtils.getConfigurationMapLegacyTaskManagerHeapSizeToConfigOption(
                config, TaskManagerOptions.TOTAL_PROCESS_MEMORY));
    // What Flink's own start scripts compute with BashJavaUtils: the JVM's heap, direct and metaspace limits, and
    // every memory component as explicit options, which a TaskManager outside a distribution requires.
    List<String> taskManagerJvm = words(ProcessMemoryUtils.generateJvmParametersStr(taskManagerSpec));
    List<String> taskManagerDynamic = words(TaskExecutorProcessUtils.generateDynamicConfigsStr(taskManagerSpec));
    for (int index = 1; index <= taskManagers; index++) {
      String name = taskManager(index);
      if (live.containsKey(name)) {
        continue;
      }
      List<String> dynamic = new ArrayList<>(taskManagerDynamic);
      // The REST API then names each TaskManager after its process and pid file.
      dynamic.addAll(List.of("-D", "taskmanager.resource-id=" + name));
      long pid = launch(layout, name, classpath, taskManagerJvm, TASK_MANAGER_MAIN, dynamic);
      out.printf("Started %s (pid %d); log %s%n", name, pid, layout.log(name));
    }
    awaitTaskManagers(rest, layout, taskManagers, config.getInteger("taskmanager.numberOfTaskSlots", 1), out);
    JsonSummary summary = JsonSummary.of(rest);
    out.printf("Flink session cluster ready: %d TaskManager%s, %d slots (%d free).%n", summary.taskManagers,
        summary.taskManagers == 1 ? "" : "s", summary.slots, summary.freeSlots);
    out.printf("  web UI and REST   %s%n", rest.webUi());
    out.printf("  submit            ./clickstream run all --flinkMaster=%s --source=kafka --streaming=true%n",
        restAddress);
    out.printf("  files             %s (conf, log, pid, checkpoints, savepoints)%n", layout.dir);
    out.printf("  stop              ./clickstream cluster stop%s%n", dirFlag(flags));
    return 0;
  }

  private static String dirFlag(Flags flags) {
    return flags.has("dir") ? " --dir=" + flags.string("dir", DEFAULT_DIR) : "";
  }

  private static void writeConfig(Layout layout, Flags flags) throws IOException {
    int slots = (int) flags.longValue("slots", 4, 1, 256);
    int port = (int) flags.longValue("port", DEFAULT_PORT, 1, 65_535);
    int rpcPort = (int) flags.longValue("rpcPort", 6123, 1, 65_535);
    int taskManagers = (int) flags.longValue("taskManagers", 1, 1, 64);
    String stateBackend = flags.string("stateBackend", "hashmap");
    if (!stateBackend.equals("hashmap") && !stateBackend.equals("rocksdb")) {
      throw new UsageException("cluster start: --stateBackend=" + stateBackend + " must be hashmap or rocksdb");
    }
    Map<String, String> config = new LinkedHashMap<>();
    config.put(TASK_MANAGERS_KEY, String.valueOf(taskManagers));
    config.put("jobmanager.rpc.address", "localhost");
    config.put("jobmanager.rpc.port", String.valueOf(rpcPort));
    config.put("jobmanager.bind-host", "localhost");
    config.put("rest.address", "localhost");
    config.put("rest.bind-address", "localhost");
    config.put("rest.port", String.valueOf(port));
    config.put("taskmanager.host", "localhost");
    config.put("taskmanager.bind-host", "localhost");
    config.put("taskmanager.numberOfTaskSlots", String.valueOf(slots));
    // Outside a distribution Flink cannot derive these: one core per slot, and explicit process sizes.
    config.put("taskmanager.cpu.cores", String.valueOf(slots));
    config.put("jobmanager.memory.process.size", memory(flags, "jobManagerMemory", "1024m"));
    config.put("taskmanager.memory.process.size", memory(flags, "taskManagerMemory", "2048m"));
    // Beam translates each pipeline into many operators with shuffles between them: give the network room.
    config.put("taskmanager.memory.network.min", "128m");
    config.put("taskmanager.memory.network.max", "256m");
    // Managed memory is RocksDB's; the heap backend leaves it unused, so keep it small then.
    config.put("taskmanager.memory.managed.fraction", stateBackend.equals("rocksdb") ? "0.4" : "0.1");
    // Each job's classes (Beam, Kafka, JDBC drivers) load into metaspace once per job and TaskManager.
    config.put("taskmanager.memory.jvm-metaspace.size", "512m");
    config.put("state.backend.type", stateBackend);
    config.put("state.checkpoints.dir", layout.dir.resolve("checkpoints").toUri().toString());
    config.put("state.savepoints.dir", layout.dir.resolve("savepoints").toUri().toString());
    config.put("io.tmp.dirs", layout.dir.resolve("tmp").toString());
    config.put("web.tmpdir", layout.dir.resolve("tmp").resolve("web").toString());
    // A lost TaskManager is noticed within seconds instead of Flink's default 50.
    config.put("heartbeat.interval", "2000");
    config.put("heartbeat.timeout", "10000");
    // Beam's runner creates thread locals Flink's leak check mistakes for leaks (apache/beam#20783).
    config.put("classloader.check-leaked-classloader", "false");
    Files.createDirectories(layout.conf);
    Files.createDirectories(layout.logs);
    Files.createDirectories(layout.pids);
    Files.createDirectories(layout.dir.resolve("tmp").resolve("web"));
    List<String> lines = new ArrayList<>();
    lines.add("# Written by ./clickstream cluster start; a running cluster keeps it. Flink 1.19 options, flat keys.");
    config.forEach((key, value) -> lines.add(key + ": " + value));
    Files.write(layout.configFile(), lines, StandardCharsets.UTF_8);
    Files.write(layout.conf.resolve("log4j.properties"), List.of(
        "# Each process logs to the file named by -Dlog.file.",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.file.ref = MainAppender",
        "appender.main.name = MainAppender",
        "appender.main.type = File",
        "appender.main.append = true",
        "appender.main.fileName = ${sys:log.file}",
        "appender.main.layout.type = PatternLayout",
        "appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n",
        "logger.kafka.name = org.apache.kafka",
        "logger.kafka.level = WARN"), StandardCharsets.UTF_8);
  }

  private static String memory(Flags flags, String name, String defaultValue) {
    String value = flags.string(name, defaultValue);
    if (!value.matches("\\d+[kmgKMG]?[bB]?")) {
      throw new UsageException("cluster start: --" + name + "=" + value + " is not a size such as 1536m or 2g");
    }
    return value;
  }

  private static void updateTaskManagerCount(Layout layout, int taskManagers) throws IOException {
    List<String> lines = Files.readAllLines(layout.configFile(), StandardCharsets.UTF_8).stream()
        .map(line -> line.startsWith(TASK_MANAGERS_KEY + ":") ? TASK_MANAGERS_KEY + ": " + taskManagers : line)
        .collect(Collectors.toList());
    Files.write(layout.configFile(), lines, StandardCharsets.UTF_8);
  }

  private static void checkPortFree(int port, String flag) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName("localhost"))) {
      socket.setReuseAddress(true);
    } catch (IOException e) {
      throw new UsageException("cluster start: port " + port + " is in use; choose another with " + flag
          + "=N, or stop what holds it");
    }
  }

  /** Starts one cluster process in its own session, so it outlives this command and the terminal's Ctrl-C. */
  private static long launch(
      Layout layout, String name, List<String> classpath, List<String> jvm, String mainClass, List<String> args)
      throws IOException {
    List<String> command = new ArrayList<>();
    if (new File("/usr/bin/setsid").canExecute()) {
      command.add("/usr/bin/setsid");
    }
    command.add(javaBinary());
    command.add("-D" + MARKER + "=" + layout.dir);
    command.addAll(jvm);
    command.addAll(flinkJvmOpens());
    command.add("-Dlog.file=" + layout.log(name));
    command.add("-Dlog4j.configurationFile=" + layout.conf.resolve("log4j.properties").toUri());
    command.add("-cp");
    command.add(String.join(File.pathSeparator, classpath));
    command.add(mainClass);
    command.add("--configDir");
    command.add(layout.conf.toString());
    command.addAll(args);
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(layout.logs.resolve(name + ".out").toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .start();
    Files.writeString(layout.pidFile(name), process.pid() + "\n", StandardCharsets.UTF_8);
    return process.pid();
  }

  /** A system property on every cluster process naming its directory: how stop tells ours from others. */
  private static final String MARKER = "clickstream.cluster";

  private static String javaBinary() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /**
   * The {@code --add-opens}/{@code --add-exports} list this JVM was started with (the launcher's and the tests'
   * list for Flink on Java 17), passed on to every cluster process.
   */
  static List<String> flinkJvmOpens() {
    List<String> opens = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(arg -> arg.startsWith("--add-opens=") || arg.startsWith("--add-exports="))
        .collect(Collectors.toList());
    if (opens.isEmpty()) {
      throw new UsageException("cluster: this JVM was started without the --add-opens list Flink needs on Java 17;"
          + " run it through ./clickstream, which passes them on");
    }
    return opens;
  }

  /** The jars of Flink's runtime, web UI, RocksDB backend and Log4j, as Maven resolved them for module cluster. */
  static List<String> flinkClasspath() throws IOException {
    Path file = projectHome().resolve("cluster").resolve("target").resolve("flink-classpath.txt");
    if (!Files.exists(file)) {
      throw new UsageException("cluster: " + file + " is missing; build the project (mvn -DskipTests install, or"
          + " any ./clickstream command after a source change) to resolve the Flink jars");
    }
    List<String> jars = Arrays.asList(Files.readString(file, StandardCharsets.UTF_8).trim().split(File.pathSeparator));
    for (String jar : jars) {
      if (!Files.exists(Paths.get(jar))) {
        throw new UsageException("cluster: the Flink jar " + jar + " is gone from the Maven repository; rebuild with"
            + " mvn -DskipTests install to fetch it again");
      }
    }
    return jars;
  }

  /** The project's root: this class lives in runners/target/clickstream.jar, or runners/target/classes in a build. */
  static Path projectHome() {
    String home = System.getProperty("clickstream.home");
    if (home != null) {
      return Paths.get(home).toAbsolutePath();
    }
    try {
      Path location = Paths.get(ClusterCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return location.getParent().getParent().getParent();
    } catch (Exception e) {
      throw new IllegalStateException("cannot tell where the project is; set -Dclickstream.home", e);
    }
  }

  /** The shaded jar a cluster runs jobs from: user code travels to the cluster in it. */
  static Path jobJar() {
    Path jar = projectHome().resolve("runners").resolve("target").resolve("clickstream.jar");
    if (!Files.exists(jar)) {
      throw new UsageException(jar + " is missing; build it with mvn -DskipTests install (./clickstream builds it"
          + " on first use)");
    }
    return jar;
  }

  private static List<String> words(String text) {
    return Arrays.stream(text.trim().split("\\s+")).filter(word -> !word.isEmpty()).collect(Collectors.toList());
  }

  private static void awaitUp(FlinkRest rest, Layout layout, String name, PrintStream out) throws Exception {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!rest.isUp()) {
      failIfDead(layout, name);
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the JobManager did not answer on " + rest.webUi() + " within "
            + START_TIMEOUT.toSeconds() + " s; see " + layout.log(name));
      }
      Thread.sleep(250);
    }
    out.printf("JobManager up: %s%n", rest.webUi());
  }

  /** Waits until every TaskManager has registered and reported its slots: the two arrive separately. */
  private static void awaitTaskManagers(
      FlinkRest rest, Layout layout, int expected, int slotsEach, PrintStream out) throws Exception {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    int registered = -1;
    while (true) {
      JsonNode overview = rest.overview();
      int now = overview.path("taskmanagers").asInt();
      if (now != registered) {
        out.printf("  %d of %d TaskManagers registered%n", now, expected);
        registered = now;
      }
      if (now >= expected && overview.path("slots-total").asInt() >= expected * slotsEach) {
        return;
      }
      for (int index = 1; index <= expected; index++) {
        failIfDead(layout, taskManager(index));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(registered + " of " + expected + " TaskManagers registered within "
            + START_TIMEOUT.toSeconds() + " s; see the logs in " + layout.logs);
      }
      Thread.sleep(250);
    }
  }

  /** A process that exited during start: say why, from the end of its log. */
  private static void failIfDead(Layout layout, String name) throws IOException {
    if (!liveProcesses(layout).containsKey(name)) {
      List<String> tail = new ArrayList<>();
      for (Path log : List.of(layout.log(name), layout.logs.resolve(name + ".out"))) {
        if (Files.exists(log)) {
          List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
          lines.stream().filter(line -> line.contains("ERROR") || line.contains("Caused by") || line.contains("Exception"))
              .skip(Math.max(0, lines.size() - 400)).limit(8).forEach(tail::add);
        }
      }
      throw new IllegalStateException("the " + name + " process exited during start; see " + layout.log(name)
          + (tail.isEmpty() ? "" : "\n  " + String.join("\n  ", tail)));
    }
  }

  // ---- status and stop ---------------------------------------------------------------------------------------

  /** name -> pid of every process with a pid file in {@code layout} that is alive and is ours. */
  static Map<String, Long> liveProcesses(Layout layout) throws IOException {
    Map<String, Long> live = new LinkedHashMap<>();
    if (!Files.isDirectory(layout.pids)) {
      return live;
    }
    try (Stream<Path> files = Files.list(layout.pids)) {
      for (Path file : files.sorted().collect(Collectors.toList())) {
        String name = file.getFileName().toString().replaceFirst("\\.pid$", "");
        Optional<Long> pid = readPid(file);
        if (pid.isPresent() && isOurs(pid.get(), layout)) {
          live.put(name, pid.get());
        }
      }
    }
    return live;
  }

  private static Optional<Long> readPid(Path file) {
    try {
      return Optional.of(Long.parseLong(Files.readString(file, StandardCharsets.UTF_8).trim()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Alive, and started by this command for this directory: a recycled pid is someone else's process. */
  private static boolean isOurs(long pid, Layout layout) {
    Optional<ProcessHandle> handle = ProcessHandle.of(pid);
    if (handle.isEmpty() || !handle.get().isAlive()) {
      return false;
    }
    try {
      byte[] cmdline = Files.readAllBytes(Paths.get("/proc", String.valueOf(pid), "cmdline"));
      return Arrays.asList(new String(cmdline, StandardCharsets.UTF_8).split("\0"))
          .contains("-D" + MARKER + "=" + layout.dir);
    } catch (IOException e) {
      return false;
    }
  }

  private static int status(Flags flags, PrintStream out) throws IOException {
    Layout layout = Layout.of(flags);
    if (!Files.exists(layout.configFile())) {
      out.printf("No cluster in %s; start one with ./clickstream cluster start%s%n", layout.dir, dirFlag(flags));
      return 1;
    }
    Configuration config = GlobalConfiguration.loadConfiguration(layout.conf.toString());
    int taskManagers = Integer.parseInt(config.getString(TASK_MANAGERS_KEY, "1"));
    Map<String, Long> live = liveProcesses(layout);
    out.printf("Flink session cluster in %s%n", layout.dir);
    List<String> names = new ArrayList<>();
    names.add(JOB_MANAGER);
    for (int index = 1; index <= taskManagers; index++) {
      names.add(taskManager(index));
    }
    boolean allUp = true;
    for (String name : names) {
      Long pid = live.get(name);
      allUp &= pid != null;
      out.printf("  %-16s %s%n", name, pid == null ? "not running" : "running (pid " + pid + ")");
    }
    FlinkRest rest = new FlinkRest("localhost:" + config.getString("rest.port", String.valueOf(DEFAULT_PORT)));
    if (live.containsKey(JOB_MANAGER) && rest.isUp()) {
      JsonSummary summary = JsonSummary.of(rest);
      out.printf("  %d TaskManager%s registered, %d slots, %d free; web UI %s%n", summary.taskManagers,
          summary.taskManagers == 1 ? "" : "s", summary.slots, summary.freeSlots, rest.webUi());
      List<FlinkRest.Job> jobs = rest.jobs();
      out.printf("  %s%n", jobs.isEmpty() ? "no jobs" : "jobs:");
      for (FlinkRest.Job job : jobs) {
        out.printf("    %s  %-10s %-24s started %s%n", job.id(), job.state(), job.name(),
            TIME.format(Instant.ofEpochMilli(job.startTime())));
      }
    }
    return allUp ? 0 : 1;
  }

  private static int stop(Flags flags, PrintStream out) throws Exception {
    Layout layout = Layout.of(flags);
    Map<String, Long> live = liveProcesses(layout);
    if (live.isEmpty()) {
      out.printf("No cluster process from %s is running.%n", layout.dir);
      deletePidFiles(layout);
      return 0;
    }
    Configuration config = GlobalConfiguration.loadConfiguration(layout.conf.toString());
    FlinkRest rest = new FlinkRest("localhost:" + config.getString("rest.port", String.valueOf(DEFAULT_PORT)));
    if (live.containsKey(JOB_MANAGER) && rest.isUp()) {
      long running = rest.jobs().stream().filter(job -> job.state().equals("RUNNING")).count();
      if (running > 0) {
        out.printf("%d running job%s end%s with the cluster.%n", running, running == 1 ? "" : "s",
            running == 1 ? "s" : "");
      }
    }
    // TaskManagers first, so the JobManager does not spend its last seconds rescheduling their tasks.
    List<String> order = new ArrayList<>(live.keySet());
    order.remove(JOB_MANAGER);
    if (live.containsKey(JOB_MANAGER)) {
      order.add(JOB_MANAGER);
    }
    for (String name : order) {
      ProcessHandle process = ProcessHandle.of(live.get(name)).orElse(null);
      if (process == null) {
        continue;
      }
      process.destroy();
      boolean ended = process.onExit().completeOnTimeout(null, STOP_TIMEOUT.toMillis(),
          java.util.concurrent.TimeUnit.MILLISECONDS).get() != null || !process.isAlive();
      if (!ended) {
        process.destroyForcibly();
        process.onExit().get();
        out.printf("Killed %s (pid %d): it did not stop within %d s.%n", name, process.pid(),
            STOP_TIMEOUT.toSeconds());
      } else {
        out.printf("Stopped %s (pid %d).%n", name, process.pid());
      }
    }
    deletePidFiles(layout);
    return 0;
  }

  private static void deletePidFiles(Layout layout) throws IOException {
    if (!Files.isDirectory(layout.pids)) {
      return;
    }
    try (Stream<Path> files = Files.list(layout.pids)) {
      files.forEach(file -> {
        try {
          Files.delete(file);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }

  // ---- flink CLI -----------------------------------------------------------------------------------------------

  /** Runs Flink's {@code CliFrontend} (the {@code flink} command of a distribution) against this cluster. */
  private static int flink(List<String> args) throws Exception {
    List<String> cliArgs = new ArrayList<>(args);
    String dir = DEFAULT_DIR;
    if (!cliArgs.isEmpty() && cliArgs.get(0).startsWith("--dir=")) {
      dir = cliArgs.remove(0).substring("--dir=".length());
    }
    Layout layout = new Layout(Paths.get(dir));
    if (!Files.exists(layout.configFile())) {
      throw new UsageException("cluster flink: no cluster configuration in " + layout.conf
          + "; start a cluster with ./clickstream cluster start first");
    }
    List<String> command = new ArrayList<>();
    command.add(javaBinary());
    command.addAll(flinkJvmOpens());
    command.add("-Dlog.file=" + layout.log("flink-cli"));
    command.add("-Dlog4j.configurationFile=" + layout.conf.resolve("log4j.properties").toUri());
    command.add("-cp");
    command.add(String.join(File.pathSeparator, flinkClasspath()));
    command.add(CLI_MAIN);
    command.addAll(cliArgs);
    ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
    builder.environment().put("FLINK_CONF_DIR", layout.conf.toString());
    return builder.start().waitFor();
  }

  /** The cluster's size as the REST overview reports it. */
  private static final class JsonSummary {
    final int taskManagers;
    final int slots;
    final int freeSlots;

    private JsonSummary(int taskManagers, int slots, int freeSlots) {
      this.taskManagers = taskManagers;
      this.slots = slots;
      this.freeSlots = freeSlots;
    }

    static JsonSummary of(FlinkRest rest) throws IOException {
      var overview = rest.overview();
      return new JsonSummary(overview.path("taskmanagers").asInt(), overview.path("slots-total").asInt(),
          overview.path("slots-available").asInt());
    }
  }
}
