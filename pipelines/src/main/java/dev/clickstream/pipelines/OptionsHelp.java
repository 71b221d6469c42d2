package dev.clickstream.pipelines;

import dev.clickstream.io.DurationOption;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * Help and errors for options, from the options interfaces themselves: each {@code @Description} and default is
 * written once, on its getter, and printed from there.
 */
public final class OptionsHelp {
  /** The widest a help line gets. */
  public static final int WIDTH = 120;

  /** Where descriptions start: after {@code "  --name=VALUE"} and at least two blanks. */
  public static final int DESCRIPTION_COLUMN = 38;

  private OptionsHelp() {}

  /**
   * One entry per option that {@code type} and the interfaces it extends declare with a {@code @Description}, Beam's
   * own (runner, job name, ...) left out, sorted by name: {@code "  --name=VALUE"}, then the description and {@code
   * (default X)} when the option has a non-empty default, wrapped to {@link #WIDTH} columns with continuation lines
   * indented to {@link #DESCRIPTION_COLUMN}. VALUE is {@code a|b} for an enum, {@code DURATION} for a {@link
   * DurationOption}, {@code N} for a number, {@code true|false} for a flag and the option's name in capitals for text.
   */
  public static List<String> lines(Class<? extends PipelineOptions> type) {
    PipelineOptions defaults = PipelineOptionsFactory.as(type);
    List<Method> getters =
        Arrays.stream(type.getMethods())
            .filter(method -> method.getParameterCount() == 0 && method.isAnnotationPresent(Description.class))
            .filter(method -> !method.getDeclaringClass().getName().startsWith("org.apache.beam."))
            .sorted(Comparator.comparing(OptionsHelp::optionName))
            .collect(Collectors.toList());
    List<String> lines = new ArrayList<>();
    for (Method getter : getters) {
      String name = "  --" + optionName(getter) + "=" + placeholder(getter);
      String text = getter.getAnnotation(Description.class).value();
      String value = defaultOf(getter, defaults);
      if (!value.isEmpty()) {
        text += " (default " + value + ")";
      }
      if (name.length() > DESCRIPTION_COLUMN - 2) {
        lines.add(name);
        name = "";
      }
      wrap(name, text, lines);
    }
    return lines;
  }

  /**
   * What {@code e}, thrown by {@link PipelineOptionsFactory} for an option it could not read, says in our own words:
   * the innermost {@link IllegalArgumentException} of its causes (the message of the option type's parser, such as
   * {@code --source=pulsar is not supported: use file or kafka}), which Beam and Jackson wrap in their own; else
   * {@code e}'s message.
   */
  public static String problem(IllegalArgumentException e) {
    String message = e.getMessage();
    for (Throwable cause = e.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
      if (cause instanceof IllegalArgumentException && cause.getMessage() != null) {
        message = cause.getMessage();
      }
    }
    return message;
  }

  /** {@code getInputFormat} as {@code inputFormat}. */
  private static String optionName(Method getter) {
    String name = getter.getName().replaceFirst("^(get|is)", "");
    return Character.toLowerCase(name.charAt(0)) + name.substring(1);
  }

  private static String placeholder(Method getter) {
    Class<?> type = getter.getReturnType();
    if (type.isEnum()) {
      return Arrays.stream(type.getEnumConstants()).map(String::valueOf).collect(Collectors.joining("|"));
    }
    if (type == DurationOption.class) {
      return "DURATION";
    }
    if (type == DimensionRefresh.class) {
      return "DURATION|once";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true|false";
    }
    if (Number.class.isAssignableFrom(type) || type == long.class || type == int.class) {
      return "N";
    }
    return optionName(getter).replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
  }

  /** The default as the command line writes it; empty for none. */
  private static String defaultOf(Method getter, PipelineOptions defaults) {
    try {
      Object value = getter.invoke(defaults);
      return value == null ? "" : String.valueOf(value);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("cannot read the default of --" + optionName(getter), e);
    }
  }

  /** {@code text} in words after {@code first}, padded to the description column, no line wider than WIDTH. */
  private static void wrap(String first, String text, List<String> lines) {
    StringBuilder line = new StringBuilder(pad(first));
    boolean empty = true;
    for (String word : text.split(" ")) {
      if (!empty && line.length() + 1 + word.length() > WIDTH) {
        lines.add(line.toString());
        line = new StringBuilder(pad(""));
        empty = true;
      }
      line.append(empty ? "" : " ").append(word);
      empty = false;
    }
    lines.add(line.toString());
  }

  private static String pad(String text) {
    return text + " ".repeat(DESCRIPTION_COLUMN - text.length());
  }
}
