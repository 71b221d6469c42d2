package dev.clickstream.pipelines;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.beam.runners.flink.FlinkPipelineOptions;

/**
 * Embedded Flink (the Flink runner's cluster inside this JVM) listening on one address only.
 *
 * <p>Flink's defaults bind the embedded cluster's REST API and BLOB server to every interface, without
 * authentication: anyone who can reach the machine could read the job's options and cancel it. The Flink runner
 * reads the embedded cluster's configuration from {@code --flinkConfDir}; this class writes one that binds the
 * REST API, the BLOB server, the JobManager and the TaskManager to the given address, and points the options at it.
 */
public final class EmbeddedFlink {
  /** The address embedded Flink binds by default. */
  public static final String LOOPBACK = "127.0.0.1";

  /** One configuration directory per address, per JVM. */
  private static final Map<String, Path> DIRECTORIES = new ConcurrentHashMap<>();

  private EmbeddedFlink() {}

  /**
   * Makes an embedded run of {@code options} bind {@code address}. Changes nothing when the options name a
   * cluster ({@code --flinkMaster=HOST:PORT}, whose own configuration decides) or a configuration directory of
   * their own ({@code --flinkConfDir}, which then decides).
   */
  public static void bindTo(FlinkPipelineOptions options, String address) {
    String master = options.getFlinkMaster();
    boolean embedded = master == null || master.isBlank() || master.startsWith("[");
    if (embedded && options.getFlinkConfDir() == null) {
      options.setFlinkConfDir(configurationDirectory(address).toString());
    }
  }

  /** A Flink configuration directory that binds every server of an embedded cluster to {@code address}. */
  static Path configurationDirectory(String address) {
    if (address == null || address.isBlank() || address.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException(
          "--flinkBindAddress must be an address such as 127.0.0.1 (the default) or 0.0.0.0, got '" + address + "'");
    }
    return DIRECTORIES.computeIfAbsent(address, EmbeddedFlink::write);
  }

  /**
   * The settings that bind every server of an embedded cluster to {@code address}, for a Flink environment made
   * by hand (such as native Flink in the benchmarks).
   */
  public static Map<String, String> settings(String address) {
    // Servers bind the address; clients in this JVM reach them on it, or on the loopback when it is a wildcard.
    String reachedAt = address.equals("0.0.0.0") || address.equals("::") ? LOOPBACK : address;
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("rest.bind-address", address);
    settings.put("jobmanager.bind-host", address);
    settings.put("taskmanager.bind-host", address);
    settings.put("rest.address", reachedAt);
    settings.put("jobmanager.rpc.address", reachedAt);
    settings.put("taskmanager.host", reachedAt);
    // Beam's metrics as the job runs, for the run's own /metrics page (FlinkMetricsReporter); binds nothing.
    settings.put("metrics.reporter.clickstream.factory.class", FlinkMetricsReporter.Factory.class.getName());
    return settings;
  }

  private static Path write(String address) {
    try {
      Path directory = Files.createTempDirectory("clickstream-flink-conf");
      // Flat keys are valid in Flink 1.19's config.yaml.
      List<String> lines = new ArrayList<>();
      settings(address).forEach((key, value) -> lines.add(key + ": " + value));
      Path file = directory.resolve("config.yaml");
      Files.write(file, lines, StandardCharsets.UTF_8);
      file.toFile().deleteOnExit();
      directory.toFile().deleteOnExit();
      return directory;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write embedded Flink's configuration directory", e);
    }
  }
}
