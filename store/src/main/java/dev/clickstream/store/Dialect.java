package dev.clickstream.store;

import dev.clickstream.store.FeatureTable.Column;
import dev.clickstream.store.FeatureTable.ColumnType;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** The SQL that differs between the supported databases. */
public enum Dialect {
  H2 {
    @Override
    String upsertSql(FeatureTable table) {
      // MERGE ... USING (VALUES ...) needs typed parameters, or H2 compares them as text.
      String values =
          table.columns().stream().map(c -> "CAST(? AS " + sqlType(c) + ")").collect(Collectors.joining(", "));
      return "MERGE INTO " + table.name() + " t USING (VALUES (" + values + ")) AS s("
          + String.join(", ", table.columnNames()) + ") ON t." + table.key().name() + " = s." + table.key().name()
          + " WHEN MATCHED AND (" + condition(table, "s.", "t.") + ") THEN UPDATE SET "
          + assignments(table, "s.")
          + " WHEN NOT MATCHED THEN INSERT (" + String.join(", ", table.columnNames()) + ") VALUES ("
          + table.columnNames().stream().map(c -> "s." + c).collect(Collectors.joining(", ")) + ")";
    }
  },

  POSTGRESQL {
    @Override
    String upsertSql(FeatureTable table) {
      return "INSERT INTO " + table.name() + " AS t (" + String.join(", ", table.columnNames()) + ") VALUES ("
          + placeholders(table.columns().size()) + ") ON CONFLICT (" + table.key().name() + ") DO UPDATE SET "
          + assignments(table, "EXCLUDED.") + " WHERE " + condition(table, "EXCLUDED.", "t.");
    }
  },

  /**
   * MariaDB, and MySQL through the MariaDB driver. {@code ON DUPLICATE KEY UPDATE} has no WHERE, and it assigns
   * columns left to right, each later assignment seeing the columns already changed. So the first assignment
   * evaluates the replace condition once, over the stored row as it was, into the session variable {@value
   * #REPLACE_VARIABLE}; every column, that first one included, then takes the incoming value only when the
   * condition held. A refused row keeps every stored value, and the server reports it as unchanged.
   */
  MARIADB {
    @Override
    String upsertSql(FeatureTable table) {
      List<String> columns = table.columnNames();
      List<String> updates = new ArrayList<>();
      for (String column : columns.subList(1, columns.size())) {
        String replace =
            updates.isEmpty()
                ? "(" + REPLACE_VARIABLE + " := (" + valuesCondition(table) + "))"
                : REPLACE_VARIABLE;
        updates.add(column + " = IF(" + replace + ", VALUES(" + column + "), " + column + ")");
      }
      return "INSERT INTO " + table.name() + " (" + String.join(", ", columns) + ") VALUES ("
          + placeholders(columns.size()) + ") ON DUPLICATE KEY UPDATE " + String.join(", ", updates);
    }

    /** Keys compare byte for byte, as in H2 and PostgreSQL; the server's default collation ignores case. */
    @Override
    String columnType(Column column) {
      return column.type() == ColumnType.KEY
          ? sqlType(column) + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
          : sqlType(column);
    }

    /** Row locks and transactions, whatever the server's default engine. */
    @Override
    String tableOptions() {
      return " ENGINE=InnoDB";
    }
  };

  /** The MariaDB session variable that holds whether the incoming row replaces the stored one. */
  static final String REPLACE_VARIABLE = "@replace_row";

  private static final Pattern NEW_COLUMN = Pattern.compile("NEW\\.([a-z][a-z0-9_]*)");

  /** Picks the dialect from a JDBC URL, or says which URLs are supported. */
  public static Dialect fromJdbcUrl(String jdbcUrl) {
    if (jdbcUrl != null && jdbcUrl.startsWith("jdbc:h2:")) {
      return H2;
    }
    if (jdbcUrl != null && jdbcUrl.startsWith("jdbc:postgresql:")) {
      return POSTGRESQL;
    }
    if (jdbcUrl != null && (jdbcUrl.startsWith("jdbc:mariadb:") || jdbcUrl.startsWith("jdbc:mysql:"))) {
      return MARIADB;
    }
    throw new IllegalArgumentException(
        "unsupported online store URL '" + jdbcUrl + "': use jdbc:h2:file:PATH (embedded, the default),"
            + " jdbc:postgresql://HOST:PORT/DATABASE or jdbc:mariadb://HOST:PORT/DATABASE (jdbc:mysql:// works too)");
  }

  /** An upsert of one row, columns in {@link FeatureTable#columns()} order, guarded by the replace condition. */
  abstract String upsertSql(FeatureTable table);

  String createTableSql(FeatureTable table) {
    String columns =
        table.columns().stream()
            .map(c -> c.name() + " " + columnType(c) + (c.nullable() ? "" : " NOT NULL"))
            .collect(Collectors.joining(", "));
    return "CREATE TABLE IF NOT EXISTS " + table.name() + " (" + columns + ", PRIMARY KEY (" + table.key().name()
        + "))" + tableOptions();
  }

  /** The type of {@code column} in CREATE TABLE. */
  String columnType(Column column) {
    return sqlType(column);
  }

  /** What follows the column list in CREATE TABLE. */
  String tableOptions() {
    return "";
  }

  String selectSql(FeatureTable table, int keys) {
    return "SELECT " + String.join(", ", table.columnNames()) + " FROM " + table.name() + " WHERE "
        + table.key().name() + (keys == 1 ? " = ?" : " IN (" + placeholders(keys) + ")");
  }

  static String sqlType(Column column) {
    switch (column.type()) {
      case KEY:
        return "VARCHAR(256)";
      case BIGINT:
        return "BIGINT";
      case DOUBLE:
        return "DOUBLE PRECISION";
      default:
        throw new AssertionError(column.type());
    }
  }

  private static String condition(FeatureTable table, String newPrefix, String oldPrefix) {
    return table.replaceCondition().replace("NEW.", newPrefix).replace("OLD.", oldPrefix);
  }

  /** The replace condition for MariaDB: {@code VALUES(column)} for the incoming row, the bare column for the stored. */
  private static String valuesCondition(FeatureTable table) {
    return NEW_COLUMN.matcher(table.replaceCondition()).replaceAll("VALUES($1)").replace("OLD.", "");
  }

  private static String assignments(FeatureTable table, String newPrefix) {
    List<String> columns = table.columnNames();
    return columns.subList(1, columns.size()).stream()
        .map(c -> c + " = " + newPrefix + c)
        .collect(Collectors.joining(", "));
  }

  private static String placeholders(int count) {
    return String.join(", ", java.util.Collections.nCopies(count, "?"));
  }
}
