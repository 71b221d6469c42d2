package dev.clickstream.store;

import dev.clickstream.features.FeatureTables;
import static dev.clickstream.features.FeatureTables.CTR_5MIN;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.startsWith;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link OnlineStore} when the database goes away under an open connection: the local PostgreSQL and MariaDB behind
 * a {@link TcpProxy} that is cut and restored, so the shared servers keep running.
 */
class OnlineStoreOutageTest {
  private static final long T0 = 1_704_067_200_000L;
  private static final long FIVE_MINUTES = 300_000L;
  /** {@link ConnectionPools}' maximum pool size: how many broken connections a pool can hold. */
  private static final int POOL_SIZE = 8;

  @AfterEach
  void closePools() {
    ConnectionPools.closeAll();
  }

  /**
   * The write fails with a connection error (SQLState class 08): not a NullPointerException from the write-conflict
   * check over the pool's state-less "Connection is closed" of the rollback after it, nor pgjdbc's AssertionError
   * under {@code -ea}. Once the database is back, writes retried at once succeed before the pool runs out of broken
   * connections to hand out: each is evicted on its first failure, none is reused.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void anUpsertOnABrokenConnectionFailsWithAConnectionErrorAndBrokenConnectionsAreEvicted(String dialect)
      throws Exception {
    String direct = StoreFixtures.freshStoreUrl(dialect);
    try (TcpProxy proxy = TcpProxy.toServerOf(direct, dialect.equals("postgresql") ? 5432 : 3306)) {
      OnlineStore store = OnlineStore.forUrl(proxy.rewrite(direct));
      store.ensureTable(CTR_5MIN);
      int beforeCut = store.upsert(CTR_5MIN, List.<Object[]>of(row("u1", 4)));

      proxy.cut();
      SQLException broken = assertThrows(SQLException.class, () -> store.upsert(CTR_5MIN, List.<Object[]>of(row("u2", 2))));
      proxy.restore();
      List<String> failedStatesAfterRestore = upsertRetryingAtOnce(store, row("u2", 2));

      assertThat(broken.getSQLState(), startsWith("08"));
      assertThat(beforeCut, equalTo(1));
      assertThat(failedStatesAfterRestore, everyItem(startsWith("08")));
      assertThat(store.readTable(CTR_5MIN), equalTo(List.of(stored("u1", 4), stored("u2", 2))));
    }
  }

  /**
   * A database that stops answering (a frozen peer: connections stay open, nothing comes back) fails a read and a
   * write within the driver's socket timeout, 1 s here instead of the default {@value
   * ConnectionPools#SOCKET_TIMEOUT_MS} ms, as a connection failure (SQLState class 08), which the writers retry.
   * Without a socket timeout both would wait until TCP gives up, about 15 minutes.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb"})
  void aFrozenDatabaseFailsReadsAndWritesWithinTheSocketTimeout(String dialect) throws Exception {
    String direct = StoreFixtures.freshStoreUrl(dialect);
    // The pool is closed after the proxy, whose close breaks the connection the pool is still trying to open.
    TcpProxy proxy = TcpProxy.toServerOf(direct, dialect.equals("postgresql") ? 5432 : 3306);
    try (HikariDataSource pool = ConnectionPools.open(proxy.rewrite(direct), 1_000); proxy) {
      // The pool's wait for a new connection (which the frozen peer never lets open) is as short, too.
      pool.getHikariConfigMXBean().setConnectionTimeout(1_000);
      pool.getHikariConfigMXBean().setValidationTimeout(500);
      OnlineStore store = new OnlineStore(proxy.rewrite(direct), pool, Dialect.fromJdbcUrl(direct));
      store.ensureTable(CTR_5MIN);
      store.upsert(CTR_5MIN, List.<Object[]>of(row("u1", 4)));

      proxy.freeze();
      long started = System.nanoTime();
      StoreUnavailableException read =
          assertTimeoutPreemptively(
              Duration.ofSeconds(10),
              () -> assertThrows(StoreUnavailableException.class, () -> store.read(CTR_5MIN, "u1")));
      SQLException write =
          assertTimeoutPreemptively(
              Duration.ofSeconds(10),
              () -> assertThrows(SQLException.class, () -> store.upsert(CTR_5MIN, List.<Object[]>of(row("u2", 2)))));
      long elapsedMillis = (System.nanoTime() - started) / 1_000_000;

      // The read held the frozen connection; the write waited for a new one, which the frozen peer never opens.
      assertThat(((SQLException) read.getCause()).getSQLState(), startsWith("08"));
      assertThat(write, instanceOf(SQLTransientConnectionException.class));
      // Each call: the socket timeout on the connection it holds, or the pool's wait for a new one.
      assertThat(elapsedMillis, lessThan(5_000L));
    }
  }

  @Test
  void theProxyRewritesOnlyTheHostAndPort() throws Exception {
    try (TcpProxy proxy = TcpProxy.to("127.0.0.1", 5432)) {
      assertThat(
          proxy.rewrite("jdbc:postgresql://127.0.0.1:5432/test?user=postgres&currentSchema=t_1"),
          equalTo("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/test?user=postgres&currentSchema=t_1"));
      assertThat(
          proxy.rewrite("jdbc:mariadb://db/t_1?user=root"),
          equalTo("jdbc:mariadb://127.0.0.1:" + proxy.port() + "/t_1?user=root"));
    }
  }

  /**
   * Upserts {@code row}, trying again at once after each failure, at most {@link #POOL_SIZE} + 1 times: enough when
   * every broken connection in the pool is evicted on its failure. Returns the SQLStates of the failures.
   */
  private static List<String> upsertRetryingAtOnce(OnlineStore store, Object[] row) {
    List<String> failedStates = new ArrayList<>();
    for (int attempt = 1; attempt <= POOL_SIZE + 1; attempt++) {
      try {
        store.upsert(CTR_5MIN, List.<Object[]>of(row));
        return failedStates;
      } catch (SQLException e) {
        failedStates.add(e.getSQLState());
      }
    }
    throw new AssertionError("still failing after " + (POOL_SIZE + 1) + " attempts: " + failedStates);
  }

  private static Object[] row(String user, long impressions) {
    return new Object[] {user, T0, T0 + FIVE_MINUTES, impressions, 1L, 1.0 / impressions, T0};
  }

  private static Map<String, Object> stored(String user, long impressions) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("user_id", user);
    row.put("window_start", T0);
    row.put("window_end", T0 + FIVE_MINUTES);
    row.put("impressions", impressions);
    row.put("clicks", 1L);
    row.put("ctr", 1.0 / impressions);
    row.put("updated_at", T0);
    return row;
  }
}
