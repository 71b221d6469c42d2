package dev.clickstream.transforms;

import static dev.clickstream.features.FeatureTables.CTR_5MIN;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.store.StoreUnavailableException;
import java.nio.file.Path;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLSyntaxErrorException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.h2.api.ErrorCode;
import org.h2.message.DbException;
import org.joda.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

/**
 * {@link WriteToOnlineStore} through real store outages: an H2 TCP server stopped and started again on the same port
 * and files, and the local PostgreSQL and MariaDB behind a proxy that is cut and restored (those servers are shared
 * with other tests and keep running). Every row lands with its exact values; only retries and waiting show the outage.
 */
@ExtendWith(TestPipelineExtension.class)
class WriteToOnlineStoreOutageTest {
  private static final String NAMESPACE = "WriteToOnlineStore";

  /** 2024-03-01T12:00:00Z. */
  private static final long NOON = 1_709_294_400_000L;
  private static final long FIVE_MINUTES = 300_000L;
  private static final long UPDATED_AT = 1_709_294_700_500L;

  /** The streamed rows: one every {@link #TICK}, about six seconds of input. */
  private static final int STREAMED_ROWS = 600;
  private static final Duration TICK = Duration.millis(10);
  /** How many rows the store holds before the outage begins, and how long the store is then down. */
  private static final int ROWS_BEFORE_OUTAGE = 100;
  private static final Duration OUTAGE = Duration.standardSeconds(3);
  /** Longer than the pool's 10 s connection timeout, so that creating the table fails once and is retried. */
  private static final Duration DOWN_AT_START = Duration.standardSeconds(12);
  private static final long CONNECTION_TIMEOUT_MS = 10_000;
  /** The most a write may take to finish after the store is back: the 5 s backoff cap and the pool's 5 s. */
  private static final Duration RECOVERY_BOUND = Duration.standardSeconds(15);
  /** Far longer than the outages here; a store that cannot be brought back fails the test in a minute, not ten. */
  private static final Duration TEST_RETRY_BUDGET = Duration.standardSeconds(60);
  /**
   * Far longer than a run takes (under 30 s): a run stuck for good fails here, with the runner's threads printed,
   * instead of turning into a CI run that times out.
   */
  private static final Duration RUN_LIMIT = Duration.standardMinutes(3);
  /**
   * How long a run that has written every row gets to finish before it is cancelled: the counters are final by then,
   * and the streamed run's source never ends.
   */
  private static final Duration QUIESCE_GRACE = Duration.standardSeconds(2);

  @TempDir Path h2BaseDir;

  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  @AfterEach
  void closePools() {
    ConnectionPools.closeAll();
  }

  /**
   * The store goes down for three seconds once it holds {@value #ROWS_BEFORE_OUTAGE} rows, while rows keep coming:
   * the write blocks and retries, and after the store is back every row is there with its values.
   */
  @ParameterizedTest
  @MethodSource("dialects")
  void writesEveryRowThroughAnOutageMidStream(String dialect, TestPipeline pipeline) throws Exception {
    ExecutorService outages = Executors.newSingleThreadExecutor();
    try (StoreOutage store = StoreOutage.of(dialect, h2BaseDir)) {
      String url = store.url();
      pipeline
          // A row every TICK, as a stream: GenerateSequence's rate-limited, endless counting source, of which the
          // first STREAMED_ROWS are written; the run is cancelled once they are. (PeriodicImpulse, a splittable DoFn
          // resumed by processing-time timers, stopped emitting on the Direct runner now and then after the writer
          // had blocked through the outage; a bounded GenerateSequence emits in chunks, so the outage could miss.)
          .apply("RowNumbers", GenerateSequence.from(0).withRate(1, TICK))
          .apply("FirstRows", Filter.lessThan((long) STREAMED_ROWS))
          .apply("ToRows", MapElements.into(TypeDescriptors.rows()).via(WriteToOnlineStoreOutageTest::storeRow))
          .setRowSchema(FeatureRows.schemaOf(CTR_5MIN))
          .apply("WriteOnlineStore", WriteToOnlineStore.into(CTR_5MIN)
              .withJdbcUrl(url)
              .withRetryBudget(TEST_RETRY_BUDGET));
      AtomicLong restoredAt = new AtomicLong();
      Future<Integer> rowsWhenStopped =
          outages.submit(() -> {
            int stored = awaitRows(url, ROWS_BEFORE_OUTAGE);
            store.stop();
            Thread.sleep(OUTAGE.getMillis());
            store.start();
            restoredAt.set(System.nanoTime());
            return stored;
          });

      Run run = runUnlessTheOutageFailed(pipeline, rowsWhenStopped, STREAMED_ROWS);
      PipelineResult result = run.result();

      assertThat(rowsWhenStopped.get(30, TimeUnit.SECONDS), lessThan(STREAMED_ROWS));
      assertThat(OnlineStore.forUrl(url).readTable(CTR_5MIN), equalTo(stored(STREAMED_ROWS)));
      assertThat(
          PipelineCounters.value(result, NAMESPACE, "rows_applied")
              + PipelineCounters.value(result, NAMESPACE, "rows_skipped_not_newer"),
          equalTo((long) STREAMED_ROWS));
      assertThat(PipelineCounters.value(result, NAMESPACE, "batch_retries"), greaterThan(0L));
      assertThat(PipelineCounters.value(result, NAMESPACE, "store_unavailable_ms"), greaterThan(0L));
      assertThat((run.everyRowWrittenAt() - restoredAt.get()) / 1_000_000, lessThan(RECOVERY_BOUND.getMillis()));
    } finally {
      outages.shutdownNow();
    }
  }

