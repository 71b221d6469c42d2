package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What every kind of declared feature holds alike: its name, its kind, the event field naming its entity, how long a
 * row stays current and what it means; and the description of the whole declaration ({@link #describe()}).
 */
abstract class DeclaredFeature implements FeatureDefinition {
  private static final long serialVersionUID = 1L;

  final String name;
  private final Kind kind;
  final String entityField;
  private final long maxAgeMillis;
  private final String description;

  /**
   * @param defaultMaxAge the kind's max age for a declaration that names none, derived from its windows
   */
  DeclaredFeature(String name, Kind kind, String entityField, DeclarationBuilder<?> declared, Duration defaultMaxAge) {
    this.name = requireNonNull(name, "name");
    this.kind = requireNonNull(kind, "kind");
    this.entityField = requireNonNull(entityField, "entityField");
    this.maxAgeMillis = declared.maxAgeOr(defaultMaxAge).toMillis();
    this.description = declared.description();
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final Kind kind() {
    return kind;
  }

  @Override
  public final String entityField() {
    return entityField;
  }

  @Override
  public final Duration maxAge() {
    return Duration.ofMillis(maxAgeMillis);
  }

  /** The declared description, or the declaration's shape ({@link #toString()}) when it has none. */
  @Override
  public final String description() {
    return description != null ? description : toString();
  }

  @Override
  public final Map<String, Object> describe() {
    Map<String, Object> described = new LinkedHashMap<>();
    described.put("name", name);
    described.put("kind", kind.name().toLowerCase(Locale.ROOT));
    described.put("description", description());
    described.put("source", source());
    described.put("entity_key", entityField);
    describeShape(described);
    described.put("time_semantics", timeSemantics());
    described.put("as_of_column", asOfColumn());
    described.put("max_age_ms", maxAgeMillis);
    List<Map<String, Object>> tables = new ArrayList<>();
    tables().forEach(table -> tables.add(describe(table)));
    described.put("tables", tables);
    return described;
  }

  /** What the feature reads: the click events and the fields it uses; a drift monitor overrides it. */
  Map<String, Object> source() {
    Map<String, Object> source = new LinkedHashMap<>();
    source.put("events", "clickstream events (ClickEvent), enriched with the dimension tables for the fields they"
        + " hold");
    source.put("fields", eventFields());
    return source;
  }

  /** The kind's own settings (filter, windows, aggregations, gap, ...), added to {@code described} in order. */
  abstract void describeShape(Map<String, Object> described);

  /** In words: which events a row holds, which time it is as of, and when it is written. */
  abstract String timeSemantics();

  /** Windows as their column labels and lengths, shortest first. */
  static List<Map<String, Object>> describeWindows(List<FeatureWindow> windows) {
    List<Map<String, Object>> described = new ArrayList<>();
    for (FeatureWindow window : windows) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("label", window.label());
      entry.put("length_ms", window.lengthMillis());
      described.add(entry);
    }
    return described;
  }

  /** Each aggregation as declared ({@link Aggregation#toString()}), in column order. */
  static List<String> describeAggregations(List<Aggregation> aggregations) {
    List<String> described = new ArrayList<>();
    aggregations.forEach(aggregation -> described.add(aggregation.toString()));
    return described;
  }

  static Map<String, Object> describe(FeatureTable table) {
    Map<String, Object> described = new LinkedHashMap<>();
    described.put("name", table.name());
    List<Map<String, Object>> columns = new ArrayList<>();
    for (FeatureTable.Column column : table.columns()) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("name", column.name());
      entry.put("type", column.type() == FeatureTable.ColumnType.KEY ? "string" : column.type().name()
          .toLowerCase(Locale.ROOT));
      entry.put("role", column.role().name().toLowerCase(Locale.ROOT));
      entry.put("nullable", column.nullable());
      columns.add(entry);
    }
    described.put("columns", columns);
    described.put("replace_rule", table.replaceRule().toString());
    return described;
  }
}
