package dev.clickstream.store;

import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTable.Column;
import dev.clickstream.features.ReplaceRule;
import dev.clickstream.features.FeatureTable.ColumnType;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** The SQL that differs between the supported databases. */
public enum Dialect {
  H2 {
    @Override
    String upsertSql(FeatureTable table, String replaceCondition) {
      // MERGE ... USING (VALUES ...) needs typed parameters, or H2 compares them as text.
      String values =
          table.columns().stream().map(c -> "CAST(? AS " + sqlType(c) + ")").collect(Collectors.joining(", "));
      return "MERGE INTO " + table.name() + " t USING (VALUES (" + values + ")) AS s("
          + String.join(", ", table.columnNames()) + ") ON "
          + keyNames(table).stream().map(k -> "t." + k + " = s." + k).collect(Collectors.joining(" AND "))
          + " WHEN MATCHED AND (" + condition(replaceCondition, "s.", "t.") + ") THEN UPDATE SET "
          + assignments(table, "s.")
          + " WHEN NOT MATCHED THEN INSERT (" + String.join(", ", table.columnNames()) + ") VALUES ("
          + table.columnNames().stream().map(c -> "s." + c).collect(Collectors.joining(", ")) + ")";
    }
  },

  POSTGRESQL {
    @Override
    String storedBytesSql() {
      return "SELECT pg_total_relation_size(to_regclass(?))";
    }

    @Override
    String upsertSql(FeatureTable table, String replaceCondition) {
      return "INSERT INTO " + table.name() + " AS t (" + String.join(", ", table.columnNames()) + ") VALUES ("
          + placeholders(table.columns().size()) + ") ON CONFLICT (" + String.join(", ", keyNames(table))
          + ") DO UPDATE SET "
          + assignments(table, "EXCLUDED.") + " WHERE " + condition(replaceCondition, "EXCLUDED.", "t.");
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
    String upsertSql(FeatureTable table, String replaceCondition) {
      List<String> columns = table.columnNames();
      List<String> updates = new ArrayList<>();
      for (String column : valueColumns(table)) {
        String replace =
            updates.isEmpty()
                ? "(" + REPLACE_VARIABLE + " := (" + valuesCondition(replaceCondition) + "))"
                : REPLACE_VARIABLE;
        updates.add(column + " = IF(" + replace + ", VALUES(" + column + "), " + column + ")");
      }
      return "INSERT INTO " + table.name() + " (" + String.join(", ", columns) + ") VALUES ("
          + placeholders(columns.size()) + ") ON DUPLICATE KEY UPDATE " + String.join(", ", updates);
    }

    /** Strings compare byte for byte, as in H2 and PostgreSQL; the server's default collation ignores case. */
    @Override
    String columnType(Column column) {
      return column.type() == ColumnType.KEY || column.type() == ColumnType.STRING
          ? sqlType(column) + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
          : sqlType(column);
    }

    /** MariaDB has no CREATE INDEX IF NOT EXISTS before 10.1.4 and MySQL none at all: indexes go in the table. */
    @Override
    String createTableSql(FeatureTable table) {
      String sql = super.createTableSql(table);
      String withoutOptions = sql.substring(0, sql.length() - tableOptions().length() - 1);
      StringBuilder indexes = new StringBuilder();
      for (List<String> index : table.indexes()) {
        indexes.append(", INDEX ").append(indexName(table, index)).append(" (").append(String.join(", ", index))
            .append(")");
      }
      return withoutOptions + indexes + ")" + tableOptions();
    }

    @Override
    List<String> createIndexSql(FeatureTable table) {
      return List.of();
    }

    /** InnoDB's page counts: estimates the server refreshes on ANALYZE TABLE. */
    @Override
    String storedBytesSql() {
      return "SELECT data_length + index_length FROM information_schema.tables WHERE table_schema = DATABASE()"
          + " AND table_name = ?";
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
        "unsupported online store URL '" + JdbcUrls.redacted(jdbcUrl) + "': use jdbc:h2:file:PATH (embedded, the"
            + " default), jdbc:postgresql://HOST:PORT/DATABASE or jdbc:mariadb://HOST:PORT/DATABASE (jdbc:mysql:// works too)");
  }

  /** The bytes a table and its indexes take on disk; bind the table name. H2 counts whole pages. */
  String storedBytesSql() {
    return "SELECT DISK_SPACE_USED(?)";
  }

  /** A condition that always holds: a restating write replaces the stored row whatever it holds. */
  static final String ALWAYS = "1 = 1";

  /** An upsert of one row, columns in {@link FeatureTable#columns()} order, guarded by the table's replace rule. */
  String upsertSql(FeatureTable table) {
    return upsertSql(table, replaceCondition(table.replaceRule()));
  }

  /**
   * The SQL condition of {@code rule} over {@code NEW.column} (the incoming row) and {@code OLD.column} (the stored
   * row); each dialect rewrites the prefixes.
   */
  static String replaceCondition(ReplaceRule rule) {
    switch (rule.kind()) {
      case ALWAYS:
        return ALWAYS;
      case NEVER:
        return "1 = 0";
      default:
        String progress =
            rule.progressColumns().isEmpty()
                ? null
                : sum("NEW.", rule.progressColumns()) + (rule.replaceOnEqualProgress() ? " >= " : " > ")
                    + sum("OLD.", rule.progressColumns());
        String time = rule.timeColumn();
        if (time == null) {
          return progress;
        }
        String newer = "NEW." + time + " > OLD." + time;
        return progress == null ? newer : newer + " OR (NEW." + time + " = OLD." + time + " AND " + progress + ")";
    }
  }

  private static String sum(String prefix, List<String> columns) {
    return columns.stream().map(column -> prefix + column).collect(Collectors.joining(" + "));
  }

  /**
   * An upsert of one row that replaces the stored row whatever the table's replace condition says: how a rerun over
   * corrected input restates history ({@link OnlineStore#restate}).
   */
  String restateSql(FeatureTable table) {
    return upsertSql(table, ALWAYS);
  }

  /** An upsert of one row that replaces the stored row when {@code replaceCondition} (over NEW. and OLD.) holds. */
  abstract String upsertSql(FeatureTable table, String replaceCondition);

  String createTableSql(FeatureTable table) {
    String columns =
        table.columns().stream()
            .map(c -> c.name() + " " + columnType(c) + (c.nullable() ? "" : " NOT NULL"))
            .collect(Collectors.joining(", "));
    return "CREATE TABLE IF NOT EXISTS " + table.name() + " (" + columns + ", PRIMARY KEY ("
        + String.join(", ", keyNames(table)) + "))" + tableOptions();
  }

  /** The statements that create the table's secondary indexes when missing, run after {@link #createTableSql}. */
  List<String> createIndexSql(FeatureTable table) {
    List<String> statements = new ArrayList<>();
    for (List<String> index : table.indexes()) {
      statements.add("CREATE INDEX IF NOT EXISTS " + indexName(table, index) + " ON " + table.name() + " ("
          + String.join(", ", index) + ")");
    }
    return statements;
  }

  /** Deletes an entity's rows whose {@code rangeColumn} is below a bound; bind the entity, then the bound. */
  String deleteBeforeSql(FeatureTable table, Column entityColumn, Column rangeColumn) {
    return "DELETE FROM " + table.name() + " WHERE " + entityColumn.name() + " = ? AND " + rangeColumn.name()
        + " < ?";
  }

  /** {@code <table>_by_<columns>}, cut to the 63 characters every dialect allows. */
  static String indexName(FeatureTable table, List<String> columns) {
    String name = table.name() + "_by_" + String.join("_", columns);
    return name.length() <= 63 ? name : name.substring(0, 54) + "_" + Integer.toHexString(name.hashCode());
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
      case STRING:
        return "VARCHAR(256)";
      case BIGINT:
        return "BIGINT";
      case DOUBLE:
        return "DOUBLE PRECISION";
      default:
        throw new AssertionError(column.type());
    }
  }

  private static String condition(String replaceCondition, String newPrefix, String oldPrefix) {
    return replaceCondition.replace("NEW.", newPrefix).replace("OLD.", oldPrefix);
  }

  /** The replace condition for MariaDB: {@code VALUES(column)} for the incoming row, the bare column for the stored. */
  private static String valuesCondition(String replaceCondition) {
    return NEW_COLUMN.matcher(replaceCondition).replaceAll("VALUES($1)").replace("OLD.", "");
  }

  private static List<String> keyNames(FeatureTable table) {
    return table.keyColumns().stream().map(Column::name).collect(Collectors.toList());
  }

  /** The columns an upsert may change: all but the primary key. */
  private static List<String> valueColumns(FeatureTable table) {
    List<String> columns = new ArrayList<>(table.columnNames());
    columns.removeAll(keyNames(table));
    return columns;
  }

  private static String assignments(FeatureTable table, String newPrefix) {
    return valueColumns(table).stream()
        .map(c -> c + " = " + newPrefix + c)
        .collect(Collectors.joining(", "));
  }

  private static String placeholders(int count) {
    return String.join(", ", java.util.Collections.nCopies(count, "?"));
  }
}
