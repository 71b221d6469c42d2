package dev.clickstream.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The same lookups through {@code wrk}, the load generator the figures came from: closed loop ({@code -t1
 * -cN}), each connection sending its next request when the last one answered, so its percentiles are service times
 * without the queueing an open loop sees. A Lua script walks the same paths as the open-loop load.
 */
final class WrkRun {
  /** What wrk printed: requests per second, p50, p99 (ms), and the non-2xx and socket errors. */
  record Result(double requestsPerSecond, double p50Millis, double p99Millis, String errors) {}

  private static final Pattern RATE = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
  private static final Pattern SOCKET_ERRORS = Pattern.compile("Socket errors: ([^\\n]+)");

  private WrkRun() {}

  /** The wrk on the PATH, if any. */
  static Optional<Path> find() {
    for (String directory : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path wrk = Path.of(directory, "wrk");
      if (Files.isExecutable(wrk)) {
        return Optional.of(wrk);
      }
    }
    return Optional.empty();
  }

  /** {@code wrk -t1 -c{connections} -d{seconds}s --latency} over {@code paths} against 127.0.0.1:{@code port}. */
  static Result run(Path wrk, Path workDir, int port, List<String> paths, int connections, int seconds)
      throws IOException, InterruptedException {
    Path script = workDir.resolve("wrk-paths.lua");
    StringBuilder lua = new StringBuilder("paths = {\n");
    for (String path : paths) {
      lua.append("  \"").append(path.replace("\\", "\\\\").replace("\"", "\\\"")).append("\",\n");
    }
    lua.append("}\ncounter = 0\nrequest = function()\n  counter = counter + 1\n"
        + "  return wrk.format(\"GET\", paths[counter % #paths + 1])\nend\n");
    Files.writeString(script, lua.toString(), StandardCharsets.UTF_8);
    Process process = new ProcessBuilder(wrk.toString(), "-t1", "-c" + connections, "-d" + seconds + "s",
        "--timeout", "10s", "--latency", "-s", script.toString(), "http://127.0.0.1:" + port)
        .redirectErrorStream(true)
        .start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(seconds + 30L, TimeUnit.SECONDS) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IOException("wrk failed: " + output);
    }
    String errors = "";
    Matcher non2xx = NON_2XX.matcher(output);
    if (non2xx.find()) {
      errors += non2xx.group(1) + " non-2xx";
    }
    Matcher socket = SOCKET_ERRORS.matcher(output);
    if (socket.find()) {
      errors += (errors.isEmpty() ? "" : "; ") + "socket errors: " + socket.group(1).trim();
    }
    return new Result(number(RATE, output), percentile(output, "50%"), percentile(output, "99%"), errors);
  }

  private static double number(Pattern pattern, String output) throws IOException {
    Matcher matcher = pattern.matcher(output);
    if (!matcher.find()) {
      throw new IOException("cannot read wrk's output (" + pattern + "): " + output);
    }
    return Double.parseDouble(matcher.group(1));
  }

  /** A line of wrk's latency distribution, such as {@code 99%    1.21ms}, in milliseconds. */
  private static double percentile(String output, String label) throws IOException {
    Matcher matcher = Pattern.compile("^\\s*" + Pattern.quote(label) + "\\s+([0-9.]+)(us|ms|s)\\s*$",
        Pattern.MULTILINE).matcher(output);
    if (!matcher.find()) {
      throw new IOException("cannot read wrk's " + label + " latency: " + output);
    }
    double value = Double.parseDouble(matcher.group(1));
    switch (matcher.group(2)) {
      case "us":
        return value / 1e3;
      case "s":
        return value * 1e3;
      default:
        return value;
    }
  }
}
