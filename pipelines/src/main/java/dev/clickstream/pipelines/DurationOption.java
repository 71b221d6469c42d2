package dev.clickstream.pipelines;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.joda.time.Duration;

/** Parses duration options such as {@code 0}, {@code 500ms}, {@code 30s}, {@code 10m}, {@code 1h} or {@code PT10M}. */
public final class DurationOption {
  private static final Pattern SHORT_FORM = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private DurationOption() {}

  public static Duration parse(String option, String value) {
    String text = value == null ? "" : value.trim();
    if (text.equals("0")) {
      return Duration.ZERO;
    }
    Matcher matcher = SHORT_FORM.matcher(text);
    if (matcher.matches()) {
      long amount = Long.parseLong(matcher.group(1));
      switch (matcher.group(2)) {
        case "ms":
          return Duration.millis(amount);
        case "s":
          return Duration.standardSeconds(amount);
        case "m":
          return Duration.standardMinutes(amount);
        case "h":
          return Duration.standardHours(amount);
        default:
          return Duration.standardDays(amount);
      }
    }
    try {
      java.time.Duration duration = java.time.Duration.parse(text);
      if (duration.isNegative()) {
        throw new IllegalArgumentException("negative");
      }
      return Duration.millis(duration.toMillis());
    } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException(
          "--" + option + "=" + value + " is not a duration: use 0, 500ms, 30s, 10m, 1h, 2d or ISO-8601 like PT10M");
    }
  }
}
