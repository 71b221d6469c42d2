package dev.clickstream.store;

import dev.clickstream.features.DimensionDefinitions;
import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.features.FeatureTable;
import static dev.clickstream.features.FeatureTables.CTR_5MIN;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The SQL each {@link Dialect} builds, and which URLs pick which dialect. */
class DialectTest {
  /**
   * SQL keywords, the two aliases ({@code t}, {@code s}) the dialects use, MariaDB's character set, collation and
   * engine, and its session variable ({@code @replace_row}); anything else must be a name.
   */
  private static final Set<String> SQL_WORDS =
      Set.of("merge", "into", "t", "using", "values", "cast", "as", "varchar", "bigint", "double", "precision",
          "s", "on", "when", "matched", "and", "or", "then", "update", "set", "not", "insert", "conflict", "do",
          "excluded", "where", "select", "from", "in", "create", "table", "if", "exists", "null", "primary", "key",
          "duplicate", "character", "utf8mb4", "collate", "utf8mb4_bin", "engine", "innodb", "replace_row");

  private static final Pattern WORD = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  @Test
  void h2UpsertOfCtr5min() {
    assertThat(Dialect.H2.upsertSql(CTR_5MIN),
        is("MERGE INTO ctr_5min t USING (VALUES (CAST(? AS VARCHAR(256)), CAST(? AS BIGINT), CAST(? AS BIGINT),"
            + " CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT)))"
            + " AS s(user_id, window_start, window_end, impressions, clicks, ctr, updated_at)"
            + " ON t.user_id = s.user_id"
            + " WHEN MATCHED AND (s.window_start > t.window_start OR (s.window_start = t.window_start"
            + " AND s.impressions + s.clicks > t.impressions + t.clicks))"
            + " THEN UPDATE SET window_start = s.window_start, window_end = s.window_end,"
            + " impressions = s.impressions, clicks = s.clicks, ctr = s.ctr, updated_at = s.updated_at"
            + " WHEN NOT MATCHED THEN INSERT (user_id, window_start, window_end, impressions, clicks, ctr,"
            + " updated_at) VALUES (s.user_id, s.window_start, s.window_end, s.impressions, s.clicks, s.ctr,"
            + " s.updated_at)"));
  }

  @Test
  void postgresqlUpsertOfCtr5min() {
    assertThat(Dialect.POSTGRESQL.upsertSql(CTR_5MIN),
        is("INSERT INTO ctr_5min AS t (user_id, window_start, window_end, impressions, clicks, ctr, updated_at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            + " window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,"
            + " impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks, ctr = EXCLUDED.ctr,"
            + " updated_at = EXCLUDED.updated_at"
            + " WHERE EXCLUDED.window_start > t.window_start OR (EXCLUDED.window_start = t.window_start"
            + " AND EXCLUDED.impressions + EXCLUDED.clicks > t.impressions + t.clicks)"));
  }

  /**
   * The condition is evaluated once, in the first assignment, before any column changes; every assignment then
   * reads the variable. Evaluated again in later assignments, it would see the new window_start and counts.
   */
  @Test
  void mariadbUpsertOfCtr5min() {
    assertThat(Dialect.MARIADB.upsertSql(CTR_5MIN),
        is("INSERT INTO ctr_5min (user_id, window_start, window_end, impressions, clicks, ctr, updated_at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE"
            + " window_start = IF((@replace_row := (VALUES(window_start) > window_start"
            + " OR (VALUES(window_start) = window_start"
            + " AND VALUES(impressions) + VALUES(clicks) > impressions + clicks))),"
            + " VALUES(window_start), window_start),"
            + " window_end = IF(@replace_row, VALUES(window_end), window_end),"
            + " impressions = IF(@replace_row, VALUES(impressions), impressions),"
            + " clicks = IF(@replace_row, VALUES(clicks), clicks),"
            + " ctr = IF(@replace_row, VALUES(ctr), ctr),"
            + " updated_at = IF(@replace_row, VALUES(updated_at), updated_at)"));
  }

