package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.clickstream.features.Dimension;
import dev.clickstream.features.Dimension.Attribute;
import dev.clickstream.features.DimensionSnapshot;
import dev.clickstream.store.Dialect;
import dev.clickstream.store.DimensionTables;
import dev.clickstream.store.JdbcUrls;
import dev.clickstream.store.OnlineStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.joda.time.Instant;

/**
 * Where a dimension's snapshots come from: each call to {@link #load} reads the whole table as it is now. {@link
 * DimensionSnapshots} calls it once, or once per refresh with the refresh's scheduled time.
 *
 * <p>A load either returns a loaded snapshot or throws; it never returns an empty snapshot for a table it could
 * not read, since every event would then silently get the defaults. Implementations are serialized into the
 * pipeline, so they hold settings (a URL, a directory), not connections.
 *
 * <p>A test can implement it directly, for example returning a different version per {@code impulseTime}.
 */
@FunctionalInterface
public interface SnapshotSource extends Serializable {

  /**
   * Reads the dimension now. {@code impulseTime} is the scheduled time of the refresh (the start of a refresh
   * interval), or the processing time of the load for {@link DimensionSnapshots#loadedOnce}; the snapshot's {@link
   * DimensionSnapshot#loadedAtMillis()} is the processing time the table was actually read.
   */
  DimensionSnapshot load(Instant impulseTime);

  /**
   * The dimension's table in the online store at {@code jdbcUrl} ({@link DimensionTables#load}). A database that
   * cannot be reached, or a missing table, fails the load with a {@link
   * dev.clickstream.store.StoreUnavailableException}.
   */
  static SnapshotSource jdbc(String jdbcUrl, Dimension dimension) {
    return jdbc(jdbcUrl, dimension, ProcessingClock.SYSTEM);
  }

  /** {@link #jdbc(String, Dimension)} stamping loads with {@code clock}, for tests. */
  static SnapshotSource jdbc(String jdbcUrl, Dimension dimension, ProcessingClock clock) {
    return new JdbcSnapshotSource(jdbcUrl, dimension, clock);
  }

  /**
   * The file {@code directory/<dimension name>.jsonl}: UTF-8, one JSON object per line holding the key and any of
   * the attributes, such as {@code {"user_id": "u1", "country": "de", "signup_time": 1700000000000}}. An attribute
   * left out gets the dimension's default; blank lines are skipped.
   *
   * <p>A dimension file is configuration, so anything else fails the load with an {@link IllegalArgumentException}
   * naming the file, the line number and what is wrong: a line that is not one JSON object, a missing or non-string
   * key, a key on two lines, a field that is neither the key nor an attribute, or a value of the wrong type (STRING
   * attributes take strings and never null; LONG attributes whole numbers or null; DOUBLE attributes numbers or
   * null). A missing file fails naming the path that was expected.
   */
  static SnapshotSource file(String directory, Dimension dimension) {
    return file(directory, dimension, ProcessingClock.SYSTEM);
  }

  /** {@link #file(String, Dimension)} stamping loads with {@code clock}, for tests. */
  static SnapshotSource file(String directory, Dimension dimension, ProcessingClock clock) {
    return new FileSnapshotSource(directory, dimension, clock);
  }

  /** Reads {@link Dimension#table()} through the JVM's shared connection pool for the URL. */
  final class JdbcSnapshotSource implements SnapshotSource {
    private static final long serialVersionUID = 1L;

    private final String jdbcUrl;
    private final Dimension dimension;
    private final ProcessingClock clock;

    private JdbcSnapshotSource(String jdbcUrl, Dimension dimension, ProcessingClock clock) {
      // Fails now, naming the supported URLs, rather than on a worker at the first load.
      Dialect.fromJdbcUrl(jdbcUrl);
      this.jdbcUrl = jdbcUrl;
      this.dimension = requireNonNull(dimension, "dimension");
      this.clock = requireNonNull(clock, "clock");
    }

    @Override
    public DimensionSnapshot load(Instant impulseTime) {
      return DimensionTables.load(OnlineStore.forUrl(jdbcUrl), dimension, clock.nowMillis());
    }

    @Override
    public String toString() {
      // Not OnlineStore.redactedUrl(): describing the source must not open a connection pool.
      return "jdbc(" + JdbcUrls.redacted(jdbcUrl) + ", " + dimension.name() + ")";
    }
  }

  /** Parses {@code directory/<name>.jsonl} whole on every load; see {@link SnapshotSource#file}. */
  final class FileSnapshotSource implements SnapshotSource {
    private static final long serialVersionUID = 1L;
    /** Duplicate fields in one object and anything after it on its line are errors, not silently ignored. */
    private static final ObjectReader JSON_LINE =
        new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .readerFor(JsonNode.class)
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final String directory;
    private final Dimension dimension;
    private final ProcessingClock clock;

    private FileSnapshotSource(String directory, Dimension dimension, ProcessingClock clock) {
      this.directory = requireNonNull(directory, "directory");
      this.dimension = requireNonNull(dimension, "dimension");
      this.clock = requireNonNull(clock, "clock");
    }

