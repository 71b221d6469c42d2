package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

/** What every kind of declared feature holds alike: its name, its kind and the event field naming its entity. */
abstract class DeclaredFeature implements FeatureDefinition {
  private static final long serialVersionUID = 1L;

  final String name;
  private final Kind kind;
  final String entityField;

  DeclaredFeature(String name, Kind kind, String entityField) {
    this.name = requireNonNull(name, "name");
    this.kind = requireNonNull(kind, "kind");
    this.entityField = requireNonNull(entityField, "entityField");
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
}
