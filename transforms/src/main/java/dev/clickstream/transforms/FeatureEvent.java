package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * One event as a windowed aggregation feature reads it: its id, the entity it belongs to, its time (epoch
 * milliseconds) and, for features that aggregate values, its value (null when the event has none).
 */
public final class FeatureEvent {
  private final String eventId;
  private final String entity;
  private final long timestamp;
  private final Double value;

  public FeatureEvent(String eventId, String entity, long timestamp, Double value) {
    this.eventId = requireNonNull(eventId, "eventId");
    this.entity = requireNonNull(entity, "entity");
    this.timestamp = timestamp;
    this.value = value;
  }

  public String eventId() {
    return eventId;
  }

  public String entity() {
    return entity;
  }

  public long timestamp() {
    return timestamp;
  }

  /** The event's value, or null. */
  public Double value() {
    return value;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof FeatureEvent)) {
      return false;
    }
    FeatureEvent other = (FeatureEvent) o;
    return eventId.equals(other.eventId) && entity.equals(other.entity) && timestamp == other.timestamp
        && Objects.equals(value, other.value);
  }

  @Override
  public int hashCode() {
    return Objects.hash(eventId, entity, timestamp, value);
  }

  @Override
  public String toString() {
    return eventId + "(" + entity + " @" + timestamp + (value == null ? "" : " = " + value) + ")";
  }

  /** A compact, deterministic coder. */
  public static final class Coder extends AtomicCoder<FeatureEvent> {
    private static final Coder INSTANCE = new Coder();
    private static final NullableCoder<Double> VALUE = NullableCoder.of(DoubleCoder.of());

    public static Coder of() {
      return INSTANCE;
    }

    @Override
    public void encode(FeatureEvent event, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(event.eventId, out);
      StringUtf8Coder.of().encode(event.entity, out);
      VarLongCoder.of().encode(event.timestamp, out);
      VALUE.encode(event.value, out);
    }

    @Override
    public FeatureEvent decode(InputStream in) throws IOException {
      return new FeatureEvent(
          StringUtf8Coder.of().decode(in),
          StringUtf8Coder.of().decode(in),
          VarLongCoder.of().decode(in),
          VALUE.decode(in));
    }

    @Override
    public void verifyDeterministic() {}

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}
