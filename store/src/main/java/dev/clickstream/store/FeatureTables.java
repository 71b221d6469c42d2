package dev.clickstream.store;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import java.util.List;
import java.util.Optional;

/** The registry of online-store tables. Serving resolves table names here and nowhere else. */
public final class FeatureTables {

  /**
   * One row per user holding the user's latest 5-minute CTR window. A row replaces the stored one only for a
   * later window, or for the same window with more events (a later, accumulating pane), so replays and
   * out-of-order writes never move a user back in time. Declared by {@link FeatureDefinitions#CTR_5MIN}.
   */
  public static final FeatureTable CTR_5MIN = FeatureDefinitions.CTR_5MIN.table();

  /**
   * One row per user: clicks over the last 1, 10, 30 and 60 minutes as of the user's latest click. Declared by
   * {@link FeatureDefinitions#CLICK_COUNTS}, with the raw-events and tiles tables of the other two patterns.
   */
  public static final FeatureTable CLICK_COUNTS = FeatureDefinitions.CLICK_COUNTS.precomputedTable();

  /**
   * The same click counts from hopping windows ({@code ./clickstream run click-counts --counter=sliding}): one row
   * per user holding its latest window end, each count over {@code [window_end - W, window_end)}, windows every
   * minute. A row replaces the stored one for a later window end, or the same one with more clicks in the hour.
   */
  public static final FeatureTable CLICK_COUNTS_SLIDING =
      slidingCounts(FeatureDefinitions.CLICK_COUNTS, "click_counts_sliding");

  /** Per user, the latest session. Declared by {@link FeatureDefinitions#USER_SESSIONS}. */
  public static final FeatureTable USER_SESSIONS = FeatureDefinitions.USER_SESSIONS.table();

  /** Per item, click attribution over its latest 5-minute window; {@link FeatureDefinitions#ITEM_ATTRIBUTION_5MIN}. */
  public static final FeatureTable ITEM_ATTRIBUTION_5MIN = FeatureDefinitions.ITEM_ATTRIBUTION_5MIN.table();

  /** CTR per user segment over its latest 5-minute window; {@link FeatureDefinitions#CTR_BY_SEGMENT_5MIN}. */
  public static final FeatureTable CTR_BY_SEGMENT_5MIN = FeatureDefinitions.CTR_BY_SEGMENT_5MIN.table();

  /** CTR per item category over its latest 5-minute window; {@link FeatureDefinitions#CTR_BY_CATEGORY_5MIN}. */
  public static final FeatureTable CTR_BY_CATEGORY_5MIN = FeatureDefinitions.CTR_BY_CATEGORY_5MIN.table();

  /** A user's activity over its latest 5-minute window; {@link FeatureDefinitions#USER_ACTIVITY_5MIN}. */
  public static final FeatureTable USER_ACTIVITY_5MIN = FeatureDefinitions.USER_ACTIVITY_5MIN.table();

  /** Per monitored feature, its latest drift evaluation (PSI, KS, status); see {@link FeatureDefinitions#CTR_DRIFT}. */
  public static final FeatureTable FEATURE_DRIFT = DriftMonitor.TABLE;

  /** The pre-computed feature views, served by name. */
  private static final List<FeatureTable> ALL =
      List.of(
          CTR_5MIN, CLICK_COUNTS, CLICK_COUNTS_SLIDING, CTR_BY_SEGMENT_5MIN, CTR_BY_CATEGORY_5MIN, USER_ACTIVITY_5MIN,
          ITEM_ATTRIBUTION_5MIN, USER_SESSIONS, FEATURE_DRIFT);

  private FeatureTables() {}

  /** A table of hopping-window counts with the feature columns of {@code feature}, which may only count. */
  private static FeatureTable slidingCounts(WindowedAggregation feature, String name) {
    if (feature.aggregations().stream().anyMatch(aggregation -> !aggregation.kind().equals("count"))) {
      throw new IllegalArgumentException("hopping-window tables only count; " + feature + " aggregates more");
    }
    FeatureTable.Builder table = FeatureTable.builder(name, feature.entityField()).time("window_end");
    List<String> columns = feature.featureColumns();
    columns.forEach(table::longFeature);
    String longest = columns.get(columns.size() - 1);
    return table
        .time(WindowedAggregation.UPDATED_AT)
        .replaceWhen("NEW.window_end > OLD.window_end OR (NEW.window_end = OLD.window_end AND NEW." + longest
            + " > OLD." + longest + ")")
        .build();
  }

  public static List<FeatureTable> all() {
    return ALL;
  }

  public static Optional<FeatureTable> byName(String name) {
    return ALL.stream().filter(table -> table.name().equals(name)).findFirst();
  }
}
