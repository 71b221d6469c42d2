package dev.clickstream.pipelines;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.clickstream.io.DurationOption;
import java.io.Serializable;
import java.util.Locale;
import java.util.Optional;
import org.apache.beam.sdk.options.DefaultValueFactory;
import org.apache.beam.sdk.options.PipelineOptions;
import org.joda.time.Duration;

/**
 * How often an unbounded run reloads the dimension tables ({@code --dimensionRefresh}): a positive duration in any
 * form {@link DurationOption} takes, or {@code once}.
 */
public final class DimensionRefresh implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Load the tables once, at start. */
  public static final DimensionRefresh ONCE = new DimensionRefresh(null);

  private static final String ONCE_NAME = "once";

  /** Null for {@link #ONCE}. */
  private final DurationOption interval;

  private DimensionRefresh(DurationOption interval) {
    this.interval = interval;
  }

  /** Reload every {@code interval}, which must be positive. */
  public static DimensionRefresh every(Duration interval) {
    if (interval == null || !interval.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("--dimensionRefresh must be a positive duration or once, got '"
          + (interval == null ? null : DurationOption.of(interval)) + "'");
    }
    return new DimensionRefresh(DurationOption.of(interval));
  }

  /** once, or a positive duration such as 30s, 5m, 1h or PT5M. */
  @JsonCreator
  public static DimensionRefresh parse(String value) {
    if (value != null && value.trim().toLowerCase(Locale.ROOT).equals(ONCE_NAME)) {
      return ONCE;
    }
    try {
      return every(DurationOption.parse(value).toDuration());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--dimensionRefresh must be a positive duration or once, got '" + value + "'");
    }
  }

  /** A bare number, which a JSON reader sees in {@code --dimensionRefresh=0}: refused as {@link #parse} refuses it. */
  @JsonCreator
  public static DimensionRefresh fromNumber(long number) {
    return parse(Long.toString(number));
  }

  /** The reload interval; empty for {@link #ONCE}. */
  public Optional<Duration> interval() {
    return Optional.ofNullable(interval).map(DurationOption::toDuration);
  }

  /** once, or the interval in {@link DurationOption}'s short form. */
  @JsonValue
  @Override
  public String toString() {
    return interval == null ? ONCE_NAME : interval.toString();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof DimensionRefresh && toString().equals(other.toString());
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  /** --dimensionRefresh's default: every 5 minutes. */
  public static final class EveryFiveMinutes implements DefaultValueFactory<DimensionRefresh> {
    @Override
    public DimensionRefresh create(PipelineOptions options) {
      return every(Duration.standardMinutes(5));
    }
  }
}
