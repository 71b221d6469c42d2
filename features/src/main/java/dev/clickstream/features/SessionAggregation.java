package dev.clickstream.features;

import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * One declarative definition of a session feature: per entity, sessions of events less than a gap apart (Beam's
 * session windows), each with its start, end, length, number of events and number of events matching a condition.
 *
 * <pre>{@code
 * SessionAggregation.named("user_sessions")
 *     .groupBy("user_id")
 *     .gap(Duration.ofMinutes(30))
 *     .countWhere("event_type", "click")
 *     .build();
 * }</pre>
 *
 * <p>{@link #table()}, named after the feature, holds one row per entity: its latest session, the one that ends last.
 */
public final class SessionAggregation extends DeclaredFeature {
  private static final long serialVersionUID = 1L;

  /** The session's first event time. */
  public static final String SESSION_START = "session_start";
  /** The session's last event time (its window ends a gap later). */
  public static final String SESSION_END = "session_end";
  public static final String SESSION_LENGTH = "session_length_ms";
  public static final String EVENTS = "events";

  private final long gapMillis;
  private final EventFilter counted;
  private final String countedColumn;
  private final FeatureTable table;

  private SessionAggregation(Builder builder) {
    // A row is written when its session closes, a gap after its last event: current for two gaps.
    super(builder.name, Kind.SESSION, builder.entityField, builder, Duration.ofMillis(builder.gapMillis * 2));
    this.gapMillis = builder.gapMillis;
    this.counted = builder.counted;
    this.countedColumn = builder.countedColumn;
    this.table = declareTable();
  }

  public static Builder named(String name) {
    return new Builder(name);
  }




  public long gapMillis() {
    return gapMillis;
  }

  /** The entity, then the counted events' condition. */
  @Override
  public List<String> eventFields() {
    return List.copyOf(new java.util.LinkedHashSet<>(List.of(entityField, counted.field())));
  }

  /** The events counted in the second count, such as {@code event_type = click}. */
  public EventFilter counted() {
    return counted;
  }

  /** The second count's column, such as {@code clicks}. */
  public String countedColumn() {
    return countedColumn;
  }

  /**
   * One row per entity: its latest session. A row replaces the stored one when its session ends later, or ends at
   * the same time with more events (a late event merged into it, possibly moving its start earlier), so panes of an
   * older session, replays and reordered writes never move an entity back.
   */
  @Override
  public FeatureTable table() {
    return table;
  }

  /** A {@link #table()} row. */
  public Object[] row(String entity, long start, long end, long events, long counted, long updatedAt) {
    return new Object[] {entity, start, end, end - start, events, counted, updatedAt};
  }


  @Override
  void describeShape(Map<String, Object> described) {
    described.put("gap_ms", gapMillis);
    described.put("aggregations", List.of("count() as " + EVENTS, "count().where(" + counted + ") as " + countedColumn));
  }

  @Override
  String timeSemantics() {
    return "event-time sessions of events less than " + Duration.ofMillis(gapMillis) + " apart; one row per entity:"
        + " its latest session, [" + SESSION_START + ", " + SESSION_END + "] its first and last event, written when"
        + " the session closes a gap after its last event; stale " + maxAge() + " after " + SESSION_END;
  }

  private FeatureTable declareTable() {
    return FeatureTable.builder(name, entityField)
        .time(SESSION_START)
        .time(SESSION_END)
        .longFeature(SESSION_LENGTH)
        .longFeature(EVENTS)
        .longFeature(countedColumn)
        .time(WindowedAggregation.UPDATED_AT)
        .replaceWhen(ReplaceRule.newerBy(SESSION_END).thenMoreOf(EVENTS))
        .build();
  }

  @Override
  public String toString() {
    return name + ": events.groupBy(" + entityField + ").sessions(gap " + Duration.ofMillis(gapMillis) + ").agg[count"
        + " as " + EVENTS + ", count().where(" + counted + ") as " + countedColumn + "]";
  }

  /** Builds a {@link SessionAggregation}; see the class documentation for the shape. */
  public static final class Builder extends DeclarationBuilder<Builder> {
    private String entityField;
    private long gapMillis;
    private EventFilter counted;
    private String countedColumn;

    private Builder(String name) {
      super(name);
    }

    public Builder groupBy(String entityField) {
      this.entityField = requireNonNull(entityField, "entityField");
      return this;
    }

    /** Events less than {@code gap} apart share a session. */
    public Builder gap(Duration gap) {
      if (gap == null || gap.isNegative() || gap.isZero()) {
        throw new IllegalArgumentException("feature " + name + ": the session gap must be positive, got " + gap);
      }
      this.gapMillis = gap.toMillis();
      return this;
    }

    /** Also counts the events whose {@code field} equals {@code value}, in a column named {@code value + "s"}. */
    public Builder countWhere(String field, String value) {
      this.counted = EventFilter.fieldEquals(field, value);
      this.countedColumn = value + "s";
      return this;
    }

    public SessionAggregation build() {
      if (entityField == null) {
        throw new IllegalStateException("feature " + name + " needs groupBy(entityField)");
      }
      if (gapMillis == 0) {
        throw new IllegalStateException("feature " + name + " needs a gap(duration)");
      }
      if (counted == null) {
        throw new IllegalStateException("feature " + name + " needs countWhere(field, value)");
      }
      return new SessionAggregation(this);
    }
  }
}
