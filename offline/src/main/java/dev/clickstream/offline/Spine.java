package dev.clickstream.offline;

import dev.clickstream.transforms.OfflineFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.schemas.Schema.FieldType;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.avro.AvroSchemaConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetReader;

/**
 * A training set's spine: a CSV file (a header row, then one row per line) or a Parquet file, holding the entity
 * key of every view joined, {@value #TIMESTAMP} (epoch milliseconds) and any other columns, which are passed through.
 *
 * <p>{@link #describe} reads the columns and their types where the job is built: a Parquet file's from its schema
 * (whole numbers, floating point, booleans, strings); a CSV file's by one pass over it, each column the narrowest of
 * whole number, floating point and text that holds every value (an empty field is null). Entity keys are always text,
 * as ids are. {@link #read} then gives each row in file order with its position.
 */
public final class Spine implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The spine's time column: epoch milliseconds. */
  public static final String TIMESTAMP = "timestamp";

  /** Column names that every output format and reader takes as they are. */
  private static final Pattern COLUMN_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  /** A column of the spine. */
  public record Column(String name, FieldType type) implements Serializable {}

  private final String path;
  private final boolean csv;
  private final List<Column> columns;

  private Spine(String path, boolean csv, List<Column> columns) {
    this.path = path;
    this.csv = csv;
    this.columns = List.copyOf(columns);
  }

  /** Whether {@code path} names a CSV file: it ends in {@code .csv}; anything else is read as Parquet. */
  public static boolean isCsv(String path) {
    return path.toLowerCase(Locale.ROOT).endsWith(".csv");
  }

  /**
   * The spine in {@code path}, whose {@code entityFields} (the views' entity keys) and {@value #TIMESTAMP} must be
   * columns.
   *
   * @throws IllegalArgumentException saying what is wrong with the file and what it needs
   */
  public static Spine describe(String path, Collection<String> entityFields) throws IOException {
    Path file = Paths.get(path);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("the spine " + path + " is not a file");
    }
    List<Column> columns = isCsv(path) ? csvColumns(file, entityFields) : parquetColumns(file, entityFields);
    List<String> names = columns.stream().map(Column::name).toList();
    for (String name : names) {
      if (!COLUMN_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("the spine's column '" + name + "' is not a plain name: use letters,"
            + " digits and '_', starting with a letter or '_', so that Parquet and every reader take it as it is");
      }
    }
    List<String> required = new ArrayList<>(entityFields);
    required.add(TIMESTAMP);
    for (String name : required) {
      if (!names.contains(name)) {
        throw new IllegalArgumentException("the spine " + path + " has no column " + name + " (it has " + names
            + "): it needs " + TIMESTAMP + " (epoch ms) and the entity key of every view joined, " + entityFields);
      }
    }
    Column timestamp = columns.get(names.indexOf(TIMESTAMP));
    if (!timestamp.type().equals(FieldType.INT64)) {
      throw new IllegalArgumentException("the spine's " + TIMESTAMP + " must be whole epoch milliseconds, but it is "
          + timestamp.type().getTypeName());
    }
    return new Spine(file.toAbsolutePath().toString(), isCsv(path), columns);
  }

  public String path() {
    return path;
  }

  public List<Column> columns() {
    return columns;
  }

  /** Every row, in file order: values in {@link #columns()} order, typed as described. */
  public void read(Consumer<Object[]> row) throws IOException {
    if (csv) {
      readCsv(row);
    } else {
      readParquet(row);
    }
  }

  private void readCsv(Consumer<Object[]> row) throws IOException {
    try (BufferedReader reader = Files.newBufferedReader(Paths.get(path), StandardCharsets.UTF_8)) {
      List<String> header = CsvLines.split(reader.readLine());
      forEachLine(reader, Paths.get(path), header, (number, fields) -> {
        Object[] values = new Object[columns.size()];
        for (int i = 0; i < values.length; i++) {
          values[i] = parse(fields.get(i), columns.get(i).type());
        }
        if (values[timestampIndex()] == null) {
          throw new IllegalArgumentException(path + " line " + number + " has no " + TIMESTAMP);
        }
        row.accept(values);
      });
    }
  }

  /** What is done with each data line of a CSV file: its number in the file and its fields. */
  private interface CsvLine {
    void accept(long number, List<String> fields);
  }

  /** Every non-empty line after the header, split; a line with another number of fields than the header fails. */
  private static void forEachLine(BufferedReader reader, Path file, List<String> header, CsvLine visit)
      throws IOException {
    String line;
    long number = 1;
    while ((line = reader.readLine()) != null) {
      number++;
      if (line.isEmpty()) {
        continue;
      }
      List<String> fields = CsvLines.split(line);
      if (fields.size() != header.size()) {
        throw new IllegalArgumentException(file + " line " + number + " has " + fields.size() + " fields; the"
            + " header has " + header.size() + " " + header);
      }
      visit.accept(number, fields);
    }
  }

  private void readParquet(Consumer<Object[]> row) throws IOException {
    try (ParquetReader<GenericRecord> reader =
        AvroParquetReader.<GenericRecord>builder(OfflineFiles.input(Paths.get(path)))
            .withDataModel(GenericData.get())
            .build()) {
      long number = 0;
      for (GenericRecord record = reader.read(); record != null; record = reader.read()) {
        number++;
        Object[] values = new Object[columns.size()];
        for (int i = 0; i < values.length; i++) {
          Object value = record.get(columns.get(i).name());
          values[i] = value == null ? null : convert(value, columns.get(i).type());
        }
        if (values[timestampIndex()] == null) {
          throw new IllegalArgumentException(path + " row " + number + " has no " + TIMESTAMP);
        }
        row.accept(values);
      }
    }
  }

  private int timestampIndex() {
    for (int i = 0; i < columns.size(); i++) {
      if (columns.get(i).name().equals(TIMESTAMP)) {
        return i;
      }
    }
    throw new IllegalStateException("no " + TIMESTAMP);
  }

  private static Object convert(Object value, FieldType type) {
    if (type.equals(FieldType.INT64)) {
      return ((Number) value).longValue();
    }
    if (type.equals(FieldType.DOUBLE)) {
      return ((Number) value).doubleValue();
    }
    if (type.equals(FieldType.BOOLEAN)) {
      return value;
    }
    return value.toString();
  }

  private static Object parse(String field, FieldType type) {
    if (field.isEmpty()) {
      return null;
    }
    if (type.equals(FieldType.INT64)) {
      return Long.parseLong(field);
    }
    if (type.equals(FieldType.DOUBLE)) {
      return Double.parseDouble(field);
    }
    return field;
  }

  private static List<Column> csvColumns(Path file, Collection<String> entityFields) throws IOException {
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String header = reader.readLine();
      if (header == null) {
        throw new IllegalArgumentException("the spine " + file + " is empty: it needs a header row");
      }
      List<String> names = CsvLines.split(header.startsWith("\uFEFF") ? header.substring(1) : header);
      // Per column: 0 whole numbers so far, 1 floating point, 2 text.
      int[] kinds = new int[names.size()];
      for (int i = 0; i < names.size(); i++) {
        kinds[i] = entityFields.contains(names.get(i)) ? 2 : 0;
      }
      forEachLine(reader, file, names, (number, fields) -> {
        for (int i = 0; i < kinds.length; i++) {
          kinds[i] = Math.max(kinds[i], kindOf(fields.get(i)));
        }
      });
      List<Column> columns = new ArrayList<>();
      for (int i = 0; i < names.size(); i++) {
        FieldType type = kinds[i] == 0 ? FieldType.INT64 : kinds[i] == 1 ? FieldType.DOUBLE : FieldType.STRING;
        columns.add(new Column(names.get(i), type));
      }
      return columns;
    }
  }

  private static int kindOf(String field) {
    if (field.isEmpty()) {
      return 0;
    }
    try {
      Long.parseLong(field);
      return 0;
    } catch (NumberFormatException notWhole) {
      try {
        Double.parseDouble(field);
        return 1;
      } catch (NumberFormatException notNumber) {
        return 2;
      }
    }
  }

  private static List<Column> parquetColumns(Path file, Collection<String> entityFields) throws IOException {
    Schema schema;
    try (ParquetFileReader reader = ParquetFileReader.open(OfflineFiles.input(file))) {
      schema = new AvroSchemaConverter().convert(reader.getFooter().getFileMetaData().getSchema());
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("the spine " + file + " is not a Parquet file (" + e.getMessage()
          + "); a CSV spine's name ends in .csv", e);
    }
    List<Column> columns = new ArrayList<>();
    for (Schema.Field field : schema.getFields()) {
      Schema type = field.schema();
      if (type.getType() == Schema.Type.UNION) {
        type = type.getTypes().stream().filter(t -> t.getType() != Schema.Type.NULL).findFirst().orElse(type);
      }
      FieldType beamType;
      switch (type.getType()) {
        case INT:
        case LONG:
          beamType = FieldType.INT64;
          break;
        case FLOAT:
        case DOUBLE:
          beamType = FieldType.DOUBLE;
          break;
        case BOOLEAN:
          beamType = FieldType.BOOLEAN;
          break;
        case STRING:
        case ENUM:
          beamType = FieldType.STRING;
          break;
        default:
          throw new IllegalArgumentException("the spine's column " + field.name() + " is " + type.getType()
              + ": a spine holds numbers, booleans and strings");
      }
      if (entityFields.contains(field.name()) && !beamType.equals(FieldType.STRING)) {
        throw new IllegalArgumentException("the spine's " + field.name() + " is an entity key and must be a string,"
            + " as ids are; it is " + type.getType());
      }
      columns.add(new Column(field.name(), beamType));
    }
    return columns;
  }
}
