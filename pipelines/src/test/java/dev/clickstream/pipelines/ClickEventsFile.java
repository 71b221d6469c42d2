package dev.clickstream.pipelines;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * A shuffled events file for click-count tests, and the click counts computed from it in plain Java: per user,
 * the clicks with a timestamp in {@code [asOf - W, asOf]}.
 */
final class ClickEventsFile {
  static final long START = 1_763_800_000_000L;
  static final long MINUTE = 60_000L;
  static final long[] WINDOWS = {MINUTE, 10 * MINUTE, 30 * MINUTE, 60 * MINUTE};

  /** user -> sorted click timestamps (repeated for clicks in the same millisecond). */
  final Map<String, List<Long>> clicksByUser = new TreeMap<>();
  final Path path;
  final int malformed;

  /**
   * {@code events} records for {@code users} users over {@code spanMinutes}: about half clicks, the rest
   * impressions and other types, some in the same millisecond, 2% malformed, in shuffled order.
   */
  ClickEventsFile(Path path, long seed, int events, int users, int spanMinutes) throws IOException {
    this.path = path;
    Random random = new Random(seed);
    List<String> lines = new ArrayList<>();
    int malformedLines = 0;
    long previous = START;
    for (int i = 0; i < events; i++) {
      String user = "u" + random.nextInt(users);
      // One in ten shares the previous event's millisecond.
      long timestamp =
          random.nextInt(10) == 0 ? previous : START + (long) (random.nextDouble() * spanMinutes * MINUTE);
      previous = timestamp;
      if (random.nextInt(50) == 0) {
        lines.add("{\"event_id\":\"e" + i + "\",\"user_id\":");
        malformedLines++;
        continue;
      }
      int kind = random.nextInt(10);
      String type = kind < 5 ? "click" : kind < 9 ? "impression" : "page_view";
      if (type.equals("click")) {
        clicksByUser.computeIfAbsent(user, u -> new ArrayList<>()).add(timestamp);
      }
      lines.add(CtrFeatureTest.event("e" + i, user, type, timestamp));
    }
    clicksByUser.values().forEach(Collections::sort);
    Collections.shuffle(lines, random);
    Files.write(path, lines, StandardCharsets.UTF_8);
    this.malformed = malformedLines;
  }

  long latestClick(String user) {
    List<Long> clicks = clicksByUser.get(user);
    return clicks.get(clicks.size() - 1);
  }

  /** The user's clicks in {@code [asOf - W, asOf]} for each window, shortest first. */
  List<Long> countsAsOf(String user, long asOf) {
    List<Long> counts = new ArrayList<>();
    for (long window : WINDOWS) {
      counts.add(clicksByUser.getOrDefault(user, List.of()).stream()
          .filter(t -> t >= asOf - window && t <= asOf)
          .count());
    }
    return counts;
  }

  /** The user's clicks in {@code [end - W, end)} for each window, shortest first: a hopping window ending at end. */
  List<Long> countsBefore(String user, long end) {
    List<Long> counts = new ArrayList<>();
    for (long window : WINDOWS) {
      counts.add(clicksByUser.getOrDefault(user, List.of()).stream()
          .filter(t -> t >= end - window && t < end)
          .count());
    }
    return counts;
  }
}
