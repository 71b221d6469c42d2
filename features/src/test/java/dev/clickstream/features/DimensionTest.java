package dev.clickstream.features;

import static dev.clickstream.features.DimensionDefinitions.ITEMS;
import static dev.clickstream.features.DimensionDefinitions.USERS;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.Dimension.Type;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTable.Column;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The declared dimensions (users, items), their tables and defaults, what a declaration refuses and why, and
 * {@link DimensionSnapshot}'s lookups, checks and value semantics.
 */
class DimensionTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long LOADED_AT = 1_709_294_400_000L;

  private static final String IDENTIFIER_RULE =
      "is not allowed: use lower-case letters, digits and '_', starting with a letter";

  // ---------------------------------------------------------------------------------------------------------------
  // The declarations

  @Test
  void usersDeclaresCountrySegmentAndSignupTimeWithTheirDefaults() {
    assertThat(USERS.name(), is("users"));
    assertThat(USERS.keyColumn(), is("user_id"));
    assertThat(describe(USERS.attributes()),
        is(List.of("country STRING default \"unknown\"", "segment STRING default \"unknown\"",
            "signup_time LONG default null")));
    assertThat(USERS.defaults(), is(Arrays.asList("unknown", "unknown", null)));
    assertThat(USERS.attributeIndex("signup_time"), is(2));
    assertThat(USERS.attribute("segment").type(), is(Type.STRING));
  }

  @Test
  void itemsDeclaresCategoryCampaignAndPriceWithTheirDefaults() {
    assertThat(ITEMS.name(), is("items"));
    assertThat(ITEMS.keyColumn(), is("item_id"));
    assertThat(describe(ITEMS.attributes()),
        is(List.of("category STRING default \"unknown\"", "campaign STRING default \"none\"",
            "price DOUBLE default null")));
    assertThat(ITEMS.defaults(), is(Arrays.asList("unknown", "none", null)));
    assertThat(ITEMS.toString(),
        is("items(item_id -> category STRING default \"unknown\", campaign STRING default \"none\","
            + " price DOUBLE default null)"));
  }

  @Test
  void theRegistryListsBothAndFindsThemByName() {
    assertThat(DimensionDefinitions.all(), is(List.of(USERS, ITEMS)));
    assertThat(DimensionDefinitions.byName("items"), is(Optional.of(ITEMS)));
    assertThat(DimensionDefinitions.byName("sessions"), is(Optional.empty()));
  }

  @Test
  void aTableHoldsTheKeyThenOneColumnPerAttributeAndAWriteAlwaysReplaces() {
    FeatureTable users = USERS.table();
    FeatureTable items = ITEMS.table();

    assertThat(users.name(), is("users"));
    assertThat(columns(users),
        is(List.of("user_id KEY KEY not null", "country STRING ATTRIBUTE not null",
            "segment STRING ATTRIBUTE not null", "signup_time BIGINT FEATURE null")));
    assertThat(items.name(), is("items"));
    assertThat(columns(items),
        is(List.of("item_id KEY KEY not null", "category STRING ATTRIBUTE not null",
            "campaign STRING ATTRIBUTE not null", "price DOUBLE FEATURE null")));
    assertThat(users.replaceRule(), is(ReplaceRule.always()));
    assertThat(items.replaceRule(), is(ReplaceRule.always()));
  }

  @Test
  void defaultsAreUnmodifiable() {
    assertThrows(UnsupportedOperationException.class, () -> USERS.defaults().set(0, "de"));
    assertThrows(UnsupportedOperationException.class, () -> USERS.attributes().remove(0));
  }

  @Test
  void anUnknownAttributeIsNamedWithTheOnesThereAre() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> USERS.attributeIndex("age"));

    assertThat(e.getMessage(), is("dimension users has no attribute age: it has [country, segment, signup_time]"));
  }

  @Test
  void equalDeclarationsAreEqual() {
    Dimension same =
        Dimension.named("users").key("user_id").stringAttribute("country", "unknown")
            .stringAttribute("segment", "unknown").longAttribute("signup_time", null).build();
    Dimension otherDefault =
        Dimension.named("users").key("user_id").stringAttribute("country", "xx")
            .stringAttribute("segment", "unknown").longAttribute("signup_time", null).build();

    assertThat(same, equalTo(USERS));
    assertThat(same.hashCode(), equalTo(USERS.hashCode()));
    assertThat(otherDefault, not(equalTo(USERS)));
    assertThat(ITEMS, not(equalTo(USERS)));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Validation

  @Test
  void aStringAttributeNeedsADefault() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> Dimension.named("users").key("user_id").stringAttribute("country", null));

    assertThat(e.getMessage(),
        is("dimension users: STRING attribute country needs a default that is not null, such as \"unknown\"; only"
            + " LONG and DOUBLE attributes may default to null"));
  }

  @Test
  void aDoubleDefaultMustBeFinite() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> Dimension.named("items").key("item_id").doubleAttribute("price", Double.NaN));

    assertThat(e.getMessage(), is("dimension items: DOUBLE attribute price needs a finite default or null, got NaN"));
  }

  @Test
  void aDeclarationNeedsAKeyAndAnAttribute() {
    IllegalStateException noKey =
        assertThrows(IllegalStateException.class,
            () -> Dimension.named("users").stringAttribute("country", "unknown").build());
    IllegalStateException noAttribute =
        assertThrows(IllegalStateException.class, () -> Dimension.named("users").key("user_id").build());

    assertThat(noKey.getMessage(), is("dimension users needs key(column)"));
    assertThat(noAttribute.getMessage(), is("dimension users needs at least one attribute"));
  }

  @Test
  void aColumnNameMayBeUsedOnlyOnce() {
    IllegalStateException twice =
        assertThrows(IllegalStateException.class,
            () -> Dimension.named("users").key("user_id").stringAttribute("country", "unknown")
                .longAttribute("country", null).build());
    IllegalStateException asKey =
        assertThrows(IllegalStateException.class,
            () -> Dimension.named("users").key("user_id").stringAttribute("user_id", "unknown").build());

    assertThat(twice.getMessage(),
        is("dimension users names the column country twice: give the key and each attribute its own name"));
    assertThat(asKey.getMessage(),
        is("dimension users names the column user_id twice: give the key and each attribute its own name"));
  }

  @Test
  void namesMustBeLowerCaseIdentifiersAndTheMessageSaysWhichDimension() {
    IllegalArgumentException table =
        assertThrows(IllegalArgumentException.class,
            () -> Dimension.named("Users").key("user_id").stringAttribute("country", "unknown").build());
    IllegalArgumentException key =
        assertThrows(IllegalArgumentException.class,
            () -> Dimension.named("users").key("user id").stringAttribute("country", "unknown").build());
    IllegalArgumentException attribute =
        assertThrows(IllegalArgumentException.class,
            () -> Dimension.named("users").key("user_id").stringAttribute("country;drop", "unknown").build());

    assertThat(table.getMessage(), is("dimension Users: table name 'Users' " + IDENTIFIER_RULE));
    assertThat(key.getMessage(), is("dimension users: column name 'user id' " + IDENTIFIER_RULE));
    assertThat(attribute.getMessage(), is("dimension users: column name 'country;drop' " + IDENTIFIER_RULE));
  }

  @Test
  void valuesAreCheckedAgainstTheirAttributes() {
    assertThat(USERS.problemWith(Arrays.asList("de", "premium", 1L)), is((String) null));
    assertThat(USERS.problemWith(Arrays.asList("de", "premium", null)), is((String) null));
    assertThat(USERS.problemWith(List.of("de", "premium")),
        is("has 2 values, expected 3 [country, segment, signup_time]"));
    assertThat(USERS.problemWith(Arrays.asList(null, "premium", 1L)),
        is("attribute country may not be null: a STRING attribute always has a value"));
    assertThat(USERS.problemWith(Arrays.asList("de", "premium", "2024")),
        is("attribute signup_time must be a LONG (Long), got String \"2024\""));
    assertThat(USERS.problemWith(Arrays.asList("de", "premium", 5)),
        is("attribute signup_time must be a LONG (Long), got Integer 5"));
    assertThat(ITEMS.problemWith(Arrays.asList("shoes", "none", Double.POSITIVE_INFINITY)),
        is("attribute price must be a finite number or null, got Infinity"));
    assertThat(ITEMS.problemWith(null), is("has no values"));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Snapshots

  @Test
  void aSnapshotLooksUpKeysAndFallsBackToTheDeclaredDefaults() {
    DimensionSnapshot snapshot =
        DimensionSnapshot.of(USERS, LOADED_AT,
            rows("u1", Arrays.asList("de", "premium", 1_700_000_000_000L), "u2", Arrays.asList("fr", "free", null)));

    assertThat(snapshot.dimension(), is(USERS));
    assertThat(snapshot.loadedAtMillis(), is(LOADED_AT));
    assertThat(snapshot.isLoaded(), is(true));
    assertThat(snapshot.rowCount(), is(2));
    assertThat(snapshot.lookup("u1"), is(Optional.of(Arrays.asList("de", "premium", 1_700_000_000_000L))));
    assertThat(snapshot.lookup("u2"), is(Optional.of(Arrays.asList("fr", "free", null))));
    assertThat(snapshot.lookup("u3"), is(Optional.empty()));
    assertThat(snapshot.lookup(null), is(Optional.empty()));
    assertThat(snapshot.valuesOrDefaults("u3"), is(Arrays.asList("unknown", "unknown", null)));
    assertThat(snapshot.valuesOrDefaults("u2"), is(Arrays.asList("fr", "free", null)));
  }

  @Test
  void anEmptySnapshotWasNeverLoadedUnlikeASnapshotOfAnEmptyTable() {
    DimensionSnapshot never = DimensionSnapshot.empty(ITEMS);
    DimensionSnapshot emptyTable = DimensionSnapshot.of(ITEMS, LOADED_AT, Map.of());

    assertThat(never.isLoaded(), is(false));
    assertThat(never.loadedAtMillis(), is(Long.MIN_VALUE));
    assertThat(never.rowCount(), is(0));
    assertThat(never.lookup("i1"), is(Optional.empty()));
    assertThat(never.toString(), is("DimensionSnapshot(items, never loaded)"));
    assertThat(emptyTable.isLoaded(), is(true));
    assertThat(emptyTable.toString(), is("DimensionSnapshot(items, loaded at 2024-03-01T12:00:00Z, 0 rows)"));
    assertThat(never, not(equalTo(emptyTable)));
  }

  @Test
  void aSnapshotIsAnImmutableCopy() {
    Map<String, List<Object>> rows = rows("i1", Arrays.asList("shoes", "spring", 49.9));
    DimensionSnapshot snapshot = DimensionSnapshot.of(ITEMS, LOADED_AT, rows);
    rows.put("i2", Arrays.asList("hats", "none", null));
    rows.get("i1").set(0, "boots");

    assertThat(snapshot.rowCount(), is(1));
    assertThat(snapshot.lookup("i1"), is(Optional.of(Arrays.asList("shoes", "spring", 49.9))));
    assertThrows(UnsupportedOperationException.class, () -> snapshot.rows().remove("i1"));
    assertThrows(UnsupportedOperationException.class, () -> snapshot.lookup("i1").orElseThrow().set(0, "boots"));
  }

  @Test
  void aSnapshotRefusesRowsThatDoNotFitItsDimension() {
    IllegalArgumentException wrongType =
        assertThrows(IllegalArgumentException.class,
            () -> DimensionSnapshot.of(ITEMS, LOADED_AT, rows("i1", Arrays.asList("shoes", "spring", "49.9"))));
    IllegalArgumentException nullString =
        assertThrows(IllegalArgumentException.class,
            () -> DimensionSnapshot.of(ITEMS, LOADED_AT, rows("i1", Arrays.asList("shoes", null, 49.9))));
    IllegalArgumentException tooShort =
        assertThrows(IllegalArgumentException.class,
            () -> DimensionSnapshot.of(ITEMS, LOADED_AT, rows("i1", List.of("shoes"))));
    IllegalArgumentException never =
        assertThrows(IllegalArgumentException.class,
            () -> DimensionSnapshot.of(ITEMS, DimensionSnapshot.NEVER_LOADED, Map.of()));

    assertThat(wrongType.getMessage(),
        is("dimension items, item_id \"i1\": attribute price must be a DOUBLE (Double), got String \"49.9\""));
    assertThat(nullString.getMessage(),
        is("dimension items, item_id \"i1\": attribute campaign may not be null: a STRING attribute always has a"
            + " value"));
    assertThat(tooShort.getMessage(),
        is("dimension items, item_id \"i1\": has 1 values, expected 3 [category, campaign, price]"));
    assertThat(never.getMessage(),
        is("loadedAtMillis must be when the snapshot was loaded; -9223372036854775808 means never, use empty(...)"));
  }

  @Test
  void snapshotsHaveValueSemanticsAndAReadableString() throws Exception {
    DimensionSnapshot snapshot =
        DimensionSnapshot.of(ITEMS, LOADED_AT,
            rows("i2", Arrays.asList("hats", "none", null), "i1", Arrays.asList("shoes", "spring", 49.9)));
    DimensionSnapshot same =
        DimensionSnapshot.of(ITEMS, LOADED_AT,
            rows("i1", Arrays.asList("shoes", "spring", 49.9), "i2", Arrays.asList("hats", "none", null)));

    assertThat(snapshot, equalTo(same));
    assertThat(snapshot.hashCode(), equalTo(same.hashCode()));
    assertThat(snapshot, not(equalTo(DimensionSnapshot.of(ITEMS, LOADED_AT + 1, same.rows()))));
    assertThat(snapshot.toString(),
        is("DimensionSnapshot(items, loaded at 2024-03-01T12:00:00Z, 2 rows: i1=[shoes, spring, 49.9],"
            + " i2=[hats, none, null])"));
    assertThat(roundTrip(snapshot), equalTo(snapshot));
  }

  @Test
  void aLongSnapshotShowsOnlyItsFirstTenRows() {
    Map<String, List<Object>> rows = new HashMap<>();
    for (int i = 10; i < 22; i++) {
      rows.put("i" + i, Arrays.asList("c", "none", null));
    }

    String text = DimensionSnapshot.of(ITEMS, LOADED_AT, rows).toString();

    assertThat(text,
        is("DimensionSnapshot(items, loaded at 2024-03-01T12:00:00Z, 12 rows: " + java.util.stream.IntStream
            .range(10, 20).mapToObj(i -> "i" + i + "=[c, none, null]").collect(Collectors.joining(", "))
            + ", ...)"));
  }

  private static Map<String, List<Object>> rows(Object... keysAndValues) {
    Map<String, List<Object>> rows = new HashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      @SuppressWarnings("unchecked")
      List<Object> values = (List<Object>) keysAndValues[i + 1];
      rows.put((String) keysAndValues[i], values);
    }
    return rows;
  }

  private static List<String> describe(List<Dimension.Attribute> attributes) {
    return attributes.stream().map(Dimension.Attribute::toString).collect(Collectors.toList());
  }

  private static List<String> columns(FeatureTable table) {
    return table.columns().stream()
        .map((Column c) -> c.name() + " " + c.type() + " " + c.role() + (c.nullable() ? " null" : " not null"))
        .collect(Collectors.toList());
  }

  private static DimensionSnapshot roundTrip(DimensionSnapshot snapshot) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(snapshot);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (DimensionSnapshot) in.readObject();
    }
  }
}