  @Test
  void createTableOfCtr5minIsTheSameInH2AndPostgresql() {
    String expected =
        "CREATE TABLE IF NOT EXISTS ctr_5min (user_id VARCHAR(256) NOT NULL, window_start BIGINT NOT NULL,"
            + " window_end BIGINT NOT NULL, impressions BIGINT NOT NULL, clicks BIGINT NOT NULL,"
            + " ctr DOUBLE PRECISION, updated_at BIGINT NOT NULL, PRIMARY KEY (user_id))";

    assertThat(Dialect.H2.createTableSql(CTR_5MIN), is(expected));
    assertThat(Dialect.POSTGRESQL.createTableSql(CTR_5MIN), is(expected));
  }

  /** On MariaDB the key compares byte for byte (the server default ignores case), in an InnoDB table. */
  @Test
  void mariadbCreateTableOfCtr5min() {
    assertThat(Dialect.MARIADB.createTableSql(CTR_5MIN),
        is("CREATE TABLE IF NOT EXISTS ctr_5min (user_id VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            + " NOT NULL, window_start BIGINT NOT NULL, window_end BIGINT NOT NULL, impressions BIGINT NOT NULL,"
            + " clicks BIGINT NOT NULL, ctr DOUBLE PRECISION, updated_at BIGINT NOT NULL, PRIMARY KEY (user_id))"
            + " ENGINE=InnoDB"));
  }

  @Test
  void selectOfCtr5minBindsEveryKey() {
    String columns = "SELECT user_id, window_start, window_end, impressions, clicks, ctr, updated_at FROM ctr_5min";

    for (Dialect dialect : Dialect.values()) {
      assertThat(dialect.selectSql(CTR_5MIN, 1), is(columns + " WHERE user_id = ?"));
      assertThat(dialect.selectSql(CTR_5MIN, 3), is(columns + " WHERE user_id IN (?, ?, ?)"));
    }
  }

  /** The store renders each declared replace rule as the condition its upserts guard with. */
  @Test
  void replaceRulesRenderAsTheConditionsOfEveryTable() {
    assertThat(Dialect.replaceCondition(FeatureDefinitions.CTR_5MIN.table().replaceRule()),
        is("NEW.window_start > OLD.window_start OR (NEW.window_start = OLD.window_start"
            + " AND NEW.impressions + NEW.clicks > OLD.impressions + OLD.clicks)"));
    assertThat(Dialect.replaceCondition(FeatureDefinitions.USER_ACTIVITY_5MIN.table().replaceRule()),
        is("NEW.window_start > OLD.window_start OR (NEW.window_start = OLD.window_start"
            + " AND NEW.events + NEW.clicks + NEW.distinct_items > OLD.events + OLD.clicks + OLD.distinct_items)"));
    assertThat(Dialect.replaceCondition(FeatureDefinitions.CLICK_COUNTS.precomputedTable().replaceRule()),
        is("NEW.event_time > OLD.event_time OR (NEW.event_time = OLD.event_time"
            + " AND NEW.click_count_1_hour > OLD.click_count_1_hour)"));
    assertThat(Dialect.replaceCondition(FeatureDefinitions.CLICK_COUNTS.rawEventsTable().replaceRule()), is("1 = 0"));
    assertThat(Dialect.replaceCondition(FeatureDefinitions.CLICK_COUNTS.tilesTable().replaceRule()),
        is("NEW.event_count > OLD.event_count"));
    assertThat(Dialect.replaceCondition(FeatureTables.CLICK_COUNTS_SLIDING.replaceRule()),
        is("NEW.window_end > OLD.window_end OR (NEW.window_end = OLD.window_end"
            + " AND NEW.click_count_1_hour > OLD.click_count_1_hour)"));
    assertThat(Dialect.replaceCondition(DriftMonitor.TABLE.replaceRule()),
        is("NEW.window_start > OLD.window_start OR (NEW.window_start = OLD.window_start"
            + " AND NEW.reference_count + NEW.recent_count >= OLD.reference_count + OLD.recent_count)"));
    assertThat(Dialect.replaceCondition(FeatureTables.USER_SESSIONS.replaceRule()),
        is("NEW.session_end > OLD.session_end OR (NEW.session_end = OLD.session_end AND NEW.events > OLD.events)"));
    assertThat(Dialect.replaceCondition(DimensionDefinitions.USERS.table().replaceRule()), is("1 = 1"));
  }

