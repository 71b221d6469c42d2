package dev.clickstream.store;

import dev.clickstream.store.FeatureTable.Column;
import java.util.List;
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
  };

  /** Picks the dialect from a JDBC URL, or says which URLs are supported. */
  public static Dialect fromJdbcUrl(String jdbcUrl) {
    if (jdbcUrl != null && jdbcUrl.startsWith("jdbc:h2:")) {
      return H2;
    }
    if (jdbcUrl != null && jdbcUrl.startsWith("jdbc:postgresql:")) {
      return POSTGRESQL;
    }
    throw new IllegalArgumentException(
        "unsupported online store URL '" + jdbcUrl + "': use jdbc:h2:file:PATH (embedded, the default)"
            + " or jdbc:postgresql://HOST:PORT/DATABASE");
  }

  /** An upsert of one row, columns in {@link FeatureTable#columns()} order, guarded by the replace condition. */
  abstract String upsertSql(FeatureTable table);

  String createTableSql(FeatureTable table) {
    String columns =
        table.columns().stream()
            .map(c -> c.name() + " " + sqlType(c) + (c.nullable() ? "" : " NOT NULL"))
            .collect(Collectors.joining(", "));
    return "CREATE TABLE IF NOT EXISTS " + table.name() + " (" + columns + ", PRIMARY KEY (" + table.key().name()
        + "))";
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