  /**
   * The store is down when the pipeline starts, for longer than the pool waits for a connection: creating the table
   * in {@code @Setup} fails once, is retried, and the rows land once the store is up.
   */
  @Test
  void waitsForAStoreThatIsDownWhenThePipelineStarts(TestPipeline pipeline) throws Exception {
    ExecutorService outages = Executors.newSingleThreadExecutor();
    try (StoreOutage store = StoreOutage.of("h2", h2BaseDir)) {
      store.stop();
      pipeline
          .apply(Create.of(LongStream.range(0, 100).boxed().toList()))
          .apply("ToRows", MapElements.into(TypeDescriptors.rows()).via(WriteToOnlineStoreOutageTest::storeRow))
          .setRowSchema(FeatureRows.schemaOf(CTR_5MIN))
          .apply("WriteOnlineStore", WriteToOnlineStore.into(CTR_5MIN)
              .withJdbcUrl(store.url())
              .withRetryBudget(TEST_RETRY_BUDGET));
      Future<Integer> restart =
          outages.submit(() -> {
            Thread.sleep(DOWN_AT_START.getMillis());
            store.start();
            return 0;
          });

      PipelineResult result = runUnlessTheOutageFailed(pipeline, restart, 100).result();

      assertThat(OnlineStore.forUrl(store.url()).readTable(CTR_5MIN), equalTo(stored(100)));
      assertThat(PipelineCounters.value(result, NAMESPACE, "rows_applied"), equalTo(100L));
      assertThat(PipelineCounters.value(result, NAMESPACE, "batch_retries"), greaterThanOrEqualTo(1L));
      assertThat(
          PipelineCounters.value(result, NAMESPACE, "store_unavailable_ms"),
          greaterThanOrEqualTo(CONNECTION_TIMEOUT_MS));
    } finally {
      outages.shutdownNow();
    }
  }

  /** A store that stays down past the retry budget fails the bundle, saying what and for how long. */
  @Test
  void failsTheBundleWhenTheStoreStaysDownBeyondTheRetryBudget(TestPipeline pipeline) throws Exception {
    try (StoreOutage store = StoreOutage.of("h2", h2BaseDir)) {
      store.stop();
      pipeline
          .apply(Create.of(0L))
          .apply("ToRows", MapElements.into(TypeDescriptors.rows()).via(WriteToOnlineStoreOutageTest::storeRow))
          .setRowSchema(FeatureRows.schemaOf(CTR_5MIN))
          .apply("WriteOnlineStore", WriteToOnlineStore.into(CTR_5MIN)
              .withJdbcUrl(store.url())
              .withRetryBudget(Duration.standardSeconds(1)));

      // Failing in @Setup, the Direct runner throws what its DoFn cache threw, not a PipelineExecutionException.
      RuntimeException e = assertThrows(RuntimeException.class, pipeline::run);

      // One attempt waits the pool's connection timeout (10 s), already past the budget.
      assertThat(
          givingUp(e).getMessage(),
          matchesPattern(
              Pattern.quote("giving up on creating table ctr_5min: the online store " + store.url()
                      + " has been unreachable for ")
                  + "\\d+\\.\\d s"
                  + Pattern.quote(" (1 attempt), beyond the retry budget of 1.0 s; the runner will retry the bundle"
                      + " or fail the pipeline. Last error: JdbcSQLNonTransientConnectionException [SQLState 90067]:"
                      + " Connection is broken: ")
                  + "(?s).*"));
    }
  }

