package dev.clickstream.io;

import org.joda.time.Duration;

/** The checks the transforms here make of their settings: each message names the parameter, the value and what fits. */
final class Arguments {
  private Arguments() {}

  /** {@code value}, which must be a non-blank name of {@code what}. */
  static String named(String parameter, String value, String what) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(parameter + " must name " + what + ", got '" + value + "'");
    }
    return value;
  }

  /** {@code value}, which must not be null; {@code allowed} says what may be given. */
  static <T> T present(String parameter, T value, String allowed) {
    if (value == null) {
      throw new IllegalArgumentException(parameter + " must be " + allowed + ", got null");
    }
    return value;
  }

  /** {@code value}, which must be zero or more. */
  static Duration notNegative(String parameter, Duration value) {
    if (value == null || value.isShorterThan(Duration.ZERO)) {
      throw new IllegalArgumentException(parameter + " must be zero or more, got " + value);
    }
    return value;
  }
}
