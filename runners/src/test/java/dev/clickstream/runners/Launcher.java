package dev.clickstream.runners;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The launcher called as a user calls it, in this JVM, keeping what it printed to standard output and error. */
public final class Launcher {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  /** Runs {@code ./clickstream ARGS} and returns its exit code; what it prints adds to what was printed before. */
  public int run(String... args) {
    return Clickstream.run(
        List.of(args),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  public String stdout() {
    return out.toString(StandardCharsets.UTF_8);
  }

  public String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  public void clearStdout() {
    out.reset();
  }

  public void clearStderr() {
    err.reset();
  }
}
