package dev.clickstream.pipelines;

import dev.clickstream.features.ClickAttribution;
import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.features.SlidingAggregation;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.ClickEvent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which features of a {@link FeatureRegistry} one {@link FeaturePipeline} job computes, and which of their tables it
 * writes, from the names given on the command line ({@code ./clickstream run NAME...}).
 *
 * <pre>{@code
 * FeatureSelection.of(FeatureDefinitions.REGISTRY, List.of("ctr_5min", "user_sessions"), "stateful");
 * }</pre>
 *
 * <p>A name is one of:
 *
 * <ul>
 *   <li>a feature of the registry: its served table ({@link FeatureDefinition#table()}), so {@code click_counts}
 *       is the pre-computed counts only; a drift monitor brings the feature it watches;
 *   <li>a rolling feature's other views, {@code <feature>_on_demand} and {@code <feature>_tiled} (as the server
 *       names them): the raw events and tiles tables those views read, {@code click_events} and {@code
 *       click_tiles};
 *   <li>an alias, the name of a pipeline before features were compiled, with the same meaning: {@code ctr} is
 *       {@code ctr_5min} with its drift monitor {@code ctr_5min.ctr}; {@code click-counts} is {@code click_counts},
 *       or {@code click_counts_sliding} with {@code --counter=sliding}; {@code raw-events} is every rolling
 *       feature's raw events and tiles ({@code click_counts_on_demand}, {@code click_counts_tiled}); {@code
 *       enriched} every feature that reads a field {@code ClickEvent} lacks; {@code attribution} and
 *       {@code sessions} every feature of that kind; {@code all} every feature and table, its rolling counts
 *       stateful unless {@code --counter=sliding}.
 * </ul>
 *
 * <p>The selection's {@link #name()} names the consumer group ({@code clickstream-NAME}) and the dead-letter file
 * ({@code ./data/dead-letters/NAME.jsonl}) by default: the one name given (so {@code run ctr} keeps {@code ctr.jsonl}),
 * or the names joined by {@value #JOINED_BY} for a list ({@code ctr_5min+user_sessions}), so that two jobs of
 * different features never share a consumer group's offsets.
 */
public final class FeatureSelection {
  /** How the name of a job of several names joins them. */
  public static final String JOINED_BY = "+";

  /** The aliases and what each runs, for help. */
  public static final Map<String, String> ALIASES = aliases();

  private final String name;
  private final Map<FeatureDefinition, List<FeatureTable>> tables;

  private FeatureSelection(String name, Map<FeatureDefinition, List<FeatureTable>> tables) {
    this.name = name;
    this.tables = tables;
  }

  private static Map<String, String> aliases() {
    Map<String, String> aliases = new LinkedHashMap<>();
    aliases.put("ctr", "click-through rate per user over 5-minute windows and its drift -> ctr_5min, feature_drift");
    aliases.put("click-counts", "clicks per user in the last 1, 10, 30, 60 min as of its latest click ->"
        + " click_counts (--counter=sliding: hopping windows -> click_counts_sliding)");
    aliases.put("raw-events",
        "every click -> click_events (on-demand reads), per-user minute tiles -> click_tiles (tiled reads)");
    aliases.put("attribution", "clicks attributed to the user's latest impression of the item within 30 min, per"
        + " item over 5-minute windows -> item_attribution_5min");
    aliases.put("sessions",
        "per-user sessions (30-minute gap): length, events and clicks of the latest session -> user_sessions");
    aliases.put("enriched", "events joined with the users and items dimension tables -> ctr_by_segment_5min,"
        + " ctr_by_category_5min, user_activity_5min");
    aliases.put("all", "every feature above in one job, over one read and parse of the input");
    return aliases;
  }

  /**
   * The features and tables {@code names} select from {@code registry}; {@code counter} decides the aliases {@code
   * click-counts} and {@code all}. No names is {@code all}.
   *
   * @throws IllegalArgumentException naming every name there is, when a name is none of them
   */
  public static FeatureSelection of(FeatureRegistry registry, List<String> names, ClickCounter counter) {
    List<String> given = names == null || names.isEmpty() ? List.of("all") : names;
    boolean sliding = counter == ClickCounter.SLIDING;
    Map<String, Set<FeatureTable>> chosen = new LinkedHashMap<>();
    for (String name : given) {
      select(registry, name.trim(), sliding, chosen);
    }
    for (DriftMonitor monitor : registry.ofKind(DriftMonitor.class)) {
      if (chosen.containsKey(monitor.name())) {
        FeatureDefinition watched = registry.byName(monitor.view()).orElseThrow();
        chosen.computeIfAbsent(watched.name(), unused -> new LinkedHashSet<>()).add(watched.table());
      }
    }
    // In declaration order, each feature's tables in its own order.
    Map<FeatureDefinition, List<FeatureTable>> tables = new LinkedHashMap<>();
    for (FeatureDefinition definition : registry.definitions()) {
      Set<FeatureTable> selected = chosen.get(definition.name());
      if (selected != null) {
        List<FeatureTable> ordered = new ArrayList<>(definition.tables());
        ordered.retainAll(selected);
        tables.put(definition, List.copyOf(ordered));
      }
    }
    return new FeatureSelection(nameOf(given), tables);
  }

  /** The name of a job of {@code names}: the names joined by {@value #JOINED_BY}, {@code all} for none. */
  public static String nameOf(List<String> names) {
    if (names == null || names.isEmpty()) {
      return "all";
    }
    List<String> trimmed = new ArrayList<>();
    names.forEach(name -> trimmed.add(name.trim()));
    return String.join(JOINED_BY, trimmed);
  }

  private static void select(
      FeatureRegistry registry, String name, boolean sliding, Map<String, Set<FeatureTable>> chosen) {
    List<FeatureDefinition> all = registry.definitions();
    switch (name) {
      case "ctr":
        add(chosen, FeatureDefinitions.CTR_5MIN, FeatureDefinitions.CTR_5MIN.table());
        add(chosen, FeatureDefinitions.CTR_DRIFT, FeatureDefinitions.CTR_DRIFT.table());
        return;
      case "click-counts":
        FeatureDefinition counts = sliding ? FeatureDefinitions.CLICK_COUNTS_SLIDING : FeatureDefinitions.CLICK_COUNTS;
        add(chosen, counts, counts.table());
        return;
      case "raw-events":
        for (WindowedAggregation rolling : registry.ofKind(WindowedAggregation.class)) {
          addUnlessNull(chosen, rolling, rolling.rawEventsTable());
          addUnlessNull(chosen, rolling, rolling.tilesTable());
        }
        return;
      case "enriched":
        all.stream()
            .filter(FeatureSelection::readsEnrichedFields)
            .forEach(feature -> add(chosen, feature, feature.table()));
        return;
      case "attribution":
        registry.ofKind(ClickAttribution.class).forEach(feature -> add(chosen, feature, feature.table()));
        return;
      case "sessions":
        registry.ofKind(SessionAggregation.class).forEach(feature -> add(chosen, feature, feature.table()));
        return;
      case "all":
        for (FeatureDefinition definition : all) {
          for (FeatureTable table : definition.tables()) {
            boolean precomputed = definition instanceof WindowedAggregation && table.equals(definition.table());
            boolean skipped =
                sliding ? precomputed && hasSlidingCounterpart(registry, definition)
                    : definition instanceof SlidingAggregation;
            if (!skipped) {
              add(chosen, definition, table);
            }
          }
        }
        return;
      default:
        break;
    }
    if (registry.byName(name).isPresent()) {
      FeatureDefinition definition = registry.byName(name).get();
      add(chosen, definition, definition.table());
      return;
    }
    for (WindowedAggregation rolling : registry.ofKind(WindowedAggregation.class)) {
      if (name.equals(rolling.onDemandView()) && rolling.rawEventsTable() != null) {
        add(chosen, rolling, rolling.rawEventsTable());
        return;
      }
      if (name.equals(rolling.tiledView()) && rolling.tilesTable() != null) {
        add(chosen, rolling, rolling.tilesTable());
        return;
      }
    }
    throw new IllegalArgumentException(
        "unknown feature '" + name + "': the features are " + names(registry) + ", the aliases " + ALIASES.keySet());
  }

  /** Every name a selection takes: features, on-demand and tiled views, in declaration order. */
  public static List<String> names(FeatureRegistry registry) {
    List<String> names = new ArrayList<>();
    for (FeatureDefinition definition : registry.definitions()) {
      names.add(definition.name());
      if (definition instanceof WindowedAggregation) {
        WindowedAggregation rolling = (WindowedAggregation) definition;
        if (rolling.rawEventsTable() != null) {
          names.add(rolling.onDemandView());
        }
        if (rolling.tilesTable() != null) {
          names.add(rolling.tiledView());
        }
      }
    }
    return names;
  }

  private static boolean hasSlidingCounterpart(FeatureRegistry registry, FeatureDefinition rolling) {
    return registry.ofKind(SlidingAggregation.class).stream().anyMatch(sliding -> sliding.counts().equals(rolling));
  }

  /**
   * Whether {@code feature} reads a field that {@code ClickEvent} lacks, such as a dimension attribute: it then runs
   * over enriched events.
   */
  public static boolean readsEnrichedFields(FeatureDefinition feature) {
    return feature.eventFields().stream().anyMatch(field -> ClickEvent.getClassSchema().getField(field) == null);
  }

  private static void add(Map<String, Set<FeatureTable>> chosen, FeatureDefinition definition, FeatureTable table) {
    chosen.computeIfAbsent(definition.name(), unused -> new LinkedHashSet<>()).add(table);
  }

  private static void addUnlessNull(
      Map<String, Set<FeatureTable>> chosen, FeatureDefinition definition, FeatureTable table) {
    if (table != null) {
      add(chosen, definition, table);
    }
  }

  /** The default name of the job's consumer group and dead-letter file. */
  public String name() {
    return name;
  }

  /** The selected features, in declaration order. */
  public List<FeatureDefinition> definitions() {
    return List.copyOf(tables.keySet());
  }

  /** The tables of {@code definition} this selection writes, in its own order. */
  public List<FeatureTable> tablesOf(FeatureDefinition definition) {
    return tables.getOrDefault(definition, List.of());
  }

  /** Every table this selection writes. */
  public List<FeatureTable> tables() {
    List<FeatureTable> all = new ArrayList<>();
    tables.values().forEach(all::addAll);
    return all;
  }

  /** The name and the tables written, such as {@code ctr[ctr_5min, feature_drift]}. */
  @Override
  public String toString() {
    List<String> names = new ArrayList<>();
    tables().forEach(table -> names.add(table.name()));
    return name + names;
  }
}
