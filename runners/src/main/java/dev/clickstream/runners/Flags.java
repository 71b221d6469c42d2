package dev.clickstream.runners;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code --name=value} flags of the launcher's own commands (Beam's convention), checked against the names a
 * command accepts so a typo is an error that names the allowed flags, not a silently ignored option.
 */
public final class Flags {
  private final String command;
  private final Map<String, String> values;

  private Flags(String command, Map<String, String> values) {
    this.command = command;
    this.values = values;
  }

  public static Flags parse(String command, List<String> args, Set<String> allowed) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String arg : args) {
      if (!arg.startsWith("--")) {
        throw new UsageException(command + ": unexpected argument '" + arg + "'; flags look like --name=value");
      }
      int equals = arg.indexOf('=');
      String name = equals < 0 ? arg.substring(2) : arg.substring(2, equals);
      String value = equals < 0 ? "true" : arg.substring(equals + 1);
      if (!allowed.contains(name)) {
        throw new UsageException(
            command + ": unknown flag --" + name + "; allowed: --" + String.join(", --", allowed)
                + " (see ./clickstream " + command + " --help)");
      }
      values.put(name, value);
    }
    return new Flags(command, values);
  }

  public static boolean wantsHelp(List<String> args) {
    return args.contains("--help") || args.contains("-h") || args.contains("help");
  }

  /** The args without the launcher-only flags in {@code names}. */
  static List<String> without(List<String> args, Set<String> names) {
    List<String> rest = new ArrayList<>();
    for (String arg : args) {
      String name = arg.startsWith("--") ? arg.substring(2).split("=", 2)[0] : "";
      if (!names.contains(name)) {
        rest.add(arg);
      }
    }
    return rest;
  }

  public String string(String name, String defaultValue) {
    return values.getOrDefault(name, defaultValue);
  }

  public boolean has(String name) {
    return values.containsKey(name);
  }

  public long longValue(String name, long defaultValue, long min, long max) {
    return number(name, defaultValue, text -> Long.parseLong(text.replace("_", "")), "a whole number", min, max);
  }

  public double doubleValue(String name, double defaultValue, double min, double max) {
    return number(name, defaultValue, Double::parseDouble, "a number", min, max);
  }

  /** The flag's value, parsed and checked to lie in {@code [min, max]} (NaN does not); {@code defaultValue} if unset. */
  private <T extends Comparable<T>> T number(
      String name, T defaultValue, Function<String, T> parse, String kind, T min, T max) {
    String text = values.get(name);
    if (text == null) {
      return defaultValue;
    }
    T value;
    try {
      value = parse.apply(text);
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": --" + name + "=" + text + " is not " + kind);
    }
    if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw new UsageException(command + ": --" + name + "=" + text + " must be between " + min + " and " + max);
    }
    return value;
  }

  public boolean booleanValue(String name, boolean defaultValue) {
    String text = values.get(name);
    if (text == null) {
      return defaultValue;
    }
    if (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false")) {
      return Boolean.parseBoolean(text);
    }
    throw new UsageException(command + ": --" + name + "=" + text + " must be true or false");
  }
}