    /** The file this source reads. */
    public Path path() {
      return Paths.get(directory, dimension.name() + ".jsonl");
    }

    @Override
    public DimensionSnapshot load(Instant impulseTime) {
      Path path = path();
      long loadedAt = clock.nowMillis();
      if (!Files.isRegularFile(path)) {
        throw new IllegalArgumentException(
            "dimension file " + path.toAbsolutePath() + " does not exist: dimension " + dimension.name()
                + " is read from <directory>/" + dimension.name() + ".jsonl, one JSON object per line with "
                + dimension.keyColumn() + " and any of " + dimension.attributeNames());
      }
      Map<String, List<Object>> rows = new HashMap<>();
      Map<String, Integer> lineOfKey = new HashMap<>();
      Set<String> fields = new HashSet<>(dimension.attributeNames());
      fields.add(dimension.keyColumn());
      try (BufferedReader reader = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
        int lineNumber = 0;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
          lineNumber++;
          if (line.isBlank()) {
            continue;
          }
          JsonNode object = parse(path, lineNumber, line);
          String key = key(path, lineNumber, object);
          Integer earlier = lineOfKey.putIfAbsent(key, lineNumber);
          if (earlier != null) {
            throw badLine(path, lineNumber,
                dimension.keyColumn() + " \"" + key + "\" is already on line " + earlier + ": one line per key");
          }
          rows.put(key, values(path, lineNumber, object, fields));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read dimension file " + path.toAbsolutePath() + ": " + e, e);
      }
      return DimensionSnapshot.of(dimension, loadedAt, rows);
    }

    private JsonNode parse(Path path, int lineNumber, String line) {
      JsonNode node;
      try {
        node = JSON_LINE.readValue(line);
      } catch (JsonProcessingException e) {
        throw badLine(path, lineNumber, "not valid JSON: " + e.getOriginalMessage());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (!node.isObject()) {
        throw badLine(path, lineNumber, "expected one JSON object, got " + describe(node));
      }
      return node;
    }

    private String key(Path path, int lineNumber, JsonNode object) {
      JsonNode key = object.get(dimension.keyColumn());
      if (key == null || key.isNull()) {
        throw badLine(path, lineNumber, "missing key " + dimension.keyColumn());
      }
      if (!key.isTextual() || key.textValue().isEmpty()) {
        throw badLine(path, lineNumber,
            "key " + dimension.keyColumn() + " must be a non-empty string, got " + describe(key));
      }
      return key.textValue();
    }

    /** The line's attribute values in attribute order: what it holds, else the default. */
    private List<Object> values(Path path, int lineNumber, JsonNode object, Set<String> allowedFields) {
      for (Iterator<String> fields = object.fieldNames(); fields.hasNext(); ) {
        String field = fields.next();
        if (!allowedFields.contains(field)) {
          throw badLine(path, lineNumber,
              "unknown field " + field + ": dimension " + dimension.name() + " has " + dimension.keyColumn()
                  + " and the attributes " + dimension.attributeNames());
        }
      }
      List<Object> values = new ArrayList<>(dimension.attributes().size());
      for (Attribute attribute : dimension.attributes()) {
        JsonNode value = object.get(attribute.name());
        values.add(value == null ? attribute.defaultValue() : convert(path, lineNumber, attribute, value));
      }
      return values;
    }

    private Object convert(Path path, int lineNumber, Attribute attribute, JsonNode value) {
      if (value.isNull()) {
        if (!attribute.type().nullable()) {
          throw badLine(path, lineNumber,
              attribute.name() + " is null: a STRING attribute may not be null; leave it out to get its default \""
                  + attribute.defaultValue() + "\"");
        }
        return null;
      }
      switch (attribute.type()) {
        case STRING:
          if (value.isTextual()) {
            return value.textValue();
          }
          break;
        case LONG:
          if (value.isIntegralNumber() && value.canConvertToLong()) {
            return value.longValue();
          }
          break;
        case DOUBLE:
          if (value.isNumber() && Double.isFinite(value.doubleValue())) {
            return value.doubleValue();
          }
          break;
        default:
          throw new AssertionError(attribute.type());
      }
      throw badLine(path, lineNumber,
          attribute.name() + " must be " + expected(attribute.type()) + ", got " + describe(value));
    }

    private static String expected(Dimension.Type type) {
      switch (type) {
        case STRING:
          return "a string";
        case LONG:
          return "a whole number that fits a long, or null";
        case DOUBLE:
          return "a finite number or null";
        default:
          throw new AssertionError(type);
      }
    }

    private static String describe(JsonNode node) {
      String kind = node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
      return kind + " " + node;
    }

    private static IllegalArgumentException badLine(Path path, int lineNumber, String problem) {
      return new IllegalArgumentException(
          "dimension file " + path.toAbsolutePath() + ", line " + lineNumber + ": " + problem);
    }

    @Override
    public String toString() {
      return "file(" + path() + ")";
    }
  }
}
