package dev.clickstream.features;

import java.util.List;
import java.util.Optional;

/**
 * The registry of dimension tables that events are enriched with: pipelines, the demo's data generator and docs
 * read their declarations here.
 */
public final class DimensionDefinitions {

  /**
   * Per {@code user_id}: the user's country and segment ({@code "unknown"} for a user the table lacks) and signup
   * time in epoch milliseconds (null when not known).
   */
  public static final Dimension USERS =
      Dimension.named("users")
          .key("user_id")
          .stringAttribute("country", "unknown")
          .stringAttribute("segment", "unknown")
          .longAttribute("signup_time", null)
          .build();

  /**
   * Per {@code item_id}: the item's category ({@code "unknown"} for an item the table lacks), the campaign it runs
   * in ({@code "none"}) and its price (null when not known).
   */
  public static final Dimension ITEMS =
      Dimension.named("items")
          .key("item_id")
          .stringAttribute("category", "unknown")
          .stringAttribute("campaign", "none")
          .doubleAttribute("price", null)
          .build();

  private static final List<Dimension> ALL = List.of(USERS, ITEMS);

  private DimensionDefinitions() {}

  public static List<Dimension> all() {
    return ALL;
  }

  /** The dimension called {@code name}. */
  public static Optional<Dimension> byName(String name) {
    return ALL.stream().filter(dimension -> dimension.name().equals(name)).findFirst();
  }
}
