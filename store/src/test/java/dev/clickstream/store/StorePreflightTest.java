package dev.clickstream.store;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;

import org.junit.jupiter.api.Test;

/** Issue 16, item 16: bad store options fail in seconds, saying what to fix. */
class StorePreflightTest {
  @Test
  void aReachableStoreHasNoProblem() {
    assertThat(StorePreflight.problem(StoreFixtures.freshStoreUrl("postgresql")), nullValue());
    assertThat(StorePreflight.problem(StoreFixtures.freshStoreUrl("mariadb")), nullValue());
    assertThat(StorePreflight.problem("jdbc:h2:mem:preflight"), nullValue());
  }

  @Test
  void anUnsupportedUrlSaysWhichAreSupported() {
    String problem = StorePreflight.problem("jdbc:oracle:thin:@db:1521/features");
    assertThat(problem, startsWith("is not supported: "));
    assertThat(problem, containsString("jdbc:postgresql:"));
  }

  @Test
  void aMissingDatabaseFailsInSecondsAndSaysHowToCreateIt() {
    long started = System.nanoTime();
    String postgres = StorePreflight.problem("jdbc:postgresql://127.0.0.1:5432/no_such_db?user=postgres");
    String mariadb = StorePreflight.problem("jdbc:mariadb://127.0.0.1:3306/no_such_db?user=root");

    assertThat(postgres, startsWith("names a database that does not exist ("));
    assertThat(postgres, containsString("create it (PostgreSQL: createdb NAME; MariaDB: CREATE DATABASE NAME)"));
    assertThat(mariadb, startsWith("names a database that does not exist ("));
    assertThat((System.nanoTime() - started) / 1_000_000, lessThan(5_000L));
  }

  @Test
  void anUnknownHostFailsInSecondsWithoutShowingThePassword() {
    long started = System.nanoTime();
    String problem =
        StorePreflight.problem("jdbc:postgresql://no-such-host.invalid:5432/test?user=postgres&password=hunter2");

    assertThat(problem, startsWith("names a host that does not resolve ("));
    assertThat(problem, not(containsString("hunter2")));
    assertThat((System.nanoTime() - started) / 1_000_000, lessThan(10_000L));
  }

  @Test
  void aClosedPortSaysToStartTheDatabase() {
    String problem = StorePreflight.problem("jdbc:postgresql://127.0.0.1:1/test?user=postgres&password=hunter2");

    assertThat(problem, startsWith("cannot be reached: nothing accepts connections at its host and port ("));
    assertThat(problem, containsString("Is the database running?"));
    assertThat(problem, not(containsString("hunter2")));
  }

  @Test
  void aRefusedUserSaysWhereTheCredentialsGo() {
    String problem = StorePreflight.problem("jdbc:mariadb://127.0.0.1:3306/test?user=no_such_user&password=x");

    assertThat(problem, startsWith("refused the user or password ("));
    assertThat(problem, containsString("CLICKSTREAM_STORE_PASSWORD"));
  }
}
