package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.schemas.DeadLetter;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Writes dead letters as JSON lines ({@link DeadLetters#toJson}) to one file at a given path, for bounded input.
 * The file is written even when there are no dead letters, so an empty file means none.
 */
public final class WriteDeadLetters extends PTransform<PCollection<DeadLetter>, PDone> {
  private final String path;

  private WriteDeadLetters(String path) {
    this.path = path;
  }

  public static WriteDeadLetters toFile(String path) {
    requireNonNull(path, "path");
    if (path.isBlank()) {
      throw new IllegalArgumentException("dead-letter path must not be blank");
    }
    return new WriteDeadLetters(path);
  }

  @Override
  public PDone expand(PCollection<DeadLetter> deadLetters) {
    return deadLetters
        .apply("FormatAsJson", MapElements.into(TypeDescriptors.strings()).via(DeadLetters::toJson))
        .apply("WriteJsonLines", TextIO.write().to(path).withoutSharding());
  }
}
