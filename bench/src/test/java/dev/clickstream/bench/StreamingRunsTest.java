package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.runners.GenerateCommand;
import dev.clickstream.runners.UsageException;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench pipeline}'s streaming runs on a few thousand events: the registry's job with every feature, with CTR
 * and rolling counts, and those two in Flink's DataStream API store the rows a plain reading of the generated
 * records gives, the same in all three (the bench compares them row for row); a difference is reported. (Their
 * speed is measured by running the bench, never asserted here.)
 */
class StreamingRunsTest {
  private static final long EVENTS = 3_000;
  private static final int USERS = 200;
  private static final long SPAN_MILLIS = 3_600_000L;

  @Test
  void theThreeStreamingRunsStoreTheSameRowsAsAPlainReadingOfTheRecords(@TempDir Path directory) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    int exit = PipelineBench.run(List.of("--runs=all-stream,counts-stream,native-stream", "--events=" + EVENTS,
        "--users=" + USERS, "--warmup=0"), out);

    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertThat(printed, exit, equalTo(0));
    // The same records again, as JSON lines: one ctr_5min row per user with an impression or a click (its latest
    // window), one click_counts row per user with a click, a dead letter per malformed record.
    Path records = directory.resolve("records.jsonl");
    List<String> generate = new ArrayList<>(StreamingRuns.generatorArgs(EVENTS, USERS, SPAN_MILLIS));
    generate.add("--output=" + records);
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    assertThat(GenerateCommand.run(generate, quiet, quiet), equalTo(0));
    Set<String> usersWithCtrEvents = new HashSet<>();
    Set<String> usersWithClicks = new HashSet<>();
    long malformed = 0;
    ObjectMapper json = new ObjectMapper();
    for (String line : Files.readAllLines(records, StandardCharsets.UTF_8)) {
      JsonNode event = event(json, line);
      if (event == null) {
        malformed++;
        continue;
      }
      String type = event.get("event_type").asText();
      String user = event.get("user_id").asText();
      if (type.equals("impression") || type.equals("click")) {
        usersWithCtrEvents.add(user);
      }
      if (type.equals("click")) {
        usersWithClicks.add(user);
      }
    }
    String stored = String.format(Locale.ROOT, "ctr_5min %,d rows, click_counts %,d rows", usersWithCtrEvents.size(),
        usersWithClicks.size());
    assertThat(printed, occurrences(printed, stored), equalTo(3));
    assertThat(printed, occurrences(printed, String.format(Locale.ROOT, "; %,d dead letters\n", malformed)),
        equalTo(3));
    assertThat(printed, matchesPattern("(?s).*\nratio counts-stream/native-stream: \\d+\\.\\d\\d, the median of"
        + " \\d+\\.\\d\\d; CPU time \\d+\\.\\d\\d \\(\\d+\\.\\d\\d\\)\n.*"));
    assertThat(printed, matchesPattern("(?s).*\nall-stream: [\\d,]+ events/s, the median of [\\d,]+ \\(target 50,000:"
        + " (met|missed)\\); between its first and last click-count rows [\\d,]+ events/s \\([\\d,]+\\); CPU [\\d.]+ s"
        + " \\([\\d.]+\\); the job ended [\\d.]+ s after its last click-count row \\([\\d.]+\\)\n.*"));
    // all-stream wrote every table of the registry; user_sessions has a row per user with any event.
    assertThat(printed, containsString("user_sessions "));
    assertThat(printed, containsString("streaming: the same ctr_5min and click_counts rows and dead letters"));
  }

  @Test
  void aDifferenceFromNativeIsNamedRowByRow() {
    StreamingRuns.Stored nativeRows = stored(List.of(List.of("u1", 10L, 2L), List.of("u2", 20L, 1L)), 5);
    StreamingRuns.Stored same = stored(List.of(List.of("u1", 10L, 2L), List.of("u2", 20L, 1L)), 5);
    StreamingRuns.Stored other = stored(List.of(List.of("u1", 10L, 3L), List.of("u3", 20L, 1L)), 4);

    assertThat(same.difference(nativeRows), nullValue());
    assertThat(other.difference(nativeRows), equalTo(
        "4 dead letters against 5; ctr_5min: 2 rows against 2, 1 missing, 1 extra, 1 different (first [u1, 10, 3]"
            + " against [u1, 10, 2])"));
  }

  @Test
  void theStreamingRunsNeedPostgreSql() {
    UsageException h2 = assertThrows(UsageException.class, () -> PipelineBench.run(
        List.of("--runs=native-stream", "--onlineStore=jdbc:h2:mem:bench"), new PrintStream(OutputStream.nullOutputStream())));

    assertThat(h2.getMessage(), equalTo("bench pipeline: the streaming runs write to PostgreSQL, one schema per run;"
        + " --onlineStore=jdbc:h2:mem:bench is not a jdbc:postgresql:// URL"));
  }

  @Test
  void heldClicksCountTheWindowsAsOfTheLatestClick() {
    NativeStreamingFeatures.HeldClicks clicks = new NativeStreamingFeatures.HeldClicks(1_000);
    for (long time : new long[] {1_000, 400, 1_000, 700, 100, 900, 300, 200, 800, 600, 500}) {
      clicks.add(time);
    }

    // Sorted whatever the order they came in, duplicates kept: [100, 200, ..., 900, 1000, 1000].
    assertThat(clicks.countFrom(1_000), equalTo(2));
    assertThat(clicks.countFrom(950), equalTo(2));
    assertThat(clicks.countFrom(500), equalTo(7));
    assertThat(clicks.countFrom(0), equalTo(11));
    clicks.dropBefore(450);
    assertThat(clicks.countFrom(0), equalTo(7));
    assertThat(clicks.countFrom(900), equalTo(3));
  }

  @Test
  void theSinkUpsertsManyRowsGuardedByTheTablesReplaceRule() {
    assertThat(NativeStreamingFeatures.upsertSql(StreamingRuns.CLICK_COUNTS.precomputedTable(), 2), equalTo(
        "INSERT INTO click_counts AS stored (user_id, event_time, click_count_1_min, click_count_10_min,"
            + " click_count_30_min, click_count_1_hour, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?,"
            + " ?) ON CONFLICT (user_id) DO UPDATE SET event_time = EXCLUDED.event_time, click_count_1_min ="
            + " EXCLUDED.click_count_1_min, click_count_10_min = EXCLUDED.click_count_10_min, click_count_30_min ="
            + " EXCLUDED.click_count_30_min, click_count_1_hour = EXCLUDED.click_count_1_hour, updated_at ="
            + " EXCLUDED.updated_at WHERE EXCLUDED.event_time > stored.event_time OR (EXCLUDED.event_time ="
            + " stored.event_time AND EXCLUDED.click_count_1_hour > stored.click_count_1_hour)"));
  }

  private static StreamingRuns.Stored stored(List<List<Object>> ctrRows, long deadLetters) {
    return new StreamingRuns.Stored(Map.of("ctr_5min", ctrRows), Map.of(), deadLetters, 0, 0);
  }

  /** The record's event, or null for a record the pipelines take as a dead letter. */
  private static JsonNode event(ObjectMapper json, String line) {
    JsonNode event;
    try {
      event = json.readTree(line);
    } catch (Exception e) {
      return null;
    }
    boolean valid = event != null && event.isObject() && event.path("user_id").isTextual()
        && !event.path("user_id").asText().isBlank() && event.path("event_type").isTextual()
        && event.path("timestamp").isIntegralNumber();
    return valid ? event : null;
  }

  private static int occurrences(String text, String part) {
    return text.split(Pattern.quote(part), -1).length - 1;
  }
}
