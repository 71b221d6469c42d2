package dev.clickstream.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** The benches' temporary directories. */
final class Directories {
  private Directories() {}

  /**
   * Deletes {@code directory} and everything in it. Something may still be deleting files in it (Flink discarding a
   * cancelled job's checkpoints), so a file gone meanwhile is fine, and a failed walk is tried again, up to five
   * times.
   */
  static void deleteRecursively(Path directory) throws IOException, InterruptedException {
    for (int attempt = 1; ; attempt++) {
      try (Stream<Path> paths = Files.walk(directory)) {
        for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(path);
        }
        return;
      } catch (NoSuchFileException gone) {
        if (!Files.exists(directory)) {
          return;
        }
      } catch (IOException | UncheckedIOException e) {
        if (attempt == 5) {
          throw e;
        }
      }
      Thread.sleep(200);
    }
  }
}
