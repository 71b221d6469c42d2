package dev.clickstream.runners;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/** The {@code ./clickstream} entry point: dispatches to a command. */
public final class Clickstream {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream COMMAND [--name=value ...]",
          "",
          "Commands:",
          "  demo       the main job on embedded defaults: generate, run every pipeline on embedded Flink, serve",
          "  generate   write a deterministic synthetic event stream to a file, or produce it to Kafka",
          "  replay     replay a recorded events file to a Kafka topic, one message per record",
          "  kafka      run a single-node Kafka broker in the foreground (no install needed)",
          "  dimensions write the users and items dimension tables the enriched pipeline joins events with",
          "  run        run a pipeline: ctr, click-counts, raw-events, attribution, sessions, enriched or all",
          "             (embedded Flink by default)",
          "  cluster    start, stop or inspect a local Flink session cluster (JobManager + TaskManagers)",
          "  serve      serve feature vectors from the online store over HTTP",
          "  get        print feature vectors from a running server: get VIEW ENTITY..., get --service=NAME ENTITY...",
          "  training-data  a point-in-time correct training set: a spine of (entity, timestamp, label) rows joined",
          "             with every named view's value as of each timestamp, from the offline store",
          "  backfill   recompute features from the offline raw events of a range of days, in batch",
          "  bench      bench serving: time pre-computed, on-demand and tiled lookups; bench freshness:",
          "             event-to-servable latency while streaming from Kafka; bench pipeline: throughput of the",
          "             CTR and rolling click-count pipelines against the CTR in Flink's DataStream API, and of every",
          "             feature streaming from Kafka into PostgreSQL (--runs=all-stream,...); bench state:",
          "             checkpointed bytes per user of the rolling click counts",
          "  test       start the local databases the tests need and run every test (mvn verify)",
          "",
          "'./clickstream COMMAND --help' describes a command and its options.");

  /**
   * The commands in {@link #HELP} that other modules provide through {@link ClickstreamCommand}, and what to do when
   * the module is not on the classpath.
   */
  private static final Map<String, String> PLUG_INS =
      Map.of(
          "bench",
          "'bench' is in the bench module, whose jar is not on the classpath. ./clickstream builds it and puts"
              + " bench/target/clickstream-bench.jar beside runners/target/clickstream.jar; with plain java, run"
              + " 'mvn -DskipTests package' and add that jar to -cp.");

  /** The help of the commands whose every flag is the launcher's own; run and the others print their own. */
  private static final Map<String, String> COMMAND_HELP =
      Map.of("demo", DemoCommand.HELP, "generate", GenerateCommand.HELP, "replay", ReplayCommand.HELP,
          "kafka", KafkaCommand.HELP, "dimensions", DimensionsCommand.HELP, "serve", ServeCommand.HELP,
          "get", GetCommand.HELP, "training-data", TrainingDataCommand.HELP, "backfill", BackfillCommand.HELP);

  private Clickstream() {}

  public static void main(String[] args) {
    System.exit(run(Arrays.asList(args), System.out, System.err));
  }

  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || List.of("--help", "-h", "help").contains(args.get(0))) {
      out.println(HELP);
      return args.isEmpty() ? 2 : 0;
    }
    List<String> rest = args.subList(1, args.size());
    String help = COMMAND_HELP.get(args.get(0));
    if (help != null && Flags.wantsHelp(rest)) {
      out.println(help);
      return 0;
    }
    try {
      switch (args.get(0)) {
        case "demo":
          return DemoCommand.run(rest, out, err);
        case "generate":
          return GenerateCommand.run(rest, out, err);
        case "replay":
          return ReplayCommand.run(rest, out, err);
        case "kafka":
          return KafkaCommand.run(rest, out);
        case "dimensions":
          return DimensionsCommand.run(rest, out);
        case "run":
          return RunCommand.run(rest, out, err);
        case "cluster":
          return ClusterCommand.run(rest, out);
        case "serve":
          return ServeCommand.run(rest, out);
        case "get":
          return GetCommand.run(rest, out, err);
        case "training-data":
          return TrainingDataCommand.run(rest, out);
        case "backfill":
          return BackfillCommand.run(rest, out);
        default:
          Optional<ClickstreamCommand> plugIn = plugIn(args.get(0));
          if (plugIn.isPresent()) {
            return plugIn.get().run(rest, out, err);
          }
          if (PLUG_INS.containsKey(args.get(0))) {
            err.println("error: " + PLUG_INS.get(args.get(0)));
            return 2;
          }
          err.println("Unknown command '" + args.get(0) + "'.\n");
          err.println(HELP);
          return 2;
      }
    } catch (UsageException e) {
      err.println("error: " + e.getMessage());
      return 2;
    } catch (Exception e) {
      err.println("error: " + describe(e));
      err.println("(set CLICKSTREAM_DEBUG=1 for the stack trace)");
      if (System.getenv("CLICKSTREAM_DEBUG") != null) {
        e.printStackTrace(err);
      }
      return 1;
    }
  }

  /** The command another module provides under {@code name}, if that module is on the classpath. */
  private static Optional<ClickstreamCommand> plugIn(String name) {
    return ServiceLoader.load(ClickstreamCommand.class).stream()
        .map(ServiceLoader.Provider::get)
        .filter(command -> command.name().equals(name))
        .findFirst();
  }

  /** The chain of causes, each once: Beam and Flink wrap the useful message several levels deep. */
  private static String describe(Throwable e) {
    StringBuilder message = new StringBuilder(String.valueOf(e.getMessage()));
    for (Throwable cause = e.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
      if (cause.getMessage() != null && !message.toString().contains(cause.getMessage())) {
        message.append("\n  caused by: ").append(cause.getMessage());
      }
    }
    return message.toString();
  }
}
