package dev.clickstream.serving;

import io.javalin.http.BadRequestResponse;
import java.util.List;
import java.util.regex.Pattern;

/** Checks the {@code as_of} query parameter of an on-demand or tiled view: epoch milliseconds, year 0 to 9999. */
final class AsOf {
  static final String PARAM = "as_of";
  /** 9999-12-31T23:59:59.999Z. */
  static final long MAX = 253_402_300_799_999L;
  /** What to send, for messages and the index. */
  static final String EXPECTED =
      "send epoch milliseconds from 0 to " + MAX + " (9999-12-31T23:59:59.999Z), like ?" + PARAM + "=1704067200000";

  /** How much of a bad value a message repeats. */
  private static final int MAX_ECHOED = 40;
  private static final Pattern DIGITS = Pattern.compile("[0-9]+");
  private static final Pattern NEGATIVE = Pattern.compile("-[0-9]+");

  private AsOf() {}

  /**
   * The time {@code values} (every {@code as_of} of the request) name, or {@code now} when there is none; a 400 that
   * says what was wrong and what to send otherwise.
   */
  static long parse(List<String> values, long now) {
    if (values.isEmpty()) {
      return now;
    }
    if (values.size() > 1) {
      throw new BadRequestResponse(PARAM + " is given " + values.size() + " times: give it once; " + EXPECTED);
    }
    String value = values.get(0);
    if (NEGATIVE.matcher(value).matches()) {
      throw new BadRequestResponse(PARAM + " is negative, got " + echo(value) + ": " + EXPECTED);
    }
    if (!DIGITS.matcher(value).matches()) {
      throw new BadRequestResponse(PARAM + " must be epoch milliseconds, got " + echo(value) + ": " + EXPECTED);
    }
    // Up to 18 digits fit a long; more, once leading zeros are gone, are past the year 9999 anyway.
    String significant = value.replaceFirst("^0+(?=.)", "");
    if (significant.length() > 18 || Long.parseLong(significant) > MAX) {
      throw new BadRequestResponse(PARAM + " is after the year 9999, got " + echo(value) + ": " + EXPECTED);
    }
    return Long.parseLong(significant);
  }

  /** A pre-computed view is as of its latest event: a 400 when the request gives {@code as_of} anyway. */
  static void reject(List<String> values, FeatureView view) {
    if (!values.isEmpty()) {
      throw new BadRequestResponse(
          PARAM + " applies only to on-demand and tiled views, and " + view.name() + " is " + view.pattern().label()
              + ": drop " + PARAM + ", or name an on-demand or tiled view (GET / lists them)");
    }
  }

  private static String echo(String value) {
    return "'" + (value.length() > MAX_ECHOED ? value.substring(0, MAX_ECHOED) + "..." : value) + "'";
  }
}
