package dev.clickstream.serving;

import static dev.clickstream.features.FeatureTables.CTR_5MIN;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.store.TcpProxy;
import io.javalin.Javalin;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The server over a real PostgreSQL that goes down and comes back (a {@link TcpProxy} cut and restored), called over
 * HTTP: 503s within a second, at once while the store is known to be down, a /health that says why, and recovery
 * without a restart.
 */
class FeatureServerOutageTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  private static final String PASSWORD = "never-shown-4711";
  private static final String U7 =
      "{\"feature_view\":\"ctr_5min\",\"entity\":{\"user_id\":\"u7\"},\"status\":\"ok\","
          + "\"features\":{\"impressions\":12,\"clicks\":1,\"ctr\":0.0833},"
          + "\"window_start\":1704067200000,\"window_end\":1704067500000,\"updated_at\":1704067507000}";
  private static final String UNAVAILABLE = "{\"status\":503,\"error\":\"online store unavailable; retry later\"}";
  private static final Duration ONE_SECOND = Duration.ofSeconds(1);
  /** The servers' clock: u7's row is current then (the breaker reads the clock too, but only to date an outage). */
  private static final Clock AT_U7S_WINDOW_END = Clock.fixed(Instant.ofEpochMilli(1_704_067_500_000L), ZoneOffset.UTC);

  private Javalin app;
  private TcpProxy proxy;

  @AfterEach
  void stop() throws Exception {
    if (app != null) {
      app.stop();
    }
    if (proxy != null) {
      proxy.close();
    }
    ConnectionPools.closeAll();
  }

  @Test
  void aStoreThatGoesDownIs503WithinASecondAndRecoversWithoutARestart() throws Exception {
    // PostgreSQL trusts local users, so the password is ignored: it is there to be kept out of every response.
    serveU7ThroughAProxy(StoreFixtures.freshPostgresUrl() + "&password=" + PASSWORD);

    proxy.cut();
    Timed first = timed("/features/ctr_5min/u7");
    // The store is known to be down: these fail at once, without waiting for a connection.
    long start = System.nanoTime();
    List<Reply> during =
        List.of(get("/features/ctr_5min/u7"), post("/features/ctr_5min", "[\"u7\"]"),
            get("/features/click_counts_on_demand/u7?as_of=1704067200000"), get("/features/click_counts_tiled/u7"),
            get("/features/ctr_5min/u7"), get("/features/ctr_5min/u7"), get("/features/ctr_5min/u7"),
            get("/features/ctr_5min/u7"), get("/features/ctr_5min/u7"), get("/features/ctr_5min/u7"));
    Duration tenFailFast = Duration.ofNanos(System.nanoTime() - start);
    Thread.sleep(StoreBreaker.RETRY_AFTER.toMillis() + 100); // due to try the store again
    Timed health = timed("/health");

    assertThat(first.reply.status, is(503));
    assertThat(first.reply.raw, is(UNAVAILABLE));
    assertThat(first.took, is(lessThan(ONE_SECOND)));
    for (Reply reply : during) {
      assertThat(reply.status, is(503));
      assertThat(reply.raw, is(UNAVAILABLE));
    }
    assertThat(tenFailFast, is(lessThan(ONE_SECOND)));
    assertThat(health.reply.status, is(503));
    assertThat(health.took, is(lessThan(ONE_SECOND)));
    assertThat(health.reply.body.get("status").asText(), is("down"));
    assertThat(health.reply.body.get("online_store").asText(), is("unreachable"));
    assertThat(health.reply.body.get("reason").asText(),
        is("timed out waiting for a connection: cannot connect to the database, or the connection broke"
            + " (SQLState 08001)"));
    assertThat(health.reply.raw, not(containsString(PASSWORD)));

    proxy.restore();
    Reply back = get("/health");
    for (long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        back.status != 200 && System.nanoTime() < deadline; back = get("/health")) {
      Thread.sleep(100);
    }

    assertThat(back.raw, is("{\"status\":\"up\",\"online_store\":\"up\"}"));
    assertThat(get("/features/ctr_5min/u7").raw, is(U7));
  }

  /**
   * A database that stops answering on open connections (a frozen peer, a partition): the first reads give up after
   * the serving pool's socket timeout, then the breaker answers at once, and the server recovers when it answers
   * again.
   */
  @Test
  void aFrozenStoreCostsOneSocketTimeoutThenIs503AtOnce() throws Exception {
    serveU7ThroughAProxy(StoreFixtures.freshPostgresUrl());

    proxy.freeze();
    Timed first = timed("/features/ctr_5min/u7");
    long start = System.nanoTime();
    for (int i = 0; i < 10; i++) {
      assertThat(get("/features/ctr_5min/u7").raw, is(UNAVAILABLE));
    }
    Duration tenFailFast = Duration.ofNanos(System.nanoTime() - start);

    assertThat(first.reply.raw, is(UNAVAILABLE));
    // The socket timeout, and less than the two pipelines' minute a frozen read would otherwise hold a connection.
    assertThat(first.took, is(lessThan(Duration.ofMillis(ConnectionPools.SERVING_SOCKET_TIMEOUT_MS + 2_000))));
    assertThat(tenFailFast, is(lessThan(ONE_SECOND)));

    proxy.thaw();
    Reply back = get("/features/ctr_5min/u7");
    for (long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        back.status != 200 && System.nanoTime() < deadline; back = get("/features/ctr_5min/u7")) {
      Thread.sleep(100);
    }
    assertThat(back.raw, is(U7));
  }

  /** A URL that names a database that does not exist: /health says so, without the URL or its password. */
  @Test
  void healthSaysWhyTheStoreIsDownWithoutTheUrl() throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:5432/no_such_database_4711?user=postgres&password=" + PASSWORD;
    app = FeatureServer.create(OnlineStore.forServing(url), AT_U7S_WINDOW_END).start("127.0.0.1", 0);

    Timed health = timed("/health");
    Reply read = get("/features/ctr_5min/u7");

    assertThat(health.reply.status, is(503));
    assertThat(health.took, is(lessThan(ONE_SECOND)));
    assertThat(health.reply.body.get("reason").asText(),
        is("timed out waiting for a connection: the database does not exist: check the database name in the URL"
            + " (SQLState 3D000)"));
    assertThat(health.reply.retryAfter, is("1"));
    assertThat(read.raw, is(UNAVAILABLE));
    assertThat(read.retryAfter, is("1"));
    for (String secret : List.of(PASSWORD, "no_such_database", "postgres", "5432")) {
      assertThat(health.reply.raw, not(containsString(secret)));
    }
  }

  /** Stores u7's CTR row at {@code url}, and serves that store through {@link #proxy}, checking that u7 is served. */
  private void serveU7ThroughAProxy(String url) throws Exception {
    OnlineStore writer = OnlineStore.forUrl(url);
    writer.ensureTable(CTR_5MIN);
    writer.upsert(CTR_5MIN, List.<Object[]>of(
        new Object[] {"u7", 1_704_067_200_000L, 1_704_067_500_000L, 12L, 1L, 0.0833, 1_704_067_507_000L}));
    proxy = TcpProxy.toServerOf(url, 5432);
    app = FeatureServer.create(OnlineStore.forServing(proxy.rewrite(url)), AT_U7S_WINDOW_END).start("127.0.0.1", 0);
    assertThat(get("/features/ctr_5min/u7").raw, is(U7));
  }

  private Timed timed(String path) throws Exception {
    long start = System.nanoTime();
    Reply reply = get(path);
    return new Timed(reply, Duration.ofNanos(System.nanoTime() - start));
  }

  private Reply get(String path) throws Exception {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  private Reply post(String path, String body) throws Exception {
    return send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body, UTF_8)));
  }

  private Reply send(HttpRequest.Builder request) throws Exception {
    HttpResponse<String> response =
        HTTP.send(request.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString(UTF_8));
    return new Reply(response.statusCode(), response.body(), JSON.readTree(response.body()),
        response.headers().firstValue("Retry-After").orElse(null));
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + app.port() + path);
  }

  private record Reply(int status, String raw, JsonNode body, String retryAfter) {}

  private record Timed(Reply reply, Duration took) {}
}
