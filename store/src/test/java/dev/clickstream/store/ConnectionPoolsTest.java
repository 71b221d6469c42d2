package dev.clickstream.store;

import dev.clickstream.features.FeatureTables;
import static dev.clickstream.features.FeatureTables.CTR_5MIN;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.sameInstance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ConnectionPools}: one pool per URL, embedded H2 stores in directories that do not exist yet, and the driver
 * options MariaDB URLs always get.
 */
class ConnectionPoolsTest {
  private static final long T0 = 1_704_067_200_000L;

  @TempDir Path tempDir;

  @AfterEach
  void closePools() {
    // Closing the last connection closes the H2 file, so the temporary directory can be deleted.
    ConnectionPools.closeAll();
  }

  @Test
  void anH2FileStoreGetsItsDirectoryCreated() throws SQLException {
    Path directory = tempDir.resolve("not/yet/there");
    String url = "jdbc:h2:file:" + directory.resolve("online-store");

    assertFileStoreWorks(url, directory);
  }

  @Test
  void anH2FileStoreWithoutTheFilePrefixAndWithSettingsGetsItsDirectoryCreated() throws SQLException {
    Path directory = tempDir.resolve("plain");
    String url = "jdbc:h2:" + directory.resolve("online-store") + ";DB_CLOSE_ON_EXIT=FALSE";

    assertFileStoreWorks(url, directory);
  }

  /** H2 reads a leading {@code ~} as the user's home directory; the directory must be made there, not in ./~ . */
  @Test
  void anH2FileStoreUnderTheHomeDirectoryGetsItsDirectoryCreatedThere() throws Exception {
    String name = "clickstream-test-" + UUID.randomUUID();
    Path home = Path.of(System.getProperty("user.home"));
    Path directory = home.resolve(name).resolve("store");
    try {
      assertFileStoreWorks("jdbc:h2:~/" + name + "/store/online-store", directory);
      assertThat(Files.exists(Path.of("~")), is(false));
    } finally {
      ConnectionPools.closeAll();
      deleteRecursively(home.resolve(name));
      deleteRecursively(Path.of("~", name));
      Files.deleteIfExists(Path.of("~")); // only if empty: nothing else of ours, or anyone's, is in it
    }
  }

  @Test
  void theSameUrlSharesOnePool() {
    String url = StoreFixtures.freshH2Url();

    assertThat(ConnectionPools.get(url), is(sameInstance(ConnectionPools.get(url))));
  }

  @Test
  void h2UrlsReachTheDriverAsGiven() {
    String h2 = "jdbc:h2:mem:x;DB_CLOSE_DELAY=-1";

    assertThat(ConnectionPools.driverUrl(h2), is(h2));
  }

  @Test
  void mariadbUrlsGetTheOptionsExactCountsNeedAndTimeouts() {
    assertThat(ConnectionPools.driverUrl("jdbc:mariadb://db:3306/features"),
        is("jdbc:mariadb://db:3306/features?" + MARIADB_TIMEOUTS + "&" + OPTIONS));
    assertThat(ConnectionPools.driverUrl("jdbc:mariadb://db/features?user=app&password=s3cr3t"),
        is("jdbc:mariadb://db/features?user=app&password=s3cr3t&" + MARIADB_TIMEOUTS + "&" + OPTIONS));
    assertThat(ConnectionPools.driverUrl("jdbc:mysql://db:3306/features?user=app"),
        is("jdbc:mysql://db:3306/features?user=app&" + MARIADB_TIMEOUTS + "&" + OPTIONS));
  }

  /**
   * Options the counts depend on are replaced, whatever their case or value; the others are kept in order, and a
   * timeout the URL sets is kept instead of ours.
   */
  @Test
  void mariadbUrlsCannotTurnThoseOptionsOff() {
    assertThat(
        ConnectionPools.driverUrl(
            "jdbc:mysql://db/f?useBulkStmts=true&user=app&USEAFFECTEDROWS=false&permitMysqlScheme=x&connectTimeout=5"),
        is("jdbc:mysql://db/f?user=app&connectTimeout=5&socketTimeout=60000&" + OPTIONS));
  }

  /** pgjdbc counts its timeouts in seconds; a URL's own timeouts win, in any case. */
  @Test
  void postgresqlUrlsGetTimeoutsUnlessTheySetTheirOwn() {
    assertThat(ConnectionPools.driverUrl("jdbc:postgresql://db:5432/features?user=app&password=s3cr3t"),
        is("jdbc:postgresql://db:5432/features?user=app&password=s3cr3t&connectTimeout=10&socketTimeout=60"
            + "&reWriteBatchedInserts=false"));
    assertThat(ConnectionPools.driverUrl("jdbc:postgresql://db/features?SocketTimeout=300"),
        is("jdbc:postgresql://db/features?SocketTimeout=300&connectTimeout=10&reWriteBatchedInserts=false"));
  }

  /** With it on, pgjdbc folds a batch into multi-row INSERTs, which fail on a key the batch holds twice. */
  @Test
  void postgresqlUrlsCannotTurnOnRewrittenBatches() {
    assertThat(ConnectionPools.driverUrl("jdbc:postgresql://db/f?reWriteBatchedInserts=true&user=app"),
        is("jdbc:postgresql://db/f?user=app&connectTimeout=10&socketTimeout=60&reWriteBatchedInserts=false"));
  }

  private static final String OPTIONS =
      "permitMysqlScheme&useAffectedRows=true&useBulkStmts=false&useBulkStmtsForInserts=false";
  private static final String MARIADB_TIMEOUTS = "connectTimeout=10000&socketTimeout=60000";

  private static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(path)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.delete(p);
      }
    }
  }

  private static void assertFileStoreWorks(String url, Path directory) throws SQLException {
    assertThat(Files.exists(directory), is(false));

    OnlineStore store = OnlineStore.forUrl(url);
    store.ensureTable(CTR_5MIN);
    int applied = store.upsert(CTR_5MIN, List.<Object[]>of(new Object[] {"u1", T0, T0 + 300_000, 4L, 1L, 0.25, T0}));

    assertThat(Files.isDirectory(directory), is(true));
    assertThat(Files.exists(directory.resolve("online-store.mv.db")), is(true));
    assertThat(applied, is(1));
    assertThat(store.read(CTR_5MIN, "u1").map(Map::values).map(List::copyOf),
        is(Optional.of(List.<Object>of("u1", T0, T0 + 300_000, 4L, 1L, 0.25, T0))));
  }
}
