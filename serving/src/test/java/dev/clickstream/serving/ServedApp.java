package dev.clickstream.serving;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.store.OnlineStore;
import io.javalin.Javalin;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A feature server on a random port whose clock a test sets ({@link #at}), called over real HTTP; for the tests of
 * answers that depend on the server's now.
 */
final class ServedApp implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  private final SetClock clock = new SetClock();
  private final Javalin app;

  ServedApp(OnlineStore store, FeatureRegistry registry) {
    this.app = FeatureServer.create(store, clock, registry).start("127.0.0.1", 0);
  }

  /** The server's now from here on. */
  ServedApp at(long epochMillis) {
    clock.millis = epochMillis;
    return this;
  }

  Reply get(String path) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  Reply post(String path, String body) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body, UTF_8)));
  }

  /** JSON written with single quotes, for readable expectations. */
  static JsonNode json(String singleQuoted) {
    try {
      return JSON.readTree(singleQuoted.replace('\'', '"'));
    } catch (IOException e) {
      throw new IllegalArgumentException("bad expectation " + singleQuoted, e);
    }
  }

  private Reply send(HttpRequest.Builder request) throws IOException, InterruptedException {
    HttpResponse<String> response =
        HTTP.send(request.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString(UTF_8));
    return new Reply(response.statusCode(), JSON.readTree(response.body()));
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + app.port() + path);
  }

  @Override
  public void close() {
    app.stop();
  }

  /** A response's status and its body as JSON. */
  record Reply(int status, JsonNode body) {}

  /** A clock that stands where the test puts it. */
  private static final class SetClock extends Clock {
    private volatile long millis;

    @Override
    public long millis() {
      return millis;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException("the server reads epoch milliseconds only");
    }
  }
}
