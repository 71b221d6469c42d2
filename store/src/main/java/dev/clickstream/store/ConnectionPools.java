package dev.clickstream.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One connection pool per JDBC URL per JVM. Pipelines create many DoFn instances per worker; they all share the
 * pool here instead of each opening its own connections.
 */
public final class ConnectionPools {
  private static final int MAX_POOL_SIZE = 8;
  private static final long CONNECTION_TIMEOUT_MS = 10_000;
  private static final Pattern H2_FILE = Pattern.compile("^jdbc:h2:(?:file:)?([^;:][^;]*)(;.*)?$");
  private static final Map<String, HikariDataSource> POOLS = new ConcurrentHashMap<>();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(ConnectionPools::closeAll, "close-connection-pools"));
  }

  private ConnectionPools() {}

  /** The shared pool for {@code jdbcUrl}, created on first use. */
  public static HikariDataSource get(String jdbcUrl) {
    Dialect.fromJdbcUrl(jdbcUrl); // fails early, with the supported forms, on a URL we cannot serve
    return POOLS.computeIfAbsent(jdbcUrl, ConnectionPools::open);
  }

  /** Closes every pool (tests, and shutdown). */
  public static void closeAll() {
    POOLS.values().forEach(HikariDataSource::close);
    POOLS.clear();
  }

  private static HikariDataSource open(String jdbcUrl) {
    createH2Directory(jdbcUrl);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(jdbcUrl);
    config.setMaximumPoolSize(MAX_POOL_SIZE);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    config.setPoolName("online-store-" + POOLS.size());
    // Let the pool start even when the database is down: callers get a clear error, and recover when it is back.
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }

  /** H2 creates the database file but not its directory (the default store lives under ./data). */
  private static void createH2Directory(String jdbcUrl) {
    if (jdbcUrl.startsWith("jdbc:h2:mem:") || jdbcUrl.startsWith("jdbc:h2:tcp:")) {
      return;
    }
    Matcher matcher = H2_FILE.matcher(jdbcUrl);
    if (!matcher.matches()) {
      return;
    }
    String path = matcher.group(1);
    if (path.equals("~") || path.startsWith("~/") || path.startsWith("~\\")) {
      // H2 reads a leading ~ as the home directory; taken literally it would make a directory named ~ here.
      path = System.getProperty("user.home") + path.substring(1);
    }
    Path parent = Path.of(path).toAbsolutePath().getParent();
    try {
      Files.createDirectories(parent);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the directory of the H2 store " + jdbcUrl + ": " + parent, e);
    }
  }
}
