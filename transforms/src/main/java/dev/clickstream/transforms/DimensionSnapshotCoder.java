package dev.clickstream.transforms;

import dev.clickstream.features.Dimension;
import dev.clickstream.features.Dimension.Attribute;
import dev.clickstream.features.DimensionSnapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.BigEndianLongCoder;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * A lean coder for {@link DimensionSnapshot}: the dimension's declaration (name, key, each attribute's name, type
 * and default), the load time, then the rows in key order, each value in its attribute's type with a presence flag
 * where it may be null. No Java serialization, so a snapshot of many rows stays about as small as its values.
 *
 * <p>Rows are written in key order, so equal snapshots encode to equal bytes. Decoding checks every row against the
 * declaration again, as {@link DimensionSnapshot#of} does.
 */
public final class DimensionSnapshotCoder extends AtomicCoder<DimensionSnapshot> {
  private static final DimensionSnapshotCoder INSTANCE = new DimensionSnapshotCoder();

  private static final StringUtf8Coder STRING = StringUtf8Coder.of();
  private static final VarIntCoder COUNT = VarIntCoder.of();

  private DimensionSnapshotCoder() {}

  public static DimensionSnapshotCoder of() {
    return INSTANCE;
  }

  @Override
  public void encode(DimensionSnapshot snapshot, OutputStream out) throws IOException {
    if (snapshot == null) {
      throw new CoderException("cannot encode a null DimensionSnapshot");
    }
    Dimension dimension = snapshot.dimension();
    encodeDimension(dimension, out);
    BigEndianLongCoder.of().encode(snapshot.loadedAtMillis(), out);
    COUNT.encode(snapshot.rowCount(), out);
    List<Attribute> attributes = dimension.attributes();
    for (Map.Entry<String, List<Object>> row : new TreeMap<>(snapshot.rows()).entrySet()) {
      STRING.encode(row.getKey(), out);
      for (int i = 0; i < attributes.size(); i++) {
        encodeValue(attributes.get(i).type(), row.getValue().get(i), out);
      }
    }
  }

  @Override
  public DimensionSnapshot decode(InputStream in) throws IOException {
    Dimension dimension = decodeDimension(in);
    long loadedAt = BigEndianLongCoder.of().decode(in);
    int rowCount = COUNT.decode(in);
    Map<String, List<Object>> rows = new HashMap<>(rowCount * 4 / 3 + 1);
    List<Attribute> attributes = dimension.attributes();
    for (int r = 0; r < rowCount; r++) {
      String key = STRING.decode(in);
      List<Object> values = new ArrayList<>(attributes.size());
      for (Attribute attribute : attributes) {
        values.add(decodeValue(attribute.type(), in));
      }
      rows.put(key, values);
    }
    if (loadedAt == DimensionSnapshot.NEVER_LOADED) {
      return DimensionSnapshot.empty(dimension);
    }
    return DimensionSnapshot.of(dimension, loadedAt, rows);
  }

  /** Keys are written in order, every value in a fixed encoding: equal snapshots give equal bytes. */
  @Override
  public void verifyDeterministic() {}

  @Override
  public boolean consistentWithEquals() {
    return true;
  }

  private static void encodeDimension(Dimension dimension, OutputStream out) throws IOException {
    STRING.encode(dimension.name(), out);
    STRING.encode(dimension.keyColumn(), out);
    COUNT.encode(dimension.attributes().size(), out);
    for (Attribute attribute : dimension.attributes()) {
      STRING.encode(attribute.name(), out);
      COUNT.encode(attribute.type().ordinal(), out);
      encodeValue(attribute.type(), attribute.defaultValue(), out);
    }
  }

  private static Dimension decodeDimension(InputStream in) throws IOException {
    Dimension.Builder builder = Dimension.named(STRING.decode(in)).key(STRING.decode(in));
    int attributes = COUNT.decode(in);
    for (int i = 0; i < attributes; i++) {
      String name = STRING.decode(in);
      int ordinal = COUNT.decode(in);
      if (ordinal < 0 || ordinal >= Dimension.Type.values().length) {
        throw new CoderException("attribute " + name + " has an unknown type ordinal " + ordinal);
      }
      Dimension.Type type = Dimension.Type.values()[ordinal];
      Object defaultValue = decodeValue(type, in);
      switch (type) {
        case STRING:
          builder.stringAttribute(name, (String) defaultValue);
          break;
        case LONG:
          builder.longAttribute(name, (Long) defaultValue);
          break;
        case DOUBLE:
          builder.doubleAttribute(name, (Double) defaultValue);
          break;
        default:
          throw new AssertionError(type);
      }
    }
    return builder.build();
  }

  /** STRING values are never null; LONG and DOUBLE values get a presence flag first. */
  private static void encodeValue(Dimension.Type type, Object value, OutputStream out) throws IOException {
    switch (type) {
      case STRING:
        STRING.encode((String) value, out);
        return;
      case LONG:
        BooleanCoder.of().encode(value != null, out);
        if (value != null) {
          VarLongCoder.of().encode((Long) value, out);
        }
        return;
      case DOUBLE:
        BooleanCoder.of().encode(value != null, out);
        if (value != null) {
          DoubleCoder.of().encode((Double) value, out);
        }
        return;
      default:
        throw new AssertionError(type);
    }
  }

  private static Object decodeValue(Dimension.Type type, InputStream in) throws IOException {
    switch (type) {
      case STRING:
        return STRING.decode(in);
      case LONG:
        return BooleanCoder.of().decode(in) ? VarLongCoder.of().decode(in) : null;
      case DOUBLE:
        return BooleanCoder.of().decode(in) ? DoubleCoder.of().decode(in) : null;
      default:
        throw new AssertionError(type);
    }
  }
}
