package dev.clickstream.pipelines;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;

/** Where events come from: {@code --source=file} (with {@code --input}) or {@code --source=kafka}. */
public enum EventSource {
  FILE,
  KAFKA;

  /** file or kafka, in lower case (as {@code run}'s own checks of the arguments read it); else an error. */
  @JsonCreator
  public static EventSource parse(String value) {
    return Arrays.stream(values())
        .filter(source -> source.toString().equals(value))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("--source=" + value + " is not supported: use file or kafka"));
  }

  /** file or kafka, as {@link #parse} takes it. */
  @JsonValue
  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
