package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16, items 8 and 16: {@code run} never prints a credential, and a store it cannot use stops it in seconds
 * with what to fix, before any pipeline starts.
 */
class RunCommandStoreOptionsTest {
  private static final String PASSWORD = "hunter2-do-not-show";

  @TempDir static Path dir;
  private static Path events;

  private final Launcher launcher = new Launcher();

  @BeforeAll
  static void generateEvents() {
    events = dir.resolve("events.jsonl");
    assertThat(new Launcher().run("generate", "--output=" + events, "--events=300", "--users=5"), equalTo(0));
  }

  @Test
  void runPrintsTheStoreWithoutItsPasswordAndStillWritesIt() {
    String store = StoreFixtures.freshStoreUrl("postgresql");

    int exit = launcher.run("run", "ctr", "--runner=DirectRunner", "--input=" + events,
        "--onlineStore=" + store + "&password=" + PASSWORD, "--offlineStore=" + dir.resolve("offline"),
        "--deadLetter=" + dir.resolve("dead.jsonl"));

    assertThat(launcher.stderr(), exit, equalTo(0));
    assertThat(launcher.stdout(),
        startsWith("Running the ctr pipeline on DirectRunner: " + events + " -> " + store + "\n"));
    assertThat(launcher.stdout() + launcher.stderr(), not(containsString(PASSWORD)));
    assertThat(OnlineStore.forUrl(store).read(FeatureTables.CTR_5MIN, "u0").isPresent(), equalTo(true));
  }

  @Test
  void aMissingDatabaseStopsTheRunInSeconds() {
    long started = System.nanoTime();

    int exit = launcher.run("run", "ctr", "--input=" + events,
        "--onlineStore=jdbc:postgresql://127.0.0.1:5432/no_such_db?user=postgres&password=" + PASSWORD);

    assertThat(exit, equalTo(2));
    assertThat(launcher.stderr(), containsString(
        "run ctr: --onlineStore=jdbc:postgresql://127.0.0.1:5432/no_such_db?user=postgres names a"
            + " database that does not exist ("));
    assertThat(launcher.stderr(), not(containsString(PASSWORD)));
    assertThat(launcher.stdout(), not(containsString("Running the ctr pipeline")));
    assertThat((System.nanoTime() - started) / 1_000_000, lessThan(10_000L));
  }

  @Test
  void anUnsupportedUrlOrAnUnknownHostStopsTheRunAtOnce() {
    assertThat(launcher.run("run", "ctr", "--input=" + events, "--onlineStore=jdbc:sqlite:features.db"),
        equalTo(2));
    assertThat(launcher.stderr(), containsString(
        "run ctr: --onlineStore=jdbc:sqlite:features.db is not supported: unsupported online store URL"));

    launcher.clearStderr();
    assertThat(launcher.run("run", "ctr", "--input=" + events,
        "--onlineStore=jdbc:mariadb://no-such-host.invalid:3306/test?user=root"), equalTo(2));
    assertThat(launcher.stderr(), containsString(
        "run ctr: --onlineStore=jdbc:mariadb://no-such-host.invalid:3306/test?user=root names a host that does"
            + " not resolve ("));
  }

  @Test
  void aRefusedPasswordSaysWhereTheCredentialsGo() {
    assertThat(launcher.run("run", "ctr", "--input=" + events,
        "--onlineStore=jdbc:mariadb://127.0.0.1:3306/test?user=no_such_user&password=" + PASSWORD), equalTo(2));
    assertThat(launcher.stderr(), containsString("refused the user or password ("));
    assertThat(launcher.stderr(), not(containsString(PASSWORD)));
    assertThat(List.of(launcher.stderr().split("\n")).size(), lessThan(5));
  }
}
