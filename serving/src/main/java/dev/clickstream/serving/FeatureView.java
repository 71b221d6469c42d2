package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTable.Column;
import dev.clickstream.features.FeatureTable.Role;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What a request can name after {@code /features/}: a pre-computed table, read as stored, or a windowed aggregation
 * computed at request time from raw events (on demand) or from tiles and raw events (tiled). {@link FeatureViews}
 * holds them all.
 */
sealed interface FeatureView permits FeatureView.Precomputed, FeatureView.Computed {

  /** How a view gets its values; the label is what {@code GET /} shows. */
  enum Pattern {
    PRE_COMPUTED("pre-computed", ""),
    ON_DEMAND("on-demand", WindowedAggregation.ON_DEMAND_SUFFIX),
    TILED("tiled", WindowedAggregation.TILED_SUFFIX);

    private final String label;
    private final String suffix;

    Pattern(String label, String suffix) {
      this.label = label;
      this.suffix = suffix;
    }

    String label() {
      return label;
    }

    /** What a computed view's name adds to its feature's name. */
    String suffix() {
      return suffix;
    }
  }

  /** The name requests use. */
  String name();

  Pattern pattern();

  /** The entity key's name, such as {@code user_id}. */
  String entityKey();

  /** The feature names, in response order. */
  List<String> features();

  /** The top-level times of a response, in order. */
  List<String> times();

  /**
   * A row of an online-store table, kept up to date by a pipeline, and the declarations that write it: one, or
   * every drift monitor for their shared table.
   */
  record Precomputed(FeatureTable table, List<FeatureDefinition> definitions) implements FeatureView {
    public Precomputed {
      requireNonNull(table, "table");
      definitions = List.copyOf(definitions);
      if (definitions.isEmpty()) {
        throw new IllegalArgumentException("view " + table.name() + " needs the declarations that write it");
      }
    }

    /** The declaration a row of entity {@code key} belongs to: the only one, or the one named {@code key}. */
    FeatureDefinition definitionOf(String key) {
      if (definitions.size() == 1) {
        return definitions.get(0);
      }
      return definitions.stream().filter(d -> d.name().equals(key)).findFirst().orElse(definitions.get(0));
    }

    /** The rolling feature this view pre-computes, whose rows are moved to the server's now; null for others. */
    WindowedAggregation rolling() {
      return definitions.get(0) instanceof WindowedAggregation rolling && rolling.precomputedTable() == table
          ? rolling
          : null;
    }

    @Override
    public String name() {
      return table.name();
    }

    @Override
    public Pattern pattern() {
      return Pattern.PRE_COMPUTED;
    }

    @Override
    public String entityKey() {
      return table.key().name();
    }

    @Override
    public List<String> features() {
      return table.columns().stream()
          .filter(c -> c.role() == Role.FEATURE || c.role() == Role.ATTRIBUTE)
          .map(Column::name)
          .collect(Collectors.toList());
    }

    @Override
    public List<String> times() {
      return columns(Role.TIME);
    }

    private List<String> columns(Role role) {
      return table.columns().stream().filter(c -> c.role() == role).map(Column::name).collect(Collectors.toList());
    }
  }

  /**
   * The windows of {@code feature} as of a requested time, computed from its raw-events table ({@link
   * Pattern#ON_DEMAND}) or its tiles table ({@link Pattern#TILED}). Named {@code <feature>_on_demand} or {@code
   * <feature>_tiled}.
   */
  record Computed(WindowedAggregation feature, Pattern pattern) implements FeatureView {
    /** The latest matching event at or before {@link #AS_OF} within the longest window; null when none. */
    static final String EVENT_TIME = WindowedAggregation.EVENT_TIME;
    /** The time the windows end at, inclusive: the request's {@code as_of}. */
    static final String AS_OF = AsOf.PARAM;

    public Computed {
      requireNonNull(feature, "feature");
      requireNonNull(pattern, "pattern");
      if (pattern == Pattern.PRE_COMPUTED) {
        throw new IllegalArgumentException("a computed view is on-demand or tiled, not " + pattern.label());
      }
      FeatureTable needed = pattern == Pattern.ON_DEMAND ? feature.rawEventsTable() : feature.tilesTable();
      if (needed == null) {
        throw new IllegalArgumentException(
            "feature " + feature.name() + " has no " + (pattern == Pattern.ON_DEMAND ? "raw-events" : "tiles")
                + " table, so it has no " + pattern.label() + " view");
      }
    }

    @Override
    public String name() {
      return feature.name() + pattern.suffix();
    }

    @Override
    public String entityKey() {
      return feature.entityField();
    }

    @Override
    public List<String> features() {
      return feature.featureColumns();
    }

    @Override
    public List<String> times() {
      return List.of(EVENT_TIME, AS_OF);
    }
  }
}
