package dev.clickstream.pipelines;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** How click counts are pre-computed ({@code --counter}). */
public enum ClickCounter {
  /** A per-user rolling counter, exact as of each user's latest click: table click_counts. */
  STATEFUL,
  /** Hopping windows every minute: table click_counts_sliding. */
  SLIDING;

  /** stateful or sliding, in any case; anything else is an error that says what to use. */
  @JsonCreator
  public static ClickCounter parse(String value) {
    for (ClickCounter counter : values()) {
      if (counter.name().equalsIgnoreCase(value == null ? "" : value.trim())) {
        return counter;
      }
    }
    throw new IllegalArgumentException("--counter must be stateful or sliding, got '" + value + "'");
  }

  /** stateful or sliding, as {@link #parse} takes it. */
  @JsonValue
  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
