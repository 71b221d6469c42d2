package dev.clickstream.store;

import dev.clickstream.features.FeatureDefinitions;
import java.util.List;
import java.util.Optional;

/** The registry of online-store tables. Serving resolves table names here and nowhere else. */
public final class FeatureTables {

  /**
   * One row per user holding the user's latest 5-minute CTR window. A row replaces the stored one only for a
   * later window, or for the same window with more events (a later, accumulating pane), so replays and
   * out-of-order writes never move a user back in time.
   */
  public static final FeatureTable CTR_5MIN =
      FeatureTable.builder("ctr_5min", "user_id")
          .time("window_start")
          .time("window_end")
          .longFeature("impressions")
          .longFeature("clicks")
          .nullableDoubleFeature("ctr")
          .time("updated_at")
          .replaceWhen(
              "NEW.window_start > OLD.window_start OR (NEW.window_start = OLD.window_start"
                  + " AND NEW.impressions + NEW.clicks > OLD.impressions + OLD.clicks)")
          .build();

  /**
   * One row per user: clicks over the last 1, 10, 30 and 60 minutes as of the user's latest click. Declared by
   * {@link FeatureDefinitions#CLICK_COUNTS}, with the raw-events and tiles tables of the other two patterns.
   */
  public static final FeatureTable CLICK_COUNTS = FeatureDefinitions.CLICK_COUNTS.precomputedTable();

  /** The pre-computed feature views, served by name. */
  private static final List<FeatureTable> ALL = List.of(CTR_5MIN, CLICK_COUNTS);

  private FeatureTables() {}

  public static List<FeatureTable> all() {
    return ALL;
  }

  public static Optional<FeatureTable> byName(String name) {
    return ALL.stream().filter(table -> table.name().equals(name)).findFirst();
  }
}
