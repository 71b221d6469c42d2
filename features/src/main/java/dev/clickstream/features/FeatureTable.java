package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The shape of one online-store table: an entity key and its feature columns, plus the rule that decides whether
 * an incoming row may replace the stored one.
 *
 * <p>Table and column names only ever come from declarations through this class, and they are checked against
 * {@link #IDENTIFIER} here, so the SQL the store builds from them never holds request text.
 */
public final class FeatureTable implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Lower-case SQL identifiers only: portable across H2, PostgreSQL and MariaDB without quoting. */
  static final Pattern IDENTIFIER = Pattern.compile("[a-z][a-z0-9_]{0,62}");

  /** Column types, mapped to SQL by the store's dialects. */
  public enum ColumnType {
    /** The entity key: a string of up to 256 characters, compared byte for byte. */
    KEY,
    /** A string that is not the entity key, compared byte for byte like it. */
    STRING,
    BIGINT,
    DOUBLE
  }

  /**
   * What a column means to a reader: part of the primary key, a feature value, a time describing the values, or an
   * attribute of the row (such as the user of a raw event).
   */
  public enum Role {
    KEY,
    FEATURE,
    TIME,
    ATTRIBUTE
  }

  /** One column: a name, a type, its role and whether it may hold NULL. */
  public static final class Column implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String name;
    private final ColumnType type;
    private final Role role;
    private final boolean nullable;

    Column(String name, ColumnType type, Role role, boolean nullable) {
      this.name = checkIdentifier(name, "column name");
      this.type = requireNonNull(type, "type");
      this.role = requireNonNull(role, "role");
      this.nullable = nullable;
    }

    public Role role() {
      return role;
    }

    public String name() {
      return name;
    }

    public ColumnType type() {
      return type;
    }

    public boolean nullable() {
      return nullable;
    }
  }

  private final String name;
  private final List<Column> columns;
  private final ReplaceRule replaceRule;
  private final List<List<String>> indexes;

  private FeatureTable(String name, List<Column> columns, ReplaceRule replaceRule, List<List<String>> indexes) {
    this.name = name;
    this.columns = List.copyOf(columns);
    this.replaceRule = replaceRule;
    this.indexes = List.copyOf(indexes);
  }

  /** Starts a table whose entity key is the string column {@code keyColumn}. */
  public static Builder builder(String name, String keyColumn) {
    return new Builder(name, keyColumn);
  }

  public String name() {
    return name;
  }

  /** The entity key: always the first column. */
  public Column key() {
    return columns.get(0);
  }

  /** The primary key: the entity key, then any {@link Builder#timeKey} or {@link Builder#stringKey} columns. */
  public List<Column> keyColumns() {
    List<Column> keys = new ArrayList<>();
    for (Column column : columns) {
      if (column.role() == Role.KEY) {
        keys.add(column);
      }
    }
    return keys;
  }

  /** Secondary indexes, each a list of column names, created with the table. */
  public List<List<String>> indexes() {
    return indexes;
  }

  /** The column called {@code name}; fails when the table has none, so names from elsewhere never reach SQL. */
  public Column column(String name) {
    for (Column column : columns) {
      if (column.name().equals(name)) {
        return column;
      }
    }
    throw new IllegalArgumentException("table " + this.name + " has no column " + name + ": it has " + columnNames());
  }

  /** Every column, the key first, in the order rows are passed to the store. */
  public List<Column> columns() {
    return columns;
  }

  public List<String> columnNames() {
    List<String> names = new ArrayList<>(columns.size());
    for (Column column : columns) {
      names.add(column.name());
    }
    return names;
  }

  /** When an incoming row replaces the stored row of its key; the store renders it as SQL. */
  public ReplaceRule replaceRule() {
    return replaceRule;
  }

  @Override
  public String toString() {
    return name + columnNames();
  }

  private static String checkIdentifier(String value, String what) {
    requireNonNull(value, what);
    if (!IDENTIFIER.matcher(value).matches()) {
      throw new IllegalArgumentException(
          what + " '" + value + "' is not allowed: use lower-case letters, digits and '_', starting with a letter");
    }
    return value;
  }

  /** Builds a {@link FeatureTable}; columns keep the order they are added in. */
  public static final class Builder {
    private final String name;
    private final List<Column> columns = new ArrayList<>();
    private final List<List<String>> indexes = new ArrayList<>();
    private ReplaceRule replaceRule;

    private Builder(String name, String keyColumn) {
      this.name = checkIdentifier(name, "table name");
      columns.add(new Column(keyColumn, ColumnType.KEY, Role.KEY, false));
    }

    /** A time column (epoch milliseconds) that describes the features, such as a window bound. */
    public Builder time(String column) {
      columns.add(new Column(column, ColumnType.BIGINT, Role.TIME, false));
      return this;
    }

    /**
     * A time (epoch milliseconds) that is part of the primary key after the entity key, such as the start of a tile:
     * the table then holds one row per entity and time. Add it right after the entity key.
     */
    public Builder timeKey(String column) {
      if (columns.size() != keyCount()) {
        throw new IllegalStateException("table " + name + ": add timeKey(" + column + ") right after the entity key");
      }
      columns.add(new Column(column, ColumnType.BIGINT, Role.KEY, false));
      return this;
    }

    /**
     * A string that is part of the primary key after the entity key, such as an event's id within its user: the
     * table then holds one row per entity and value. Add it right after the entity key.
     */
    public Builder stringKey(String column) {
      if (columns.size() != keyCount()) {
        throw new IllegalStateException("table " + name + ": add stringKey(" + column + ") right after the entity key");
      }
      columns.add(new Column(column, ColumnType.STRING, Role.KEY, false));
      return this;
    }

    /** A string describing the row, such as the user a raw event belongs to. */
    public Builder stringAttribute(String column) {
      columns.add(new Column(column, ColumnType.STRING, Role.ATTRIBUTE, false));
      return this;
    }

    /** A secondary index over {@code columns}, in that order, for range reads. */
    public Builder index(String... columnNames) {
      indexes.add(List.of(columnNames));
      return this;
    }

    /** A whole-number feature. */
    public Builder longFeature(String column) {
      columns.add(new Column(column, ColumnType.BIGINT, Role.FEATURE, false));
      return this;
    }

    /** A whole-number feature that is NULL where it is undefined. */
    public Builder nullableLongFeature(String column) {
      columns.add(new Column(column, ColumnType.BIGINT, Role.FEATURE, true));
      return this;
    }

    /** A floating-point feature that is NULL where it is undefined. */
    public Builder nullableDoubleFeature(String column) {
      columns.add(new Column(column, ColumnType.DOUBLE, Role.FEATURE, true));
      return this;
    }

    /** See {@link FeatureTable#replaceRule()}. Required: every table must say how a newer row wins. */
    public Builder replaceWhen(ReplaceRule rule) {
      this.replaceRule = requireNonNull(rule, "rule");
      return this;
    }

    public FeatureTable build() {
      if (replaceRule == null) {
        throw new IllegalStateException(
            "table " + name + " has no replaceWhen(...) condition: say when an incoming row replaces the stored one");
      }
      long distinct = columns.stream().map(Column::name).distinct().count();
      if (distinct != columns.size()) {
        throw new IllegalStateException("table " + name + " names a column twice");
      }
      List<String> names = columns.stream().map(Column::name).collect(java.util.stream.Collectors.toList());
      for (List<String> index : indexes) {
        if (index.isEmpty() || !names.containsAll(index)) {
          throw new IllegalStateException("table " + name + ": index " + index + " must name columns of " + names);
        }
      }
      if (!names.containsAll(replaceRule.columns())) {
        throw new IllegalStateException("table " + name + ": replace rule " + replaceRule + " must name columns of " + names);
      }
      return new FeatureTable(name, columns, replaceRule, indexes);
    }

    private int keyCount() {
      return (int) columns.stream().filter(c -> c.role() == Role.KEY).count();
    }
  }
}
