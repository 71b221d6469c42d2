package dev.clickstream.bench;

import dev.clickstream.runners.ClickstreamCommand;
import java.io.PrintStream;
import java.util.List;

/**
 * {@code ./clickstream bench}, plugged into the launcher through {@code
 * META-INF/services/dev.clickstream.runners.ClickstreamCommand}: runners cannot call {@link BenchCommand} itself, as
 * this module depends on runners.
 */
public final class BenchCommandProvider implements ClickstreamCommand {
  @Override
  public String name() {
    return "bench";
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    return BenchCommand.run(args, out, err);
  }
}
