package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.startsWith;

import dev.clickstream.runners.Launcher;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.io.UnboundedSource;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;

/**
 * {@code ./clickstream bench state} on a small run: every run applies its clicks and is measured, and a user's state
 * grows with its distinct click times; the source never lets a user's state be cleared; help and usage errors.
 * (Its figures come from running it, never from this test.)
 */
class StateBenchTest {
  /** 2025-11-22T08:26:40Z, the clicks' first time. */
  private static final long START = 1_763_800_000_000L;
  private static final long HOUR_MILLIS = 3_600_000L;
  /**
   * A held partial packed by HeldPartialsCoder is at least its timestamp's difference from the previous one, a flag
   * byte and its count, a byte each.
   */
  private static final int MIN_PARTIAL_BYTES = 3;
  /** What a held partial took as a map entry of its own, before the packing: its key (6 bytes) and value (10). */
  private static final int MAP_ENTRY_BYTES = 6 + 10;

  private final Launcher launcher = new Launcher();

  @Test
  void aUsersStateGrowsWithItsDistinctClickTimes() {
    int exit = launcher.run("bench", "state", "--users=200", "--clicksPerUser=1,20");

    String printed = launcher.stdout();
    assertThat(printed + launcher.stderr(), exit, equalTo(0));
    for (String run : List.of("K=1, 200 users: streaming 200 clicks", "K=1, 100 users: streaming 100 clicks",
        "K=20, 200 users: streaming 4,000 clicks", "K=20, 100 users: streaming 2,000 clicks")) {
      assertThat(printed, containsString(run + " ...\n  checkpoint chk-"));
    }
    long oneClick = savepointBytesPerUser(printed, 1);
    long twentyClicks = savepointBytesPerUser(printed, 20);
    assertThat(twentyClicks, greaterThan(oneClick));
    // Each of the 19 more clicks holds one more partial, packed into fewer bytes than a map entry of its own.
    assertThat(twentyClicks - oneClick, greaterThanOrEqualTo(19L * MIN_PARTIAL_BYTES));
    assertThat(twentyClicks - oneClick, lessThan(19L * MAP_ENTRY_BYTES));
    assertThat(rows(printed, "\\| (1|20) \\| (200|100) \\| ([\\d,]+) \\| chk-\\d+ \\| \\d+ \\| [\\d,]+ \\| \\d+ \\|"
        + " [\\d,]+ \\| [\\d.]+ s \\|"), equalTo(List.of("1 200 200", "1 100 100", "20 200 4,000", "20 100 2,000")));
    assertThat(printed, containsString("A full RocksDB checkpoint is a copy of RocksDB's SST files"));
  }

  /** The canonical savepoint's bytes per user in the table row of {@code clicksPerUser}, which must be there once. */
  private static long savepointBytesPerUser(String printed, int clicksPerUser) {
    Matcher row = Pattern.compile("(?m)^\\| " + clicksPerUser + " \\| 200 and 100 \\| ([\\d,]+) \\| (yes|no)"
        + " \\| -?[\\d,]+ \\|$").matcher(printed);
    assertThat("the row of " + clicksPerUser + " clicks per user in\n" + printed, row.find(), equalTo(true));
    long bytes = Long.parseLong(row.group(1).replace(",", ""));
    assertThat(row.group(2), equalTo(bytes <= 1_024 ? "yes" : "no"));
    assertThat("one row only", row.find(), equalTo(false));
    return bytes;
  }

  private static List<String> rows(String printed, String regex) {
    List<String> rows = new ArrayList<>();
    Matcher row = Pattern.compile("(?m)^" + regex + "$").matcher(printed);
    while (row.find()) {
      rows.add(row.group(1) + " " + row.group(2) + " " + row.group(3));
    }
    return rows;
  }

