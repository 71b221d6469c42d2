package dev.clickstream.transforms;

import java.io.Serializable;

/** Where {@code updated_at} comes from: the system clock, or a fixed one in tests. */
@FunctionalInterface
public interface ProcessingClock extends Serializable {
  ProcessingClock SYSTEM = System::currentTimeMillis;

  long nowMillis();
}
