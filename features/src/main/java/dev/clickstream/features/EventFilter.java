package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.function.Function;

/**
 * Which events a feature counts: those whose field {@link #field()} equals {@link #value()}, such as {@code
 * event_type = click}. Declarative, so the streaming pipelines and the docs read the same condition.
 */
public final class EventFilter implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String field;
  private final String value;

  private EventFilter(String field, String value) {
    this.field = requireNonNull(field, "field");
    this.value = requireNonNull(value, "value");
  }

  public static EventFilter fieldEquals(String field, String value) {
    return new EventFilter(field, value);
  }

  public String field() {
    return field;
  }

  public String value() {
    return value;
  }

  /** Whether the event whose fields {@code fieldValue} looks up matches; a missing field does not. */
  public boolean matches(Function<String, Object> fieldValue) {
    Object actual = fieldValue.apply(field);
    return actual != null && value.equals(actual.toString());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EventFilter && ((EventFilter) o).field.equals(field) && ((EventFilter) o).value.equals(value);
  }

  @Override
  public int hashCode() {
    return 31 * field.hashCode() + value.hashCode();
  }

  @Override
  public String toString() {
    return field + " = " + value;
  }
}