  /**
   * A failure that blames the row (here a CHECK constraint, SQLState class 23) is not tried again: the row is a
   * dead letter at once, and the rest of its batch is written.
   */
  @Test
  void aRowThatBreaksAConstraintIsADeadLetterAtOnce(TestPipeline pipeline) throws Exception {
    String url = StoreFixtures.freshH2Url();
    createCtrTable(url, "ALTER TABLE ctr_5min ADD CONSTRAINT few_impressions CHECK (impressions < 1000)");
    PCollection<DeadLetter> rejected = writeInOneBatch(pipeline, url, 0L, 4_999L, 1L);

    PAssert.that(
            rejected.apply(MapElements.into(TypeDescriptors.strings()).via(WriteToOnlineStoreOutageTest::withoutSql)))
        .containsInAnyOrder(
            "WriteToOnlineStore | store_rejected | the online store refused this row of table ctr_5min:"
                + " JdbcSQLIntegrityConstraintViolationException [SQLState 23513]: Check constraint violation:"
                + " \"FEW_IMPRESSIONS: \"; SQL statement: (the upsert) [23513-232]; the other rows of its batch were"
                + " written. Fix the row's values at the source and replay it. | {\"user_id\":\"user-4999\","
                + "\"window_start\":1709294400000,\"window_end\":1709294700000,"
                + "\"impressions\":5000,\"clicks\":1,\"ctr\":2.0E-4,\"updated_at\":1709294700500}");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(OnlineStore.forUrl(url).readTable(CTR_5MIN), equalTo(stored(2)));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_rejected"), equalTo(1L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "batch_retries"), equalTo(0L));
  }

  /**
   * A failure that neither blames the row's data nor the connection (here a trigger that raises, SQLState P0001)
   * never fails the job: the batch is split, and the row still failing after five attempts is a dead letter.
   */
  @Test
  void aRowThatKeepsFailingForAnotherReasonIsADeadLetterAfterFiveAttempts(TestPipeline pipeline) throws Exception {
    String url = StoreFixtures.freshPostgresUrl();
    createCtrTable(url,
        "CREATE FUNCTION refuse_many() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            + " IF NEW.impressions >= 1000 THEN RAISE EXCEPTION 'too many impressions'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_many BEFORE INSERT ON ctr_5min FOR EACH ROW EXECUTE FUNCTION refuse_many()");
    PCollection<DeadLetter> rejected = writeInOneBatch(pipeline, url, 0L, 4_999L, 1L);

    PAssert.that(rejected.apply(MapElements.into(TypeDescriptors.strings()).via(WriteToOnlineStoreTest::summary)))
        .containsInAnyOrder(
            "WriteToOnlineStore | store_rejected | the online store refused this row of table ctr_5min:"
                + " PSQLException [SQLState P0001]: ERROR: too many impressions\n  Where: PL/pgSQL function"
                + " refuse_many() line 1 at RAISE; the other rows of its batch were written. Fix the row's values at"
                + " the source and replay it. | {\"user_id\":\"user-4999\",\"window_start\":1709294400000,"
                + "\"window_end\":1709294700000,"
                + "\"impressions\":5000,\"clicks\":1,\"ctr\":2.0E-4,\"updated_at\":1709294700500}");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(OnlineStore.forUrl(url).readTable(CTR_5MIN), equalTo(stored(2)));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_rejected"), equalTo(1L));
    // Four for the batch of three, none for its first half [0], none for the second [4999, 1] (tried once), four
    // for [4999] alone.
    assertThat(PipelineCounters.value(result, NAMESPACE, "batch_retries"), equalTo(8L));
  }

  /**
   * An error about the statement, not a row (here a trigger that raises a missing privilege, SQLState 42501, for
   * every row) fails every row alike: the batch is tried five times, not split, and each row is a dead letter.
   */
  @Test
  void anErrorAboutTheStatementMakesEveryRowADeadLetterWithoutSplitting(TestPipeline pipeline) throws Exception {
    String url = StoreFixtures.freshPostgresUrl();
    createCtrTable(url,
        "CREATE FUNCTION refuse_all() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            + " RAISE EXCEPTION 'no writes' USING ERRCODE = 'insufficient_privilege'; END $$",
        "CREATE TRIGGER refuse_all BEFORE INSERT ON ctr_5min FOR EACH ROW EXECUTE FUNCTION refuse_all()");
    PCollection<DeadLetter> rejected = writeInOneBatch(pipeline, url, 0L, 1L, 2L);

    PAssert.that(rejected.apply(MapElements.into(TypeDescriptors.strings()).via(DeadLetter::getDetail)))
        .containsInAnyOrder(Collections.nCopies(3,
            "the online store refused every row of this row's batch for table ctr_5min: PSQLException [SQLState"
                + " 42501]: ERROR: no writes\n  Where: PL/pgSQL function refuse_all() line 1 at RAISE. The error is"
                + " about the statement, not the row: fix the table or the privileges of the store's user, then"
                + " replay the dead letters."));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(OnlineStore.forUrl(url).readTable(CTR_5MIN), equalTo(List.of()));
    assertThat(PipelineCounters.value(result, NAMESPACE, "rows_rejected"), equalTo(3L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "batch_retries"), equalTo(4L));
  }

  /** {@link WriteToOnlineStoreTest#summary} with the SQL H2 quotes in its messages left out. */
  /** The CTR table of {@code url}, then {@code statements} on it (a constraint, a trigger). */
  private static void createCtrTable(String url, String... statements) throws SQLException {
    OnlineStore.forUrl(url).ensureTable(CTR_5MIN);
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement()) {
      for (String sql : statements) {
        statement.execute(sql);
      }
    }
  }

