package dev.clickstream.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
  /** How long a caller waits for a connection from the pool. */
  private static final long CONNECTION_TIMEOUT_MS = 10_000;
  private static final Pattern H2_FILE = Pattern.compile("^jdbc:h2:(?:file:)?([^;:][^;]*)(;.*)?$");

  /**
   * Driver options every MariaDB connection needs, whatever the URL says. {@code permitMysqlScheme}: the MariaDB
   * driver takes {@code jdbc:mysql:} URLs only with it. {@code useAffectedRows=true}: an upsert that leaves a row
   * unchanged counts 0, not 1 as a found row, so {@link OnlineStore#upsert} can tell it from an insert. {@code
   * useBulkStmts=false} and {@code useBulkStmtsForInserts=false}: a batch is sent statement by statement
   * (pipelined), so every row gets its own count instead of {@code SUCCESS_NO_INFO} for the whole batch.
   */
  static final List<String> MARIADB_OPTIONS =
      List.of("permitMysqlScheme", "useAffectedRows=true", "useBulkStmts=false", "useBulkStmtsForInserts=false");

  /**
   * Driver options every PostgreSQL connection needs, whatever the URL says. {@code reWriteBatchedInserts=false}:
   * with it on, pgjdbc folds a batch into multi-row INSERTs, which fail on any batch that holds one key twice
   * ("ON CONFLICT DO UPDATE command cannot affect row a second time") and count {@code SUCCESS_NO_INFO} for every
   * row, so {@link OnlineStore#upsert} could not tell applied rows from refused ones.
   */
  static final List<String> POSTGRESQL_OPTIONS = List.of("reWriteBatchedInserts=false");

  /** How long a new connection may take to open, unless the URL says otherwise. */
  static final long CONNECT_TIMEOUT_MS = 10_000;

  /**
   * How long the driver waits for the database to answer on an open connection, unless the URL says otherwise:
   * past it the connection is broken and the call fails as a connection failure, so a frozen database or a network
   * partition frees the pool's connections instead of holding them until TCP gives up (about 15 minutes). Longer
   * than {@link OnlineStore#QUERY_TIMEOUT_SECONDS}, so that a slow statement is cancelled by the server first.
   */
  static final long SOCKET_TIMEOUT_MS = 60_000;
  private static final Map<String, HikariDataSource> POOLS = new ConcurrentHashMap<>();
  /**
   * How long a server request waits for a connection: well under a second, so that a store that is down costs a
   * request a quick 503 rather than the pipelines' {@value #CONNECTION_TIMEOUT_MS} ms (Hikari's floor is 250 ms).
   */
  public static final long SERVING_CONNECTION_TIMEOUT_MS = 500;
  /**
   * How long a server request waits for a database that stopped answering on an open connection: a point read takes
   * milliseconds, so a frozen database costs a few requests this long, until the server's circuit breaker opens.
   */
  public static final long SERVING_SOCKET_TIMEOUT_MS = 2_000;
  /** How long a check that a serving connection is alive may take; at most the connection timeout. */
  private static final long SERVING_VALIDATION_TIMEOUT_MS = 250;
  private static final Map<String, HikariDataSource> SERVING_POOLS = new ConcurrentHashMap<>();

  /**
   * The online store's password for URLs that carry none, on every JVM that connects (the TaskManagers of a cluster
   * too): for PostgreSQL and MariaDB URLs, never for H2's.
   */
  public static final String PASSWORD_VARIABLE = "CLICKSTREAM_STORE_PASSWORD";

  /** Passwords taken out of URLs by {@link #passwordKeptInJvm}, by the URL without them. */
  private static final Map<String, String> PASSWORDS = new ConcurrentHashMap<>();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(ConnectionPools::closeAll, "close-connection-pools"));
  }

  private ConnectionPools() {}

  /** The shared pool for {@code jdbcUrl}, created on first use. */
  public static HikariDataSource get(String jdbcUrl) {
    Dialect.fromJdbcUrl(jdbcUrl); // fails early, with the supported forms, on a URL we cannot serve
    return POOLS.computeIfAbsent(jdbcUrl, ConnectionPools::open);
  }

  /**
   * {@code jdbcUrl} without its password, which this JVM keeps and hands to the driver whenever a pool for the
   * returned URL opens. For URLs that travel where others can read them: a Flink job's options are served by its
   * REST API, and an embedded job's workers run in this JVM.
   */
  public static String passwordKeptInJvm(String jdbcUrl) {
    return JdbcUrls.password(jdbcUrl)
        .map(password -> {
          String withoutPassword = JdbcUrls.withoutPassword(jdbcUrl);
          PASSWORDS.put(withoutPassword, password);
          return withoutPassword;
        })
        .orElse(jdbcUrl);
  }

  /** The password a pool for {@code jdbcUrl} gives the driver beside the URL: none when the URL carries one. */
  static String passwordFor(String jdbcUrl, Map<String, String> environment) {
    if (JdbcUrls.password(jdbcUrl).isPresent()) {
      return null;
    }
    String kept = PASSWORDS.get(jdbcUrl);
    if (kept != null) {
      return kept;
    }
    return Dialect.fromJdbcUrl(jdbcUrl) == Dialect.H2 ? null : environment.get(PASSWORD_VARIABLE);
  }

  /**
   * The pool of the feature server for {@code jdbcUrl}, created on first use: like {@link #get}'s, but a request
   * waits at most {@value #SERVING_CONNECTION_TIMEOUT_MS} ms for a connection. A pool of its own, so that a
   * pipeline in the same JVM keeps its long wait.
   */
  public static HikariDataSource forServing(String jdbcUrl) {
    Dialect.fromJdbcUrl(jdbcUrl); // fails early, with the supported forms, on a URL we cannot serve
    return SERVING_POOLS.computeIfAbsent(jdbcUrl, ConnectionPools::openForServing);
  }

  /** Closes every pool (tests, and shutdown). */
  public static void closeAll() {
    POOLS.values().forEach(HikariDataSource::close);
    POOLS.clear();
    SERVING_POOLS.values().forEach(HikariDataSource::close);
    SERVING_POOLS.clear();
  }

  /**
   * The URL handed to the driver: {@code jdbcUrl} with the options its driver must have ({@link #MARIADB_OPTIONS},
   * {@link #POSTGRESQL_OPTIONS}) in place of any value it gave them, and connect and socket timeouts ({@link
   * #CONNECT_TIMEOUT_MS}, {@link #SOCKET_TIMEOUT_MS}) unless it sets its own. H2 URLs are left as they are. Messages
   * keep showing {@code jdbcUrl} as it was given.
   */
  static String driverUrl(String jdbcUrl) {
    return driverUrl(jdbcUrl, SOCKET_TIMEOUT_MS);
  }

  /** {@link #driverUrl(String)} with a socket timeout of {@code socketTimeoutMillis} by default (tests: shorter). */
  static String driverUrl(String jdbcUrl, long socketTimeoutMillis) {
    Dialect dialect = Dialect.fromJdbcUrl(jdbcUrl);
    List<String> forced;
    List<String> defaults;
    switch (dialect) {
      case MARIADB:
        forced = MARIADB_OPTIONS;
        // Connector/J 3: milliseconds.
        defaults = List.of("connectTimeout=" + CONNECT_TIMEOUT_MS, "socketTimeout=" + socketTimeoutMillis);
        break;
      case POSTGRESQL:
        forced = POSTGRESQL_OPTIONS;
        // pgjdbc: whole seconds.
        defaults = List.of(
            "connectTimeout=" + seconds(CONNECT_TIMEOUT_MS), "socketTimeout=" + seconds(socketTimeoutMillis));
        break;
      default:
        return jdbcUrl;
    }
    int query = jdbcUrl.indexOf('?');
    List<String> given = new ArrayList<>();
    if (query >= 0) {
      for (String option : jdbcUrl.substring(query + 1).split("&")) {
        if (!option.isEmpty()) {
          given.add(option);
        }
      }
    }
    List<String> options = new ArrayList<>();
    for (String option : given) {
      if (forced.stream().noneMatch(ours -> sameOption(ours, option))) {
        options.add(option);
      }
    }
    for (String option : defaults) {
      if (given.stream().noneMatch(theirs -> sameOption(option, theirs))) {
        options.add(option);
      }
    }
    options.addAll(forced);
    return (query < 0 ? jdbcUrl : jdbcUrl.substring(0, query)) + "?" + String.join("&", options);
  }

  private static long seconds(long millis) {
    return Math.max(1, (millis + 999) / 1000);
  }

  private static boolean sameOption(String a, String b) {
    return a.split("=", 2)[0].equalsIgnoreCase(b.split("=", 2)[0]);
  }

  private static HikariDataSource open(String jdbcUrl) {
    return open(jdbcUrl, SOCKET_TIMEOUT_MS);
  }

  /** A new pool for {@code jdbcUrl}, whose connections time out after {@code socketTimeoutMillis} by default. */
  static HikariDataSource open(String jdbcUrl, long socketTimeoutMillis) {
    HikariConfig config = configuration(jdbcUrl, socketTimeoutMillis);
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    config.setPoolName("online-store-" + POOLS.size());
    return new HikariDataSource(config);
  }

  /**
   * {@link #open}'s pool, but a request waits at most {@value #SERVING_CONNECTION_TIMEOUT_MS} ms for a connection and
   * {@value #SERVING_SOCKET_TIMEOUT_MS} ms for a database that stopped answering.
   */
  private static HikariDataSource openForServing(String jdbcUrl) {
    HikariConfig config = configuration(jdbcUrl, SERVING_SOCKET_TIMEOUT_MS);
    config.setConnectionTimeout(SERVING_CONNECTION_TIMEOUT_MS);
    config.setValidationTimeout(SERVING_VALIDATION_TIMEOUT_MS);
    config.setPoolName("online-store-serving-" + SERVING_POOLS.size());
    return new HikariDataSource(config);
  }

  /** What every pool for {@code jdbcUrl} shares: the driver, its URL and options, the password and the size. */
  private static HikariConfig configuration(String jdbcUrl, long socketTimeoutMillis) {
    createH2Directory(jdbcUrl);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(driverUrl(jdbcUrl, socketTimeoutMillis));
    String password = passwordFor(jdbcUrl, System.getenv());
    if (password != null) {
      config.setPassword(password);
    }
    Dialect dialect = Dialect.fromJdbcUrl(jdbcUrl);
    // DriverManager hands a driver only to the class loader that registered it. On a Flink cluster each job (and
    // each restart of it) has its own class loader, so the second one got "No suitable driver": register the
    // driver from ours first.
    registerDriver(dialect);
    if (dialect == Dialect.MARIADB) {
      // By name, so that no other driver on the class path (MySQL's own) takes a jdbc:mysql: URL.
      config.setDriverClassName(driverClass(dialect));
    }
    config.setMaximumPoolSize(MAX_POOL_SIZE);
    config.setMinimumIdle(1);
    // Let the pool start even when the database is down: callers get a clear error, and recover when it is back.
    config.setInitializationFailTimeout(-1);
    return config;
  }

  static void registerDriver(Dialect dialect) {
    try {
      Class.forName(driverClass(dialect), true, ConnectionPools.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("the JDBC driver for " + dialect + " is not on the class path", e);
    }
  }

  private static String driverClass(Dialect dialect) {
    switch (dialect) {
      case H2:
        return "org.h2.Driver";
      case POSTGRESQL:
        return "org.postgresql.Driver";
      case MARIADB:
        return "org.mariadb.jdbc.Driver";
      default:
        throw new IllegalArgumentException("no JDBC driver known for " + dialect);
    }
  }

  /** H2 creates the database file but not its directory (the default store lives under ./data). */
  static void createH2Directory(String jdbcUrl) {
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