  /** Every word of every statement, for every registered table, is a SQL keyword, an alias or a registry name. */
  @Test
  void statementsHoldNothingButKeywordsAndRegistryNames() {
    Set<String> allowed = new TreeSet<>(SQL_WORDS);
    for (FeatureTable table : FeatureTables.all()) {
      allowed.add(table.name());
      allowed.addAll(table.columnNames());
    }
    List<String> strangers = new ArrayList<>();
    for (FeatureTable table : FeatureTables.all()) {
      for (Dialect dialect : Dialect.values()) {
        for (String sql :
            List.of(dialect.upsertSql(table), dialect.createTableSql(table), dialect.selectSql(table, 2))) {
          Matcher words = WORD.matcher(sql.replace("s(", "s ("));
          while (words.find()) {
            String word = words.group();
            if (!allowed.contains(word) && !allowed.contains(word.toLowerCase(Locale.ROOT))) {
              strangers.add(dialect + " " + table.name() + ": " + word);
            }
          }
        }
      }
    }

    assertThat(strangers, is(empty()));
  }

  @Test
  void fromJdbcUrlPicksTheDialect() {
    assertThat(Dialect.fromJdbcUrl("jdbc:h2:file:./data/online-store"), is(Dialect.H2));
    assertThat(Dialect.fromJdbcUrl("jdbc:h2:mem:x;DB_CLOSE_DELAY=-1"), is(Dialect.H2));
    assertThat(Dialect.fromJdbcUrl("jdbc:postgresql://127.0.0.1:5432/features?user=app"), is(Dialect.POSTGRESQL));
    assertThat(Dialect.fromJdbcUrl("jdbc:mariadb://127.0.0.1:3306/features?user=app"), is(Dialect.MARIADB));
    assertThat(Dialect.fromJdbcUrl("jdbc:mysql://127.0.0.1:3306/features?user=app"), is(Dialect.MARIADB));
  }

  @Test
  void fromJdbcUrlNamesTheSupportedUrlsWhenItCannotServeOne() {
    IllegalArgumentException sqlServer =
        assertThrows(IllegalArgumentException.class,
            () -> Dialect.fromJdbcUrl("jdbc:sqlserver://localhost:1433;databaseName=f"));
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> Dialect.fromJdbcUrl(null));
    IllegalArgumentException upperCase =
        assertThrows(IllegalArgumentException.class, () -> Dialect.fromJdbcUrl("JDBC:H2:mem:x"));
    IllegalArgumentException withoutJdbc =
        assertThrows(IllegalArgumentException.class, () -> Dialect.fromJdbcUrl("mariadb://localhost:3306/f"));

    String supported =
        ": use jdbc:h2:file:PATH (embedded, the default), jdbc:postgresql://HOST:PORT/DATABASE"
            + " or jdbc:mariadb://HOST:PORT/DATABASE (jdbc:mysql:// works too)";
    assertThat(sqlServer.getMessage(),
        is("unsupported online store URL 'jdbc:sqlserver://localhost:1433;databaseName=f'" + supported));
    assertThat(missing.getMessage(), is("unsupported online store URL 'null'" + supported));
    assertThat(upperCase.getMessage(), is("unsupported online store URL 'JDBC:H2:mem:x'" + supported));
    assertThat(withoutJdbc.getMessage(),
        is("unsupported online store URL 'mariadb://localhost:3306/f'" + supported));
  }
}
