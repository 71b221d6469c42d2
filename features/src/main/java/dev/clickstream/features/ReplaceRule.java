package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * When an incoming row may replace the stored row of the same key, declared without SQL: the store renders it for
 * its dialect. Rows of a feature only move forward, so writes are idempotent: a retried, replayed or out-of-order row
 * never replaces a newer one.
 *
 * <ul>
 *   <li>{@link #always()}: the latest write wins (dimension attributes).
 *   <li>{@link #never()}: the first write wins (raw events, which never change).
 *   <li>{@link #newerBy(String)}: a later value of a time column wins; {@link #thenMoreOf} breaks a tie by the sum of
 *       columns that only grow from one pane of a window to the next, such as counts.
 *   <li>{@link #moreOf}: no time column, only growth (a tile's event count).
 * </ul>
 */
public final class ReplaceRule implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How the rule compares. */
  public enum Kind {
    ALWAYS,
    NEVER,
    ORDERED
  }

  private static final ReplaceRule ALWAYS = new ReplaceRule(Kind.ALWAYS, null, List.of(), false);
  private static final ReplaceRule NEVER = new ReplaceRule(Kind.NEVER, null, List.of(), false);

  private final Kind kind;
  private final String timeColumn;
  private final List<String> progressColumns;
  private final boolean replaceOnEqualProgress;

  private ReplaceRule(Kind kind, String timeColumn, List<String> progressColumns, boolean replaceOnEqualProgress) {
    this.kind = kind;
    this.timeColumn = timeColumn;
    this.progressColumns = List.copyOf(progressColumns);
    this.replaceOnEqualProgress = replaceOnEqualProgress;
  }

  public static ReplaceRule always() {
    return ALWAYS;
  }

  public static ReplaceRule never() {
    return NEVER;
  }

  /** A row with a greater {@code timeColumn} replaces the stored one; an equal one never does, unless {@link #thenMoreOf}. */
  public static ReplaceRule newerBy(String timeColumn) {
    return new ReplaceRule(Kind.ORDERED, requireNonNull(timeColumn, "timeColumn"), List.of(), false);
  }

  /** A row replaces the stored one when the sum of {@code columns} is greater. */
  public static ReplaceRule moreOf(String... columns) {
    return new ReplaceRule(Kind.ORDERED, null, checkColumns(columns), false);
  }

  /** At an equal time, a row replaces the stored one when the sum of {@code columns} is greater. */
  public ReplaceRule thenMoreOf(String... columns) {
    checkOrdered();
    return new ReplaceRule(kind, timeColumn, checkColumns(columns), false);
  }

  /** At an equal time, a row replaces the stored one when the sum of {@code columns} is at least as great. */
  public ReplaceRule thenAtLeastAsMuchOf(String... columns) {
    checkOrdered();
    return new ReplaceRule(kind, timeColumn, checkColumns(columns), true);
  }

  public Kind kind() {
    return kind;
  }

  /** The column whose greater value wins; null for {@link #moreOf} and the unordered kinds. */
  public String timeColumn() {
    return timeColumn;
  }

  /** The columns whose sum breaks a tie of {@link #timeColumn()}, or orders the rows on its own. */
  public List<String> progressColumns() {
    return progressColumns;
  }

  /** Whether an equal sum of {@link #progressColumns()} replaces the stored row. */
  public boolean replaceOnEqualProgress() {
    return replaceOnEqualProgress;
  }

  /** Every column the rule reads, for checking them against a table. */
  List<String> columns() {
    List<String> columns = new java.util.ArrayList<>();
    if (timeColumn != null) {
      columns.add(timeColumn);
    }
    columns.addAll(progressColumns);
    return columns;
  }

  private void checkOrdered() {
    if (kind != Kind.ORDERED || timeColumn == null) {
      throw new IllegalStateException("thenMoreOf follows newerBy(timeColumn)");
    }
  }

  private static List<String> checkColumns(String... columns) {
    if (columns.length == 0) {
      throw new IllegalArgumentException("name at least one column whose growth orders the rows");
    }
    return List.of(columns);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ReplaceRule)) {
      return false;
    }
    ReplaceRule other = (ReplaceRule) o;
    return kind == other.kind
        && Objects.equals(timeColumn, other.timeColumn)
        && progressColumns.equals(other.progressColumns)
        && replaceOnEqualProgress == other.replaceOnEqualProgress;
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, timeColumn, progressColumns, replaceOnEqualProgress);
  }

  @Override
  public String toString() {
    switch (kind) {
      case ALWAYS:
        return "always";
      case NEVER:
        return "never";
      default:
        String progress = progressColumns.isEmpty() ? "" : String.join(" + ", progressColumns);
        String tie = replaceOnEqualProgress ? ">=" : ">";
        return timeColumn == null
            ? progress + " " + tie
            : timeColumn + " >" + (progress.isEmpty() ? "" : ", then " + progress + " " + tie);
    }
  }
}