  @Test
  void theSourceReadsEveryClickOnceInTimeOrderAndItsWatermarkStaysWithinTheHour() throws Exception {
    int users = 7;
    int clicksPerUser = 50;
    long clicks = (long) users * clicksPerUser;
    Set<Long> read = new HashSet<>();
    for (StateBench.ClickIndexSource split :
        new StateBench.ClickIndexSource(0, 1, clicks, users, clicksPerUser).split(2, PipelineOptionsFactory.create())) {
      UnboundedSource.UnboundedReader<Long> reader = split.createReader(PipelineOptionsFactory.create(), null);
      long previousTime = Long.MIN_VALUE;
      for (boolean more = reader.start(); more; more = reader.advance()) {
        long time = reader.getCurrentTimestamp().getMillis();
        assertThat(time, greaterThanOrEqualTo(previousTime));
        assertThat(reader.getWatermark().getMillis(), equalTo(time));
        assertThat(read.add(reader.getCurrent()), equalTo(true));
        previousTime = time;
      }
      assertThat(reader.advance(), equalTo(false));
      // The earliest cleanup time is a user's latest click plus the hour: never passed.
      assertThat(reader.getWatermark().getMillis(), lessThan(START + HOUR_MILLIS));
    }
    assertThat((long) read.size(), equalTo(clicks));

    Set<Long> userTimes = new HashSet<>();
    for (long index = 3; index < clicks; index += users) {
      assertThat(StateBench.click(index, users, clicksPerUser).getUserId().toString(), equalTo("u3"));
      userTimes.add(StateBench.click(index, users, clicksPerUser).getTimestamp());
    }
    assertThat("distinct times", userTimes.size(), equalTo(clicksPerUser));
  }

  @Test
  void largeClicksPerUserRunWithFewerUsers() {
    assertThat(StateBench.usersFor(10_000, 1), equalTo(10_000));
    assertThat(StateBench.usersFor(10_000, 100), equalTo(10_000));
    // 100 users read 100 x 1,000^2 / 2 = 50,000,000 held partials.
    assertThat(StateBench.usersFor(10_000, 1_000), equalTo(100));
    assertThat(StateBench.usersFor(10_000, 10_000), equalTo(StateBench.MIN_USERS));
  }

  @Test
  void helpAndUsageErrors() {
    assertThat(launcher.run("bench", "state", "--help"), equalTo(0));
    assertThat(launcher.stdout(), startsWith("Usage: ./clickstream bench state [options]\n"));
    launcher.clearStdout();
    assertThat(launcher.run("bench", "--help"), equalTo(0));
    assertThat(launcher.stdout(), containsString("Usage: ./clickstream bench state [options]"));
    assertThat(launcher.run("bench", "size"), equalTo(2));
    assertThat(launcher.stderr(), equalTo(
        "error: bench: unknown benchmark 'size'; available: serving, freshness, pipeline, state, correction\n"));

    assertUsageError("bench state: --clicksPerUser takes whole numbers from 1 to 10000, comma-separated; got '0'",
        "--clicksPerUser=0");
    assertUsageError("bench state: --clicksPerUser takes whole numbers from 1 to 10000, comma-separated; got ''",
        "--clicksPerUser=1,,10");
    assertUsageError("bench state: --clicksPerUser takes whole numbers from 1 to 10000, comma-separated; got 'many'",
        "--clicksPerUser=many");
    assertUsageError("bench state: --users=1 must be between 2 and 10000000", "--users=1");
    assertUsageError("bench state: --stateBackend=memory must be rocksdb or hashmap", "--stateBackend=memory");
    launcher.clearStderr();
    assertThat(launcher.run("bench", "state", "--user=10"), equalTo(2));
    assertThat(launcher.stderr(), startsWith("error: bench state: unknown flag --user; allowed: --"));
  }

  private void assertUsageError(String message, String arg) {
    launcher.clearStderr();
    assertThat(launcher.run("bench", "state", arg), equalTo(2));
    assertThat(launcher.stderr(), equalTo("error: " + message + "\n"));
  }
}
