package dev.clickstream.transforms;

import static dev.clickstream.features.DimensionDefinitions.ITEMS;
import static dev.clickstream.features.DimensionDefinitions.USERS;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.DimensionSnapshot;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.DimensionTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.util.SerializableUtils;
import org.joda.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link SnapshotSource}: a dimension file parses to an exact snapshot with defaults for what it leaves out, every
 * kind of bad line fails naming the file, the line and the problem, a missing file names the path expected; the JDBC
 * source reads what {@link DimensionTables#write} wrote.
 */
class SnapshotSourceTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long NOW = 1_709_294_400_000L;
  private static final ProcessingClock FIXED_CLOCK = () -> NOW;
  private static final Instant IMPULSE = new Instant(NOW - 5_000);

  @TempDir Path directory;

  @AfterEach
  void closePools() {
    ConnectionPools.closeAll();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Files

  @Test
  void aFileLoadsAsAnExactSnapshotWithDefaultsForWhatALineLeavesOut() throws IOException {
    write("users.jsonl",
        "{\"user_id\": \"u1\", \"country\": \"de\", \"segment\": \"premium\", \"signup_time\": 1700000000000}",
        "",
        "{\"user_id\": \"u2\", \"country\": \"fr\"}",
        "  {\"segment\": \"free\", \"user_id\": \"u3\", \"signup_time\": null}  ",
        "{\"user_id\": \"u4\", \"signup_time\": -1}");

    DimensionSnapshot snapshot = SnapshotSource.file(directory.toString(), USERS, FIXED_CLOCK).load(IMPULSE);

    assertThat(snapshot, is(DimensionSnapshot.of(USERS, NOW, rows(
        "u1", Arrays.asList("de", "premium", 1_700_000_000_000L),
        "u2", Arrays.asList("fr", "unknown", null),
        "u3", Arrays.asList("unknown", "free", null),
        "u4", Arrays.asList("unknown", "unknown", -1L)))));
  }

  @Test
  void doublesTakeAnyNumberAndAnEmptyFileIsALoadedSnapshotWithoutRows() throws IOException {
    write("items.jsonl",
        "{\"item_id\": \"i1\", \"category\": \"shoes\", \"campaign\": \"spring\", \"price\": 49.95}",
        "{\"item_id\": \"i2\", \"price\": 12}",
        "{\"item_id\": \"i3\", \"category\": \"h\u00fcte\", \"price\": 1e2}");
    Path empty = Files.createDirectory(directory.resolve("empty"));
    Files.writeString(empty.resolve("items.jsonl"), "\n");

    assertThat(SnapshotSource.file(directory.toString(), ITEMS, FIXED_CLOCK).load(IMPULSE),
        is(DimensionSnapshot.of(ITEMS, NOW, rows(
            "i1", Arrays.asList("shoes", "spring", 49.95),
            "i2", Arrays.asList("unknown", "none", 12.0),
            "i3", Arrays.asList("h\u00fcte", "none", 100.0)))));
    assertThat(SnapshotSource.file(empty.toString(), ITEMS, FIXED_CLOCK).load(IMPULSE),
        is(DimensionSnapshot.of(ITEMS, NOW, Map.of())));
  }

  @Test
  void eachLoadReadsTheFileAgain() throws IOException {
    SnapshotSource source = SnapshotSource.file(directory.toString(), ITEMS, FIXED_CLOCK);
    write("items.jsonl", "{\"item_id\": \"i1\", \"category\": \"shoes\"}");
    DimensionSnapshot first = source.load(IMPULSE);
    write("items.jsonl", "{\"item_id\": \"i1\", \"category\": \"boots\"}");

    assertThat(first.lookup("i1").orElseThrow(), is(Arrays.asList("shoes", "none", null)));
    assertThat(source.load(IMPULSE).lookup("i1").orElseThrow(), is(Arrays.asList("boots", "none", null)));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "not an object | [1, 2] | expected one JSON object, got array [1,2]",
        "a bare string | `\"u9\"` | expected one JSON object, got string \"u9\"",
        "two objects on one line | {\"user_id\": \"u9\"} {\"user_id\": \"u8\"} | not valid JSON: Trailing token",
        "missing key | {\"country\": \"de\"} | missing key user_id",
        "null key | {\"user_id\": null} | missing key user_id",
        "numeric key | {\"user_id\": 42} | key user_id must be a non-empty string, got number 42",
        "empty key | `{\"user_id\": \"\"}` | key user_id must be a non-empty string, got string \"\"",
        "string for a long | {\"user_id\": \"u9\", \"signup_time\": \"2024\"}"
            + " | signup_time must be a whole number that fits a long, or null, got string \"2024\"",
        "fraction for a long | {\"user_id\": \"u9\", \"signup_time\": 1.5}"
            + " | signup_time must be a whole number that fits a long, or null, got number 1.5",
        "too big for a long | {\"user_id\": \"u9\", \"signup_time\": 92233720368547758070}"
            + " | signup_time must be a whole number that fits a long, or null, got number 92233720368547758070",
        "number for a string | {\"user_id\": \"u9\", \"country\": 49}"
            + " | country must be a string, got number 49",
        "null for a string | {\"user_id\": \"u9\", \"segment\": null}"
            + " | segment is null: a STRING attribute may not be null; leave it out to get its default \"unknown\"",
        "unknown field | {\"user_id\": \"u9\", \"contry\": \"de\"}"
            + " | unknown field contry: dimension users has user_id and the attributes [country, segment,"
            + " signup_time]",
        "duplicate field | {\"user_id\": \"u9\", \"country\": \"de\", \"country\": \"fr\"}"
            + " | not valid JSON: Duplicate field 'country'",
      })
  void aBadLineFailsTheLoadNamingTheFileTheLineAndTheProblem(String name, String line, String problem)
      throws IOException {
    Path file = write("users.jsonl", "{\"user_id\": \"u1\", \"country\": \"de\"}", "", line.strip());

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> SnapshotSource.file(directory.toString(), USERS, FIXED_CLOCK).load(IMPULSE));

    assertThat(e.getMessage(), startsWith("dimension file " + file.toAbsolutePath() + ", line 3: " + problem));
  }

  @Test
  void malformedJsonFailsNamingTheLine() throws IOException {
    Path file = write("users.jsonl", "{\"user_id\": \"u1\"}", "{\"user_id\": \"u2\", country: \"de\"}");

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> SnapshotSource.file(directory.toString(), USERS, FIXED_CLOCK).load(IMPULSE));

    assertThat(e.getMessage(),
        is("dimension file " + file.toAbsolutePath() + ", line 2: not valid JSON: Unexpected character ('c' (code"
            + " 99)): was expecting double-quote to start field name"));
  }

  @Test
  void aKeyOnTwoLinesFailsNamingBoth() throws IOException {
    Path file =
        write("items.jsonl", "{\"item_id\": \"i1\"}", "{\"item_id\": \"i2\"}", "{\"item_id\": \"i1\", \"price\": 2}");

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> SnapshotSource.file(directory.toString(), ITEMS, FIXED_CLOCK).load(IMPULSE));

    assertThat(e.getMessage(),
        is("dimension file " + file.toAbsolutePath() + ", line 3: item_id \"i1\" is already on line 1: one line"
            + " per key"));
  }

  @Test
  void aMissingFileFailsNamingThePathExpected() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> SnapshotSource.file(directory.toString(), ITEMS, FIXED_CLOCK).load(IMPULSE));

    assertThat(e.getMessage(),
        is("dimension file " + directory.resolve("items.jsonl").toAbsolutePath() + " does not exist: dimension"
            + " items is read from <directory>/items.jsonl, one JSON object per line with item_id and any of"
            + " [category, campaign, price]"));
  }

  @Test
  void aFileSourceSurvivesSerializationAndSaysWhatItReads() throws IOException {
    write("items.jsonl", "{\"item_id\": \"i1\", \"category\": \"shoes\"}");
    SnapshotSource source = SnapshotSource.file(directory.toString(), ITEMS, FIXED_CLOCK);

    SnapshotSource copy = SerializableUtils.clone(source);

    assertThat(copy.load(IMPULSE), is(source.load(IMPULSE)));
    assertThat(source.toString(), is("file(" + directory.resolve("items.jsonl") + ")"));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // JDBC

  @Test
  void theJdbcSourceLoadsTheDimensionTable() throws Exception {
    String url = StoreFixtures.freshH2Url();
    DimensionTables.write(OnlineStore.forUrl(url), USERS, List.of(
        new Object[] {"u1", "de", "premium", 1_700_000_000_000L},
        new Object[] {"u2", "fr", "free", null}));

    DimensionSnapshot snapshot = SerializableUtils.clone(SnapshotSource.jdbc(url, USERS, FIXED_CLOCK)).load(IMPULSE);

    assertThat(snapshot, is(DimensionSnapshot.of(USERS, NOW, rows(
        "u1", Arrays.asList("de", "premium", 1_700_000_000_000L),
        "u2", Arrays.asList("fr", "free", null)))));
  }

  @Test
  void theJdbcSourceLoadsAMissingTableAsEmptyAndHidesThePassword() {
    String url = StoreFixtures.freshH2Url();
    SnapshotSource source = SnapshotSource.jdbc(url + ";password=secret", ITEMS, FIXED_CLOCK);

    assertThat(source.load(IMPULSE), is(DimensionSnapshot.of(ITEMS, NOW, Map.of())));
    assertThat(source.toString(), is("jdbc(" + url + ";password=***, items)"));
  }

  @Test
  void theJdbcSourceRefusesAnUnsupportedUrlWhenMade() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SnapshotSource.jdbc("jdbc:oracle:thin:@db", USERS));

    assertThat(e.getMessage(), startsWith("unsupported online store URL 'jdbc:oracle:thin:@db': use jdbc:h2:"));
  }

  private Path write(String name, String... lines) throws IOException {
    Path file = directory.resolve(name);
    Files.write(file, List.of(lines), StandardCharsets.UTF_8);
    return file;
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
}
