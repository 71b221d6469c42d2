package dev.clickstream.features;

import java.util.List;
import java.util.Optional;

/**
 * The online tables of the project's features, derived from {@link FeatureDefinitions#REGISTRY}: each constant is
 * the table its definition declares. Serving resolves table names here and nowhere else.
 */
public final class FeatureTables {

  /** One row per user holding the user's latest 5-minute CTR window; {@link FeatureDefinitions#CTR_5MIN}. */
  public static final FeatureTable CTR_5MIN = FeatureDefinitions.CTR_5MIN.table();

  /** One row per user: clicks over the last 1, 10, 30 and 60 minutes; {@link FeatureDefinitions#CLICK_COUNTS}. */
  public static final FeatureTable CLICK_COUNTS = FeatureDefinitions.CLICK_COUNTS.precomputedTable();

  /** The same click counts from hopping windows; {@link FeatureDefinitions#CLICK_COUNTS_SLIDING}. */
  public static final FeatureTable CLICK_COUNTS_SLIDING = FeatureDefinitions.CLICK_COUNTS_SLIDING.table();

  /** Per user, the latest session; {@link FeatureDefinitions#USER_SESSIONS}. */
  public static final FeatureTable USER_SESSIONS = FeatureDefinitions.USER_SESSIONS.table();

  /** Per item, click attribution over its latest 5-minute window; {@link FeatureDefinitions#ITEM_ATTRIBUTION_5MIN}. */
  public static final FeatureTable ITEM_ATTRIBUTION_5MIN = FeatureDefinitions.ITEM_ATTRIBUTION_5MIN.table();

  /** CTR per user segment over its latest 5-minute window; {@link FeatureDefinitions#CTR_BY_SEGMENT_5MIN}. */
  public static final FeatureTable CTR_BY_SEGMENT_5MIN = FeatureDefinitions.CTR_BY_SEGMENT_5MIN.table();

  /** CTR per item category over its latest 5-minute window; {@link FeatureDefinitions#CTR_BY_CATEGORY_5MIN}. */
  public static final FeatureTable CTR_BY_CATEGORY_5MIN = FeatureDefinitions.CTR_BY_CATEGORY_5MIN.table();

  /** A user's activity over its latest 5-minute window; {@link FeatureDefinitions#USER_ACTIVITY_5MIN}. */
  public static final FeatureTable USER_ACTIVITY_5MIN = FeatureDefinitions.USER_ACTIVITY_5MIN.table();

  /** Per monitored feature, its latest drift evaluation (PSI, KS, status); see {@link DriftMonitor}. */
  public static final FeatureTable FEATURE_DRIFT = DriftMonitor.TABLE;

  private FeatureTables() {}

  /** The tables the registry's views are served from, in declaration order. */
  public static List<FeatureTable> all() {
    return FeatureDefinitions.REGISTRY.servedTables();
  }

  public static Optional<FeatureTable> byName(String name) {
    return all().stream().filter(table -> table.name().equals(name)).findFirst();
  }
}