  /** Writes the rows of {@code indexes} to the CTR table of {@code url} in one batch; returns the refused rows. */
  private static PCollection<DeadLetter> writeInOneBatch(TestPipeline pipeline, String url, Long... indexes) {
    return pipeline
        // One list, flattened: one bundle, so that the rows reach the store in one batch.
        .apply(Create.<List<Long>>of(List.of(indexes)).withCoder(ListCoder.of(VarLongCoder.of())))
        .apply("OneBundle", Flatten.iterables())
        .apply("ToRows", MapElements.into(TypeDescriptors.rows()).via(WriteToOnlineStoreOutageTest::storeRow))
          .setRowSchema(FeatureRows.schemaOf(CTR_5MIN))
          .apply("WriteOnlineStore", WriteToOnlineStore.into(CTR_5MIN)
            .withJdbcUrl(url));
  }

  private static String withoutSql(DeadLetter deadLetter) {
    return WriteToOnlineStoreTest.summary(deadLetter).replaceAll("(?s)SQL statement:\n.*(\\[\\d+-\\d+\\])",
        "SQL statement: (the upsert) $1");
  }

  @Test
  void rejectsARetryBudgetThatIsNotPositive() {
    WriteToOnlineStore write = WriteToOnlineStore.into(CTR_5MIN);

    IllegalArgumentException zero =
        assertThrows(IllegalArgumentException.class, () -> write.withRetryBudget(Duration.ZERO));
    IllegalArgumentException negative =
        assertThrows(IllegalArgumentException.class, () -> write.withRetryBudget(Duration.millis(-1)));
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> write.withRetryBudget(null));

