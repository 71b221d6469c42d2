package dev.clickstream.store;

import static dev.clickstream.features.WindowedAggregation.EVENT_TIME;
import static dev.clickstream.features.WindowedAggregation.VALUE;

import dev.clickstream.features.Aggregation.Component;
import dev.clickstream.features.Aggregation;
import dev.clickstream.features.FeatureWindow;
import dev.clickstream.features.Partial;
import dev.clickstream.features.WindowedAggregation;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The on-demand pattern: every window of a {@link WindowedAggregation}, computed at request time from its raw
 * events in one SQL statement.
 *
 * <p>The statement reads the entity's events of the longest window through the {@code (entity, event_time)} index
 * and sums each window's share with {@code CASE}, so the windows cost one range scan together. Its text depends only
 * on the definition; the entity and the time are bound parameters. The latest value ({@code last}) is the one
 * component an aggregate cannot give, so a definition with {@code last()} reads it with one more ordered, one-row
 * statement ({@link #lastValueSql()}).
 */
public final class OnDemandQuery {
  private final WindowedAggregation feature;
  private final Set<Component> components;
  private final String sql;
  private final String lastValueSql;

  public OnDemandQuery(WindowedAggregation feature) {
    if (feature.rawEventsTable() == null) {
      throw new IllegalArgumentException("feature " + feature.name() + " keeps no raw events: no on-demand reads");
    }
    this.feature = feature;
    this.components = feature.components();
    this.sql = buildSql();
    this.lastValueSql = components.contains(Component.LAST) ? buildLastValueSql() : null;
  }

  public WindowedAggregation feature() {
    return feature;
  }

  /** The aggregate statement; bind {@link #parameters}. */
  public String sql() {
    return sql;
  }

  /** The parameters of {@link #sql()}, in order. */
  public List<Object> parameters(String entity, long asOf) {
    List<Object> parameters = new ArrayList<>();
    int perWindow = selected().size();
    for (FeatureWindow window : feature.windows()) {
      for (int i = 0; i < perWindow; i++) {
        parameters.add(window.startAsOf(asOf));
      }
    }
    parameters.addAll(lastValueParameters(entity, asOf));
    return parameters;
  }

  /** The parameters of {@link #lastValueSql()}, in order. */
  public List<Object> lastValueParameters(String entity, long asOf) {
    return List.of(entity, feature.longestWindow().startAsOf(asOf), asOf);
  }

  /** The entity's latest matching event at or before {@code asOf} within the longest window, or null. */
  public Long latestEventTime(ResultSet aggregates) throws SQLException {
    long latest = aggregates.getLong(selected().size() * feature.windows().size() + 1);
    return aggregates.wasNull() ? null : latest;
  }

  /**
   * The latest event with a value in the longest window, or null when no aggregation needs it; bind {@link
   * #lastValueParameters}.
   */
  public String lastValueSql() {
    return lastValueSql;
  }

  /**
   * One partial per window from the aggregate statement's single row (positioned), and (when {@link #lastValueSql()} is not
   * null) the one row of the latest-value statement, positioned or empty.
   */
  public Partial[] partials(ResultSet aggregates, ResultSet lastValue, long asOf) throws SQLException {
    List<FeatureWindow> windows = feature.windows();
    Long latest = latestEventTime(aggregates);
    Partial[] partials = new Partial[windows.size()];
    Long lastTime = null;
    double lastValueOfWindow = Double.NaN;
    if (lastValue != null && lastValue.next()) {
      lastTime = lastValue.getLong(1);
      lastValueOfWindow = lastValue.getDouble(2);
    }
    int column = 1;
    for (int w = 0; w < windows.size(); w++) {
      long count = 0;
      long valueCount = 0;
      double sum = 0;
      double min = Double.POSITIVE_INFINITY;
      double max = Double.NEGATIVE_INFINITY;
      for (Component component : selected()) {
        switch (component) {
          case COUNT:
            count = aggregates.getLong(column++);
            break;
          case VALUE_COUNT:
            valueCount = aggregates.getLong(column++);
            break;
          case SUM:
            sum = aggregates.getDouble(column++);
            break;
          case MIN:
            min = orDefault(aggregates, column++, min);
            break;
          case MAX:
            max = orDefault(aggregates, column++, max);
            break;
          default:
            throw new AssertionError(component);
        }
      }
      long start = windows.get(w).startAsOf(asOf);
      boolean lastInWindow = lastTime != null && lastTime >= start;
      // Every window ends at asOf, so the latest event of the longest window is in this one when it starts later.
      boolean latestInWindow = latest != null && latest >= start;
      partials[w] =
          Partial.fromComponents(
              count, latestInWindow ? latest : Long.MIN_VALUE, valueCount, sum, min, max,
              lastInWindow ? lastTime : Long.MIN_VALUE, lastInWindow ? lastValueOfWindow : Double.NaN);
    }
    return partials;
  }

  private static double orDefault(ResultSet resultSet, int column, double otherwise) throws SQLException {
    double value = resultSet.getDouble(column);
    return resultSet.wasNull() ? otherwise : value;
  }

  /** The components read by the aggregate statement, in column order; LAST has a statement of its own. */
  private List<Component> selected() {
    List<Component> selected = new ArrayList<>();
    for (Component component : Component.values()) {
      if (component != Component.LAST && components.contains(component)) {
        selected.add(component);
      }
    }
    return selected;
  }

  private String buildSql() {
    List<String> columns = new ArrayList<>();
    for (FeatureWindow window : feature.windows()) {
      for (Component component : selected()) {
        String inWindow = "CASE WHEN " + EVENT_TIME + " >= ? THEN ";
        switch (component) {
          case COUNT:
            columns.add("COUNT(" + inWindow + "1 END)");
            break;
          case VALUE_COUNT:
            columns.add("COUNT(" + inWindow + VALUE + " END)");
            break;
          case SUM:
            columns.add("COALESCE(SUM(" + inWindow + VALUE + " END), 0)");
            break;
          case MIN:
            columns.add("MIN(" + inWindow + VALUE + " END)");
            break;
          case MAX:
            columns.add("MAX(" + inWindow + VALUE + " END)");
            break;
          default:
            throw new AssertionError(component);
        }
      }
    }
    columns.add("MAX(" + EVENT_TIME + ")");
    return "SELECT " + String.join(", ", columns) + " FROM " + feature.rawEventsTable().name() + " WHERE "
        + feature.entityField() + " = ? AND " + EVENT_TIME + " >= ? AND " + EVENT_TIME + " <= ?";
  }

  private String buildLastValueSql() {
    return "SELECT " + EVENT_TIME + ", " + VALUE + " FROM " + feature.rawEventsTable().name() + " WHERE "
        + feature.entityField() + " = ? AND " + EVENT_TIME + " >= ? AND " + EVENT_TIME + " <= ? AND " + VALUE
        + " IS NOT NULL ORDER BY " + EVENT_TIME + " DESC, " + VALUE + " DESC LIMIT 1";
  }
}
