package dev.clickstream.features;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One declarative dimension table: a string key and an ordered list of typed attributes, each with the default an
 * unknown key gets.
 *
 * <pre>{@code
 * Dimension.named("users")
 *     .key("user_id")
 *     .stringAttribute("country", "unknown")
 *     .stringAttribute("segment", "unknown")
 *     .longAttribute("signup_time", null)
 *     .build();
 * }</pre>
 *
 * <p>The name is also the name of its online-store table ({@link #table()}) and of its file ({@code <name>.jsonl});
 * the key and attribute names are its columns and the file's fields. All of them must be lower-case SQL identifiers
 * ({@code [a-z][a-z0-9_]*}, as {@link FeatureTable} enforces), so the same names work in H2, PostgreSQL, MariaDB and
 * JSON.
 *
 * <p>Attribute values are {@link String} for {@link Type#STRING}, {@link Long} for {@link Type#LONG} and {@link
 * Double} for {@link Type#DOUBLE}. A STRING attribute is never null: its default is a value such as {@code
 * "unknown"}, so a consumer can always tell a known value from the default by the key being known. LONG and DOUBLE
 * attributes may be null (a value that is not known), and so may their defaults.
 *
 * <p>A dimension is a slowly changing table read whole: a newer load of a row simply replaces the stored one (there
 * is no version column to compare), and readers see whichever load they last took.
 */
public final class Dimension implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The types an attribute can have. */
  public enum Type {
    /** A {@link String}, never null. */
    STRING(String.class),
    /** A {@link Long}, or null. */
    LONG(Long.class),
    /** A finite {@link Double}, or null. */
    DOUBLE(Double.class);

    private final Class<?> javaType;

    Type(Class<?> javaType) {
      this.javaType = javaType;
    }

    /** The Java class of the values. */
    public Class<?> javaType() {
      return javaType;
    }

    /** Whether a value of this type may be null. */
    public boolean nullable() {
      return this != STRING;
    }
  }

  /** One attribute: its name (a column), its type and the default an unknown key gets. Immutable. */
  public static final class Attribute implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final Type type;
    private final Object defaultValue;

    private Attribute(String name, Type type, Object defaultValue) {
      this.name = requireNonNull(name, "attribute name");
      this.type = requireNonNull(type, "type");
      this.defaultValue = defaultValue;
    }

    public String name() {
      return name;
    }

    public Type type() {
      return type;
    }

    /** The value an unknown key gets: a {@link String} for STRING, a {@link Long} or {@link Double} or null else. */
    public Object defaultValue() {
      return defaultValue;
    }

    /**
     * Null when {@code value} is a valid value of this attribute, else what is wrong with it, as a phrase such as
     * {@code "must be a LONG, got String \"x\""}.
     */
    public String problemWith(Object value) {
      if (value == null) {
        return type.nullable() ? null : "may not be null: a " + type + " attribute always has a value";
      }
      if (!type.javaType().isInstance(value)) {
        return "must be a " + type + " (" + type.javaType().getSimpleName() + "), got "
            + value.getClass().getSimpleName() + " " + quoted(value);
      }
      if (value instanceof Double && !Double.isFinite((Double) value)) {
        return "must be a finite number or null, got " + value;
      }
      return null;
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Attribute)) {
        return false;
      }
      Attribute other = (Attribute) o;
      return name.equals(other.name) && type == other.type && Objects.equals(defaultValue, other.defaultValue);
    }

    @Override
    public int hashCode() {
      return Objects.hash(name, type, defaultValue);
    }

    @Override
    public String toString() {
      return name + " " + type + " default " + quoted(defaultValue);
    }
  }

  private final String name;
  private final String keyColumn;
  private final List<Attribute> attributes;
  private final List<Object> defaults;
  private final FeatureTable table;

  private Dimension(String name, String keyColumn, List<Attribute> attributes) {
    this.name = name;
    this.keyColumn = keyColumn;
    this.attributes = List.copyOf(attributes);
    // Arrays.asList: defaults may be null, which List.of refuses.
    this.defaults =
        Collections.unmodifiableList(Arrays.asList(attributes.stream().map(Attribute::defaultValue).toArray()));
    this.table = declareTable(name, keyColumn, this.attributes);
  }

  /** Starts a declaration; {@code name} is also the name of its table and of its file. */
  public static Builder named(String name) {
    return new Builder(name);
  }

  public String name() {
    return name;
  }

  /** The column (and file field) that holds the key, such as {@code user_id}. */
  public String keyColumn() {
    return keyColumn;
  }

  /** The attributes, in column order. */
  public List<Attribute> attributes() {
    return attributes;
  }

  public List<String> attributeNames() {
    return attributes.stream().map(Attribute::name).collect(Collectors.toList());
  }

  /** The attribute called {@code name}; fails, listing the attributes there are, when there is none. */
  public Attribute attribute(String name) {
    return attributes.get(attributeIndex(name));
  }

  /** Where the attribute called {@code name} is in {@link #attributes()} and in a row's values. */
  public int attributeIndex(String name) {
    for (int i = 0; i < attributes.size(); i++) {
      if (attributes.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException(
        "dimension " + this.name + " has no attribute " + name + ": it has " + attributeNames());
  }

  /** The values an unknown key gets, in attribute order; an unmodifiable list that may hold nulls. */
  public List<Object> defaults() {
    return defaults;
  }

  /**
   * The online-store table: the key, then one column per attribute, in order. STRING attributes are NOT NULL
   * string columns, LONG and DOUBLE attributes nullable BIGINT and DOUBLE columns. A write always replaces the
   * stored row (see the class documentation).
   */
  public FeatureTable table() {
    return table;
  }

  /**
   * Null when {@code values} is a valid row of attribute values (one per attribute, in order, each valid for its
   * attribute), else what is wrong with it, naming the attribute.
   */
  public String problemWith(List<?> values) {
    if (values == null) {
      return "has no values";
    }
    if (values.size() != attributes.size()) {
      return "has " + values.size() + " values, expected " + attributes.size() + " " + attributeNames();
    }
    for (int i = 0; i < attributes.size(); i++) {
      String problem = attributes.get(i).problemWith(values.get(i));
      if (problem != null) {
        return "attribute " + attributes.get(i).name() + " " + problem;
      }
    }
    return null;
  }

  private static FeatureTable declareTable(String name, String keyColumn, List<Attribute> attributes) {
    FeatureTable.Builder builder = FeatureTable.builder(name, keyColumn);
    for (Attribute attribute : attributes) {
      switch (attribute.type()) {
        case STRING:
          builder.stringAttribute(attribute.name());
          break;
        case LONG:
          builder.nullableLongFeature(attribute.name());
          break;
        case DOUBLE:
          builder.nullableDoubleFeature(attribute.name());
          break;
        default:
          throw new AssertionError(attribute.type());
      }
    }
    // A write always replaces the row: the rows come whole from the dimension's source of truth, which has no version
    // a write could be compared by, and writing the same load twice is harmless.
    return builder.replaceWhen(ReplaceRule.always()).build();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Dimension)) {
      return false;
    }
    Dimension other = (Dimension) o;
    return name.equals(other.name) && keyColumn.equals(other.keyColumn) && attributes.equals(other.attributes);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, keyColumn, attributes);
  }

  @Override
  public String toString() {
    return name + "(" + keyColumn + " -> " + attributes.stream().map(Attribute::toString)
        .collect(Collectors.joining(", ")) + ")";
  }

  private static String quoted(Object value) {
    return value instanceof String ? "\"" + value + "\"" : String.valueOf(value);
  }

  /** Builds a {@link Dimension}; attributes keep the order they are added in. */
  public static final class Builder {
    private final String name;
    private String keyColumn;
    private final List<Attribute> attributes = new ArrayList<>();

    private Builder(String name) {
      this.name = requireNonNull(name, "name");
    }

    /** The column (and file field) that holds the key. */
    public Builder key(String keyColumn) {
      this.keyColumn = requireNonNull(keyColumn, "keyColumn");
      return this;
    }

    /** A string attribute; {@code defaultValue} is what an unknown key gets, and may not be null. */
    public Builder stringAttribute(String name, String defaultValue) {
      if (defaultValue == null) {
        throw new IllegalArgumentException(
            "dimension " + this.name + ": STRING attribute " + name + " needs a default that is not null, such as"
                + " \"unknown\"; only LONG and DOUBLE attributes may default to null");
      }
      attributes.add(new Attribute(name, Type.STRING, defaultValue));
      return this;
    }

    /** A whole-number attribute; {@code defaultValue} is what an unknown key gets, possibly null. */
    public Builder longAttribute(String name, Long defaultValue) {
      attributes.add(new Attribute(name, Type.LONG, defaultValue));
      return this;
    }

    /** A floating-point attribute; {@code defaultValue} (finite, or null) is what an unknown key gets. */
    public Builder doubleAttribute(String name, Double defaultValue) {
      if (defaultValue != null && !Double.isFinite(defaultValue)) {
        throw new IllegalArgumentException(
            "dimension " + this.name + ": DOUBLE attribute " + name + " needs a finite default or null, got "
                + defaultValue);
      }
      attributes.add(new Attribute(name, Type.DOUBLE, defaultValue));
      return this;
    }

    /**
     * The dimension; fails when the key is missing, there is no attribute, a name is used twice, or a name is not
     * a lower-case SQL identifier.
     */
    public Dimension build() {
      if (keyColumn == null) {
        throw new IllegalStateException("dimension " + name + " needs key(column)");
      }
      if (attributes.isEmpty()) {
        throw new IllegalStateException("dimension " + name + " needs at least one attribute");
      }
      Set<String> columns = new HashSet<>(List.of(keyColumn));
      for (Attribute attribute : attributes) {
        if (!columns.add(attribute.name())) {
          throw new IllegalStateException(
              "dimension " + name + " names the column " + attribute.name() + " twice: give the key and each"
                  + " attribute its own name");
        }
      }
      try {
        return new Dimension(name, keyColumn, attributes);
      } catch (IllegalArgumentException e) {
        // FeatureTable checks the identifiers; say which dimension they belong to.
        throw new IllegalArgumentException("dimension " + name + ": " + e.getMessage(), e);
      }
    }
  }
}
