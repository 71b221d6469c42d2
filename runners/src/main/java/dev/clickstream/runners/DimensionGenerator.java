package dev.clickstream.runners;

import dev.clickstream.features.DimensionDefinitions;
import java.util.ArrayList;
import java.util.List;

/**
 * Deterministic dimension tables for the generated events: one {@code users} row per user {@code u0..u(N-1)} and one
 * {@code items} row per item {@code item0..item(M-1)}, in {@link DimensionDefinitions}' column order. Every 50th
 * user and every 40th item is left out on purpose, so enrichment meets unknown keys and uses the declared defaults.
 */
final class DimensionGenerator {
  static final String[] COUNTRIES = {"de", "fr", "us", "br", "in", "jp"};
  static final String[] SEGMENTS = {"new", "casual", "regular", "premium"};
  static final String[] CATEGORIES = {"sports", "fashion", "electronics", "books", "home"};
  static final String[] CAMPAIGNS = {"spring_sale", "brand", "retargeting"};
  /** 2025-01-01T00:00:00Z: users sign up over the following 300 days. */
  private static final long FIRST_SIGNUP = 1_735_689_600_000L;
  private static final long DAY = 86_400_000L;

  private DimensionGenerator() {}

  /** Whether {@code users} rows leave out user {@code index}. */
  static boolean userMissing(int index) {
    return index % 50 == 49;
  }

  /** Whether {@code items} rows leave out item {@code index}. */
  static boolean itemMissing(int index) {
    return index % 40 == 39;
  }

  static List<Object[]> users(int count) {
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      if (!userMissing(i)) {
        // Mixed strides, so segment and country do not move together.
        rows.add(new Object[] {
          "u" + i,
          COUNTRIES[i % COUNTRIES.length],
          SEGMENTS[(i * 7 / 3) % SEGMENTS.length],
          FIRST_SIGNUP + (i % 300) * DAY
        });
      }
    }
    return rows;
  }

  static List<Object[]> items(int count) {
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      if (!itemMissing(i)) {
        rows.add(new Object[] {
          "item" + i, CATEGORIES[i % CATEGORIES.length], CAMPAIGNS[(i / 5) % CAMPAIGNS.length],
          5.0 + (i * 37 % 200) / 2.0
        });
      }
    }
    return rows;
  }
}
