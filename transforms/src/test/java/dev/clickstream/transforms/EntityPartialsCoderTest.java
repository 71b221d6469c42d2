package dev.clickstream.transforms;

import dev.clickstream.features.Partial;
import java.util.List;
import org.apache.beam.sdk.testing.CoderProperties;
import org.junit.jupiter.api.Test;

/** Rows of partials survive their coder: one partial or several, with and without values. */
class EntityPartialsCoderTest {
  /** 2024-03-01T12:00:00Z. */
  private static final long BASE = 1_709_294_400_000L;

  @Test
  void roundTripsRows() throws Exception {
    List<EntityPartials> rows =
        List.of(
            new EntityPartials("u1", BASE, Partial.of(BASE, null)),
            new EntityPartials(
                "user with spaces and ünïcode", BASE + 60_000,
                Partial.ofCount(1, BASE + 60_000), Partial.ofCount(3, BASE + 60_000), new Partial(),
                Partial.of(BASE, 2.0).add(BASE + 60_000, -7.5)),
            new EntityPartials("u2", -1L));
    for (EntityPartials row : rows) {
      CoderProperties.coderDecodeEncodeEqual(EntityPartials.Coder.of(), row);
      CoderProperties.coderDeterministic(
          EntityPartials.Coder.of(), row, new EntityPartials(row.entity(), row.time(), row.partials()));
    }
    CoderProperties.coderSerializable(EntityPartials.Coder.of());
  }
}
