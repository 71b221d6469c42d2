package dev.clickstream.store;

import dev.clickstream.features.FeatureTables;
import dev.clickstream.features.ReplaceRule;
import dev.clickstream.features.FeatureTable;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureTable.ColumnType;
import dev.clickstream.features.FeatureTable.Role;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link FeatureTable} accepts only plain lower-case identifiers, and says why it refuses one. */
class FeatureTableTest {
  private static final String RULE = "is not allowed: use lower-case letters, digits and '_', starting with a letter";

  @ParameterizedTest
  @ValueSource(
      strings = {"", "Ctr", "CTR_5MIN", "5min", "_ctr", "ctr-5min", "ctr 5min", "ctr;drop table x", "ctr\"", "ctr'",
          "tabelle_ä", "a234567890123456789012345678901234567890123456789012345678901234"})
  void aBadTableNameIsRefused(String name) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> FeatureTable.builder(name, "user_id"));

    assertThat(e.getMessage(), is("table name '" + name + "' " + RULE));
  }

  @ParameterizedTest
  @ValueSource(strings = {"User_id", "user id", "user_id--", "1d", "user_id) OR (1=1"})
  void aBadColumnNameIsRefusedWhereverItIsAdded(String name) {
    assertThat(assertThrows(IllegalArgumentException.class, () -> FeatureTable.builder("t", name)).getMessage(),
        is("column name '" + name + "' " + RULE));
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> FeatureTable.builder("t", "k").time(name)).getMessage(),
        is("column name '" + name + "' " + RULE));
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> FeatureTable.builder("t", "k").longFeature(name))
            .getMessage(),
        is("column name '" + name + "' " + RULE));
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> FeatureTable.builder("t", "k").nullableDoubleFeature(name))
            .getMessage(),
        is("column name '" + name + "' " + RULE));
  }

  @Test
  void aNullNameIsRefusedByName() {
    NullPointerException table =
        assertThrows(NullPointerException.class, () -> FeatureTable.builder(null, "user_id"));
    NullPointerException column = assertThrows(NullPointerException.class, () -> FeatureTable.builder("t", null));

    assertThat(table.getMessage(), is("table name"));
    assertThat(column.getMessage(), is("column name"));
  }

  @Test
  void theLongestAllowedNameIsSixtyThreeCharacters() {
    String longest = "a" + "b".repeat(62);

    FeatureTable table = FeatureTable.builder(longest, longest.replace('a', 'k')).replaceWhen(ReplaceRule.always()).build();

    assertThat(table.name(), is(longest));
  }

  @Test
  void aTableWithoutAReplaceConditionIsRefused() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> FeatureTable.builder("t", "k").longFeature("n").build());

    assertThat(e.getMessage(),
        is("table t has no replaceWhen(...) condition: say when an incoming row replaces the stored one"));
  }

  @Test
  void aTableNamingAColumnTwiceIsRefused() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class,
            () -> FeatureTable.builder("t", "k").longFeature("n").time("n").replaceWhen(ReplaceRule.always()).build());

    assertThat(e.getMessage(), is("table t names a column twice"));
  }

  @Test
  void ctr5minHasItsColumnsInOrderWithTheirRoles() {
    FeatureTable table = FeatureTables.CTR_5MIN;

    List<String> columns =
        table.columns().stream()
            .map(c -> c.name() + " " + c.type() + " " + c.role() + (c.nullable() ? " nullable" : ""))
            .collect(Collectors.toList());

    assertThat(columns,
        is(List.of(
            "user_id KEY KEY",
            "window_start BIGINT TIME",
            "window_end BIGINT TIME",
            "impressions BIGINT FEATURE",
            "clicks BIGINT FEATURE",
            "ctr DOUBLE FEATURE nullable",
            "updated_at BIGINT TIME")));
    assertThat(table.key().name(), is("user_id"));
    assertThat(table.key().type(), is(ColumnType.KEY));
    assertThat(table.key().role(), is(Role.KEY));
    assertThat(table.toString(),
        is("ctr_5min[user_id, window_start, window_end, impressions, clicks, ctr, updated_at]"));
  }

  @Test
  void theRegistryResolvesOnlyItsOwnNames() {
    assertThat(
        FeatureTables.all().stream().map(FeatureTable::name).collect(Collectors.toList()),
        is(List.of("ctr_5min", "click_counts", "click_counts_sliding", "ctr_by_segment_5min", "ctr_by_category_5min",
            "user_activity_5min", "item_attribution_5min", "user_sessions", "feature_drift")));
    assertThat(FeatureTables.USER_SESSIONS.columnNames(),
        is(List.of("user_id", "session_start", "session_end", "session_length_ms", "events", "clicks",
            "updated_at")));
    assertThat(FeatureTables.ITEM_ATTRIBUTION_5MIN.columnNames(),
        is(List.of("item_id", "window_start", "window_end", "impressions", "clicks", "attributed_clicks",
            "unattributed_clicks", "attributed_ctr", "mean_time_to_click_ms", "updated_at")));
    assertThat(FeatureTables.CTR_BY_SEGMENT_5MIN.columnNames(),
        is(List.of("user_segment", "window_start", "window_end", "impressions", "clicks", "ctr", "updated_at")));
    assertThat(FeatureTables.CLICK_COUNTS_SLIDING.columnNames(),
        is(List.of("user_id", "window_end", "click_count_1_min", "click_count_10_min", "click_count_30_min",
            "click_count_1_hour", "updated_at")));
    assertThat(FeatureTables.CLICK_COUNTS.columnNames(),
        is(List.of("user_id", "event_time", "click_count_1_min", "click_count_10_min", "click_count_30_min",
            "click_count_1_hour", "updated_at")));
    assertThat(FeatureTables.byName("click_counts").orElseThrow(), is(FeatureTables.CLICK_COUNTS));
    assertThat(FeatureTables.byName("ctr_5min").orElseThrow(), is(FeatureTables.CTR_5MIN));
    assertThat(FeatureTables.byName("CTR_5MIN").isPresent(), is(false));
    assertThat(FeatureTables.byName("ctr_5min; DROP TABLE ctr_5min").isPresent(), is(false));
    assertThat(FeatureTables.byName(null).isPresent(), is(false));
  }
}
