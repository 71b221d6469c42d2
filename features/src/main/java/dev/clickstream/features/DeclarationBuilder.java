package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * What the builder of every kind of declaration takes alike: how long a row stays current ({@link #maxAge}) and a
 * sentence saying what the feature is ({@link #description}). Both are optional: a kind has a default max age derived
 * from its windows, and a declaration without a description is described by its shape.
 *
 * @param <B> the kind's own builder, returned by every setter
 */
public abstract class DeclarationBuilder<B extends DeclarationBuilder<B>> {
  final String name;
  private Duration maxAge;
  private String description;

  DeclarationBuilder(String name) {
    this.name = requireNonNull(name, "name");
  }

  /**
   * How long after its time ({@link FeatureDefinition#asOfColumn()}) a row is still current, by the server's clock;
   * an older row is served with status {@code stale} (Feast's {@code OUTSIDE_MAX_AGE}). Positive, whole milliseconds.
   */
  public B maxAge(Duration maxAge) {
    if (maxAge == null || maxAge.isNegative() || maxAge.isZero()) {
      throw new IllegalArgumentException("feature " + name + ": maxAge must be a positive duration, got " + maxAge);
    }
    this.maxAge = maxAge;
    return self();
  }

  /** What the feature means to the people who use it, for the registry ({@code GET /registry}) and the docs. */
  public B description(String description) {
    if (description == null || description.isBlank()) {
      throw new IllegalArgumentException("feature " + name + ": the description must be a sentence, got "
          + (description == null ? "null" : "'" + description + "'"));
    }
    this.description = description;
    return self();
  }

  /** The declared max age, or {@code byDefault} (the kind's default) when none was declared. */
  final Duration maxAgeOr(Duration byDefault) {
    return maxAge == null ? byDefault : maxAge;
  }

  /** The declared description; null when none was. */
  final String description() {
    return description;
  }

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }
}
