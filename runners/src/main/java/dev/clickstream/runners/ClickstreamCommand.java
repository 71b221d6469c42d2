package dev.clickstream.runners;

import java.io.PrintStream;
import java.util.List;

/**
 * A {@code ./clickstream} command that lives in another module, found through {@link java.util.ServiceLoader}: the
 * module lists its implementation in {@code META-INF/services/dev.clickstream.runners.ClickstreamCommand}, and the
 * launcher runs it when the first argument is its {@link #name()} and no built-in command has that name. This is how
 * {@code ./clickstream bench} reaches the bench module, which depends on this one.
 *
 * <p>A {@link UsageException} from {@link #run} is reported as a mistake in the call (exit code 2); any other
 * exception as a failure (exit code 1).
 */
public interface ClickstreamCommand {
  /** The first argument that selects this command, e.g. {@code bench}. */
  String name();

  /**
   * Runs the command with the arguments after its name.
   *
   * @return the process's exit code: 0 on success, 2 for a wrong call, 1 for a failure
   */
  int run(List<String> args, PrintStream out, PrintStream err) throws Exception;
}
