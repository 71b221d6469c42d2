package dev.clickstream.serving;

import static java.util.Objects.requireNonNull;

import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.StoreUnavailableException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A circuit breaker over the server's reads of the online store, and the store's health as the server last saw it.
 *
 * <p>A read that finds the store down opens the breaker. While it is open, reads fail at once with {@link
 * StoreDown} for {@link #RETRY_AFTER}; then one read (a request, or {@code GET /health}) tries the store again while
 * the others keep failing at once, and the first read that reaches the store closes it. So a store that is down
 * costs one request per {@link #RETRY_AFTER} at most one pool wait ({@value
 * ConnectionPools#SERVING_CONNECTION_TIMEOUT_MS} ms), and the others nothing; the server recovers on its own.
 *
 * <p>A read that failed for itself alone (a table that does not exist, or no right to read it) reached the
 * store: it closes the breaker like a success ({@link #isOutage}).
 */
final class StoreBreaker {
  private static final Logger LOG = LoggerFactory.getLogger(StoreBreaker.class);

  /** How long reads fail at once after the store was found down, before one tries again. */
  static final Duration RETRY_AFTER = Duration.ofSeconds(1);

  /** The store is down: why (never a credential), since when (epoch ms), and when a read may try again. */
  record Outage(String reason, long sinceMillis, long retryAtNanos) {}

  /** Thrown instead of reading while the breaker is open. */
  static final class StoreDown extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StoreDown(Outage outage) {
      super("online store down since " + outage.sinceMillis() + ": " + outage.reason(), null, false, false);
    }
  }

  /** SQLState classes of a store that cannot be used: connection, login, database name, resources, shutdown. */
  private static final Set<String> OUTAGE_STATE_CLASSES = Set.of("08", "28", "3D", "53", "57");

  private final Clock clock;
  private final AtomicReference<Outage> outage = new AtomicReference<>();
  private volatile LongConsumer readNanos = nanos -> {};

  StoreBreaker(Clock clock) {
    this.clock = requireNonNull(clock, "clock");
  }

  /** {@code read}'s result; {@link StoreDown} at once while the breaker is open and it is not yet time to retry. */
  <T> T call(Supplier<T> read) {
    Outage current = outage.get();
    if (current != null) {
      long now = System.nanoTime();
      // One caller claims the retry by pushing the next one back; the others fail at once meanwhile.
      if (now - current.retryAtNanos() < 0
          || !outage.compareAndSet(current, new Outage(current.reason(), current.sinceMillis(), retryAt(now)))) {
        throw new StoreDown(current);
      }
    }
    long started = System.nanoTime();
    try {
      T result = read.get();
      readNanos.accept(System.nanoTime() - started);
      closeIfOpen();
      return result;
    } catch (StoreUnavailableException e) {
      if (isOutage(e)) {
        open(e);
      } else {
        closeIfOpen(); // the database answered, if only with an error about this read
      }
      throw e;
    }
  }

  /**
   * Whether {@code failure} says the store cannot be used at all: no connection in time, a connection that failed
   * or broke, a refused login, a database that is missing, out of resources or shutting down. A failure of one
   * statement (a missing table, missing rights on one) is not: other reads still work.
   */
  static boolean isOutage(Throwable failure) {
    String state = null;
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLTransientConnectionException) {
        return true;
      }
      if (state == null && cause instanceof SQLException sql) {
        state = sql.getSQLState();
      }
    }
    return state == null || OUTAGE_STATE_CLASSES.contains(state.substring(0, Math.min(2, state.length())));
  }

  /** Gives {@code timer} the time of each read that succeeded, in nanoseconds (the server's metrics). */
  void timeReadsWith(LongConsumer timer) {
    this.readNanos = requireNonNull(timer, "timer");
  }

  /** Null when the store answered the last read; the outage otherwise. */
  Outage outage() {
    return outage.get();
  }

  private void open(StoreUnavailableException e) {
    String reason = reason(e);
    Outage previous = outage.get();
    long since = previous == null ? clock.millis() : previous.sinceMillis();
    outage.set(new Outage(reason, since, retryAt(System.nanoTime())));
    if (previous == null) {
      // The message names the store with its password redacted: for the log, never for a client.
      LOG.warn("online store down ({}); failing reads at once, retrying every {} ms: {}", reason,
          RETRY_AFTER.toMillis(), e.getMessage());
    }
  }

  private void closeIfOpen() {
    Outage previous = outage.getAndSet(null);
    if (previous != null) {
      LOG.info("online store back after {} ms down ({})", clock.millis() - previous.sinceMillis(),
          previous.reason());
    }
  }

  private static long retryAt(long nowNanos) {
    return nowNanos + RETRY_AFTER.toNanos();
  }

  /**
   * Why a read failed, from the SQLState of the failure only: driver messages may hold the URL, the host or the
   * user, so none of them is repeated.
   */
  static String reason(Throwable failure) {
    String state = null;
    boolean poolTimeout = false;
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      poolTimeout |= cause instanceof SQLTransientConnectionException;
      if (state == null && cause instanceof SQLException sql) {
        state = sql.getSQLState();
      }
    }
    String what = state == null ? "the database failed the read" : byState(state) + " (SQLState " + state + ")";
    return poolTimeout ? "timed out waiting for a connection: " + what : what;
  }

  private static String byState(String state) {
    switch (state.length() < 2 ? state : state.substring(0, 2)) {
      case "08":
        return "cannot connect to the database, or the connection broke";
      case "28":
        return "the database refused the login: check the user and password";
      case "3D":
        return "the database does not exist: check the database name in the URL";
      case "53":
        return "the database is out of resources, such as connections";
      case "57":
        return "the database is shutting down or starting, or cancelled the statement";
      default:
        return "the database failed the read";
    }
  }
}
