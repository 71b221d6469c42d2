package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A named list of view columns that one request returns as one vector, for one model (Feast's feature service):
 *
 * <pre>{@code
 * FeatureService.named("ranking_v1")
 *     .features("ctr_5min.ctr", "click_counts.*", "user_activity_5min.distinct_items")
 *     .description("What the ranking model v1 reads per user")
 *     .build();
 * }</pre>
 *
 * <p>Each reference is {@code VIEW.COLUMN}, or {@code VIEW.*} for every feature column of the view, in its order.
 * A service is only a declaration: the {@link FeatureRegistry} it is added to ({@link FeatureRegistry#withServices})
 * resolves the references against its views and refuses an unknown view or column, two views of different entity
 * keys, and a column named twice.
 */
public final class FeatureService implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Every feature column of a view. */
  public static final String ALL_COLUMNS = "*";
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");
  private static final Pattern REFERENCE = Pattern.compile("([a-z][a-z0-9_]{0,62})\\.([a-z][a-z0-9_]{0,62}|\\*)");

  private final String name;
  private final List<Reference> references;
  private final String description;

  private FeatureService(String name, List<Reference> references, String description) {
    this.name = name;
    this.references = List.copyOf(references);
    this.description = description;
  }

  public static Builder named(String name) {
    return new Builder(name);
  }

  public String name() {
    return name;
  }

  /** The references as declared, in order. */
  public List<Reference> references() {
    return references;
  }

  public String description() {
    return description;
  }

  /** {@code ranking_v1 = ctr_5min.ctr + click_counts.* + ...}. */
  @Override
  public String toString() {
    List<String> declared = new ArrayList<>();
    references.forEach(reference -> declared.add(reference.toString()));
    return name + " = " + String.join(" + ", declared);
  }

  /** One declared reference: a view, and one of its columns or {@link #ALL_COLUMNS}. */
  public record Reference(String view, String column) implements Serializable {
    public Reference {
      requireNonNull(view, "view");
      requireNonNull(column, "column");
    }

    public boolean allColumns() {
      return column.equals(ALL_COLUMNS);
    }

    @Override
    public String toString() {
      return view + "." + column;
    }
  }

  /**
   * One column of a resolved service: a view and its column. Its name in a vector is {@code view.column}, so two
   * views' columns of the same name stay apart.
   */
  public record Feature(String view, String column) implements Serializable {
    public Feature {
      requireNonNull(view, "view");
      requireNonNull(column, "column");
    }

    public String name() {
      return view + "." + column;
    }
  }

  /** Builds a {@link FeatureService}; {@link #build()} checks the references' shape, the registry what they name. */
  public static final class Builder {
    private final String name;
    private final List<String> references = new ArrayList<>();
    private String description;

    private Builder(String name) {
      this.name = requireNonNull(name, "name");
    }

    /** {@code VIEW.COLUMN} or {@code VIEW.*}, in the order the vector lists them. */
    public Builder features(String... references) {
      this.references.addAll(Arrays.asList(references));
      return this;
    }

    public Builder description(String description) {
      this.description = requireNonNull(description, "description");
      return this;
    }

    public FeatureService build() {
      if (!NAME.matcher(name).matches()) {
        throw new IllegalStateException("feature service name '" + name + "' is not allowed: use lower-case letters,"
            + " digits and '_', starting with a letter, such as ranking_v1");
      }
      if (references.isEmpty()) {
        throw new IllegalStateException("feature service " + name + " needs features(\"VIEW.COLUMN\", ...)");
      }
      Map<String, Reference> parsed = new LinkedHashMap<>();
      for (String reference : references) {
        var match = REFERENCE.matcher(reference == null ? "" : reference);
        if (!match.matches()) {
          throw new IllegalStateException("feature service " + name + ": '" + reference + "' is not VIEW.COLUMN or"
              + " VIEW.*, such as ctr_5min.ctr or click_counts.*");
        }
        if (parsed.putIfAbsent(reference, new Reference(match.group(1), match.group(2))) != null) {
          throw new IllegalStateException("feature service " + name + " names " + reference + " twice");
        }
      }
      return new FeatureService(name, new ArrayList<>(parsed.values()),
          description == null ? "feature service " + name : description);
    }
  }
}
