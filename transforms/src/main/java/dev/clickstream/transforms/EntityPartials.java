package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.Partial;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * An entity's partial aggregates at a time. {@link RollingAggregate} emits one partial per window of the feature,
 * shortest first, as of the entity's latest event ({@link #time()}); {@link TileAggregate} emits the one partial of
 * the tile that starts at {@link #time()}.
 */
public final class EntityPartials {
  private final String entity;
  private final long time;
  private final Partial[] partials;

  public EntityPartials(String entity, long time, Partial... partials) {
    this.entity = requireNonNull(entity, "entity");
    this.time = time;
    this.partials = partials.clone();
  }

  public String entity() {
    return entity;
  }

  public long time() {
    return time;
  }

  public Partial[] partials() {
    return partials.clone();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof EntityPartials)) {
      return false;
    }
    EntityPartials other = (EntityPartials) o;
    return entity.equals(other.entity) && time == other.time && Arrays.equals(partials, other.partials);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * entity.hashCode() + Long.hashCode(time)) + Arrays.hashCode(partials);
  }

  @Override
  public String toString() {
    return entity + "@" + time + Arrays.toString(partials);
  }

  /** A compact, deterministic coder. */
  public static final class Coder extends AtomicCoder<EntityPartials> {
    private static final Coder INSTANCE = new Coder();
    private static final ListCoder<Partial> PARTIALS = ListCoder.of(PartialCoder.of());

    public static Coder of() {
      return INSTANCE;
    }

    @Override
    public void encode(EntityPartials value, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(value.entity, out);
      VarLongCoder.of().encode(value.time, out);
      PARTIALS.encode(Arrays.asList(value.partials), out);
    }

    @Override
    public EntityPartials decode(InputStream in) throws IOException {
      String entity = StringUtf8Coder.of().decode(in);
      long time = VarLongCoder.of().decode(in);
      List<Partial> partials = PARTIALS.decode(in);
      return new EntityPartials(entity, time, partials.toArray(new Partial[0]));
    }

    @Override
    public void verifyDeterministic() {}

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}
