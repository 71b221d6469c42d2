package dev.clickstream.io;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.io.Serializable;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.joda.time.Duration;

/**
 * A duration as a command line gives it: {@code 0}, {@code 500ms}, {@code 30s}, {@code 10m}, {@code 1h}, {@code 2d}
 * or ISO-8601 such as {@code PT10M}; never negative. A getter of this type in a Beam {@code PipelineOptions}
 * interface takes {@code --name=30s} (its default comes from a factory named by {@code @Default.InstanceFactory}). It
 * prints in the short form, in the largest unit that divides it: {@code PT10M} prints as {@code 10m}.
 */
public final class DurationOption implements Serializable {
  private static final long serialVersionUID = 1L;

  private static final Pattern SHORT_FORM = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  /** What a duration may look like, for messages. */
  static final String ACCEPTED = "use 0, 500ms, 30s, 10m, 1h, 2d or ISO-8601 like PT10M";

  private final long millis;

  private DurationOption(long millis) {
    this.millis = millis;
  }

  /** {@code duration}, which must be zero or more. */
  public static DurationOption of(Duration duration) {
    return new DurationOption(Arguments.notNegative("duration", duration).getMillis());
  }

  /** {@code text} in one of the accepted forms; the message of a bad one says what to use instead. */
  @JsonCreator
  public static DurationOption parse(String text) {
    Duration duration = parseOrNull(text);
    if (duration == null) {
      throw new IllegalArgumentException("'" + text + "' is not a duration: " + ACCEPTED);
    }
    return of(duration);
  }

  /** A bare number, which a JSON reader sees in {@code --name=0}: only 0 is a duration without a unit. */
  @JsonCreator
  public static DurationOption fromNumber(long number) {
    return parse(Long.toString(number));
  }

  /** {@code value} of the flag {@code --option}, for flags read without Beam; a bad one is named in the message. */
  public static Duration parseFlag(String option, String value) {
    Duration duration = parseOrNull(value);
    if (duration == null) {
      throw new IllegalArgumentException("--" + option + "=" + value + " is not a duration: " + ACCEPTED);
    }
    return duration;
  }

  private static Duration parseOrNull(String value) {
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
      return duration.isNegative() ? null : Duration.millis(duration.toMillis());
    } catch (DateTimeParseException | ArithmeticException e) {
      return null;
    }
  }

  public Duration toDuration() {
    return Duration.millis(millis);
  }

  /** The short form in the largest unit that divides the duration: {@code 0}, {@code 500ms}, {@code 90s}, {@code 1h}. */
  @JsonValue
  @Override
  public String toString() {
    if (millis == 0) {
      return "0";
    }
    long[] sizes = {86_400_000L, 3_600_000L, 60_000L, 1_000L};
    String[] units = {"d", "h", "m", "s"};
    for (int i = 0; i < sizes.length; i++) {
      if (millis % sizes[i] == 0) {
        return millis / sizes[i] + units[i];
      }
    }
    return millis + "ms";
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof DurationOption && ((DurationOption) other).millis == millis;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(millis);
  }
}