    assertThat(zero.getMessage(), equalTo("retryBudget must be a positive duration, got PT0S"));
    assertThat(negative.getMessage(), equalTo("retryBudget must be a positive duration, got PT-0.001S"));
    assertThat(missing.getMessage(), equalTo("retryBudget must be a positive duration, got null"));
  }

  /** Failures as the drivers and the pool raise them (seen in the outages above), and whether each is transient. */
  static Stream<Arguments> failures() {
    PSQLException refused =
        new PSQLException("Connection to 127.0.0.1:5432 refused.", PSQLState.CONNECTION_UNABLE_TO_CONNECT);
    PSQLException wrongPassword =
        new PSQLException("FATAL: password authentication failed for user \"app\"", PSQLState.INVALID_PASSWORD);
    PSQLException ioError =
        new PSQLException("An I/O error occurred while sending to the backend.", PSQLState.CONNECTION_FAILURE);
    BatchUpdateException abortedBatch =
        new BatchUpdateException("Batch entry 0 INSERT INTO ctr_5min ... was aborted", "08006", new int[0]);
    abortedBatch.setNextException(ioError);
    PSQLException duplicate =
        new PSQLException("duplicate key value violates unique constraint", PSQLState.UNIQUE_VIOLATION);
    BatchUpdateException duplicateInBatch =
        new BatchUpdateException("Batch entry 0 INSERT INTO ctr_5min ... was aborted", "23505", new int[0]);
    duplicateInBatch.setNextException(duplicate);
    return Stream.of(
        Arguments.of("the pool timing out on a refused connection", poolTimeout("08001", refused), true),
        Arguments.of("the pool timing out with every connection busy", poolTimeout(null, null), true),
        Arguments.of("a batch whose connection broke", abortedBatch, true),
        Arguments.of("H2: connection broken", h2(ErrorCode.CONNECTION_BROKEN_1, "session closed"), true),
        Arguments.of("H2: database closed", h2(ErrorCode.DATABASE_CALLED_AT_SHUTDOWN, null), true),
        Arguments.of("MariaDB: socket error", new SQLNonTransientConnectionException("Socket error", "08000"), true),
        Arguments.of("PostgreSQL shutting down", new SQLException("terminating connection", "57P01"), true),
        Arguments.of(
            "PostgreSQL: a statement cancelled by its query timeout",
            new PSQLException("ERROR: canceling statement due to user request", PSQLState.QUERY_CANCELED),
            true),
        Arguments.of(
            "MariaDB: a statement past its query timeout",
            new SQLTimeoutException("Query execution was interrupted (max_statement_time exceeded)", "70100"),
            true),
        Arguments.of(
            "MariaDB: a socket timeout on a frozen database",
            new SQLNonTransientConnectionException("(conn=108) Socket timout error", "08000"),
            true),
        Arguments.of(
            "a table that cannot be created while the store is down",
            new StoreUnavailableException("cannot create table ctr_5min", h2(ErrorCode.CONNECTION_BROKEN_1, "x")),
            true),
        Arguments.of("the pool timing out on a refused password", poolTimeout("28P01", wrongPassword), false),
        Arguments.of("a duplicate key in a batch", duplicateInBatch, false),
        Arguments.of("H2: check constraint", h2(ErrorCode.CHECK_CONSTRAINT_VIOLATED_1, "few_impressions"), false),
        Arguments.of("a syntax error", new SQLSyntaxErrorException("syntax error at or near", "42601"), false),
        Arguments.of(
            "a table that cannot be created for lack of rights",
            new StoreUnavailableException("cannot create table ctr_5min", new SQLException("permission denied", "42501")),
            false),
        Arguments.of("an SQLException that says nothing", new SQLException("something failed"), false));
  }

  @ParameterizedTest(name = "{0}: {2}")
  @MethodSource("failures")
  void tellsConnectionFailuresFromOthers(String what, Exception failure, boolean expected) {
    assertThat(what, WriteToOnlineStore.isTransient(failure), equalTo(expected));
  }

  @Test
  void describesAFailureByTheErrorInsideIt() {
    PSQLException refused =
        new PSQLException("Connection to 127.0.0.1:5432 refused.", PSQLState.CONNECTION_UNABLE_TO_CONNECT);

    assertThat(
        WriteToOnlineStore.describe(poolTimeout("08001", refused)),
        equalTo("PSQLException [SQLState 08001]: Connection to 127.0.0.1:5432 refused."));
  }

  /** What HikariCP throws when no connection came within its connection timeout; {@code cause} is the last failure. */
  private static SQLTransientConnectionException poolTimeout(String state, SQLException cause) {
    return new SQLTransientConnectionException(
        "online-store-0 - Connection is not available, request timed out after 10000ms (total=0, active=0, idle=0,"
            + " waiting=0)",
        state,
        cause);
  }

  private static SQLException h2(int errorCode, String parameter) {
    return DbException.getJdbcSQLException(errorCode, null, parameter);
  }

  /**
   * Runs {@code pipeline} to the end. When it fails and {@code outage} failed too (the store could not be taken down
   * or brought back), that is the failure reported: the write giving up is only its consequence.
   *
   * <p>A run over an endless source never finishes by itself. What these tests check is done once every one of {@code
   * rows} is counted as written: from then on the run gets {@link #QUIESCE_GRACE} to finish, and is cancelled when
   * it does not. A run that has not written every row within {@link
   * #RUN_LIMIT} fails.
   */
  private static Run runUnlessTheOutageFailed(TestPipeline pipeline, Future<?> outage, int rows) throws Exception {
    pipeline.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    try {
      PipelineResult result = pipeline.run();
      long deadline = System.nanoTime() + RUN_LIMIT.getMillis() * 1_000_000;
      long everyRowWrittenAt = 0;
      while (true) {
        PipelineResult.State state = result.waitUntilFinish(Duration.standardSeconds(1));
        long now = System.nanoTime();
        if (state == PipelineResult.State.DONE) {
          return new Run(result, everyRowWrittenAt == 0 ? now : everyRowWrittenAt);
        }
        if (state == null && everyRowWrittenAt == 0 && written(result) == rows) {
          everyRowWrittenAt = now;
        }
        if (everyRowWrittenAt != 0 && now - everyRowWrittenAt > QUIESCE_GRACE.getMillis() * 1_000_000) {
            result.cancel();
          return new Run(result, everyRowWrittenAt);
        }
        if (state != null || now > deadline) {
          printRunnerThreads();
          result.cancel();
          throw new AssertionError("the pipeline did not finish within " + RUN_LIMIT + " ("
              + (state == null ? "still running" : state) + ", " + written(result) + " of " + rows
              + " rows written); it was cancelled");
        }
      }
    } catch (RuntimeException e) {
      if (outage.isDone()) {
        try {
          outage.get();
        } catch (ExecutionException outageFailure) {
          throw new AssertionError("the outage could not be staged: " + outageFailure.getCause(), e);
        }
      }
      throw e;
    }
  }

  /** The stacks of the Direct runner's threads, to stderr: where a run that never finishes is stuck. */
  private static void printRunnerThreads() {
    Thread.getAllStackTraces().forEach((thread, stack) -> {
      if (thread.getName().startsWith("direct-runner") || thread.getName().startsWith("tcp-proxy")) {
        StringBuilder lines = new StringBuilder("thread " + thread.getName() + " " + thread.getState() + "\n");
        for (StackTraceElement frame : stack) {
          lines.append("    at ").append(frame).append('\n');
        }
        System.err.print(lines);
      }
    });
  }

  /** A run's result, and when it had written every row (System.nanoTime()). */
  private record Run(PipelineResult result, long everyRowWrittenAt) {}

  /** The rows the writer has counted as written: applied, or left as they were because the store held them. */
  private static long written(PipelineResult result) {
    return PipelineCounters.value(result, NAMESPACE, "rows_applied")
        + PipelineCounters.value(result, NAMESPACE, "rows_skipped_not_newer");
  }

  /** The message of the SQLException that gave up, from a failed pipeline. */
  private static SQLException givingUp(RuntimeException e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLException && cause.getMessage().startsWith("giving up on ")) {
        return (SQLException) cause;
      }
    }
    throw new AssertionError("no SQLException that gives up in " + e, e);
  }

  /** Polls the store until it holds at least {@code rows} rows, and returns how many it holds then. */
  private static int awaitRows(String url, int rows) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      try {
        int stored = OnlineStore.forUrl(url).readTable(CTR_5MIN).size();
        if (stored >= rows) {
          return stored;
        }
      } catch (StoreUnavailableException e) {
        // The table is not there yet.
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the store never held " + rows + " rows");
  }

  /** Row {@code index}: user {@code user-NNNN} with {@code index + 1} impressions. */
  /** The row of {@code index}, as it stands: the store, not the test, decides whether it fits. */
  private static Row storeRow(Long index) {
    return Row.withSchema(FeatureRows.schemaOf(CTR_5MIN)).attachValues(Arrays.asList(row(index)));
  }

  static Object[] row(Long index) {
    long impressions = index + 1;
    long clicks = index % 7;
    return new Object[] {
      userId(index), NOON, NOON + FIVE_MINUTES, impressions, clicks, (double) clicks / impressions, UPDATED_AT
    };
  }

  private static String userId(long index) {
    return String.format("user-%04d", index);
  }

  /** What the store holds after rows {@code 0 .. count - 1}, as {@link OnlineStore#readTable} returns it. */
  private static List<Map<String, Object>> stored(int count) {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (long index = 0; index < count; index++) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("user_id", userId(index));
      row.put("window_start", NOON);
      row.put("window_end", NOON + FIVE_MINUTES);
      row.put("impressions", index + 1);
      row.put("clicks", index % 7);
      row.put("ctr", (double) (index % 7) / (index + 1));
      row.put("updated_at", UPDATED_AT);
      rows.add(row);
    }
    return rows;
  }
}
