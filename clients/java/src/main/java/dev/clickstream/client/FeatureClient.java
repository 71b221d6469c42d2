package dev.clickstream.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A client of the feature server for JVM services: feature vectors by view or by feature service, and the registry.
 * Thread-safe; one per server is enough.
 *
 * <pre>{@code
 * FeatureClient client = FeatureClient.of(URI.create("http://127.0.0.1:8080"));
 * FeatureVector ctr = client.features("ctr_5min", List.of("u1")).get(0);    // ctr.features().get("ctr")
 * FeatureVector ranking = client.vector("ranking_v1", "u1");                // ranking.views().get("ctr_5min")
 * }</pre>
 *
 * <p>Every call is one request, with the ids in a JSON body (at most 1,000 per call), so an entity without a row is
 * an answer with status {@code not_found}, not an error. A reply other than 200 is a {@link FeatureClientException}
 * with the server's status and message; a server that cannot be reached, one with the status 0.
 */
public final class FeatureClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private final URI base;
  private final HttpClient http;
  private final Duration timeout;

  private FeatureClient(URI base, HttpClient http, Duration timeout) {
    this.base = base;
    this.http = http;
    this.timeout = timeout;
  }

  /** A client of the server at {@code base}, such as {@code http://127.0.0.1:8080}, with 10-second timeouts. */
  public static FeatureClient of(URI base) {
    requireNonNull(base, "base");
    if (!"http".equals(base.getScheme()) && !"https".equals(base.getScheme())) {
      throw new IllegalArgumentException("the server's address must be http:// or https://, got " + base);
    }
    String text = base.toString();
    URI normalized = URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
    HttpClient http =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(DEFAULT_TIMEOUT).build();
    return new FeatureClient(normalized, http, DEFAULT_TIMEOUT);
  }

  /** The server's address. */
  public URI base() {
    return base;
  }

  /**
   * The features of {@code view} for each id, in order; an on-demand or tiled view as of the server's now. {@code
   * POST /features/{view}}.
   */
  public List<FeatureVector> features(String view, List<String> ids) {
    return vectors(post("/features/" + segment(view), ids).get("results"));
  }

  /** The vector of feature service {@code service} for {@code id}. {@code GET /vectors/{service}/{id}}. */
  public FeatureVector vector(String service, String id) {
    return FeatureVector.of(get("/vectors/" + segment(service) + "/" + segment(id)));
  }

  /** The vectors of feature service {@code service}, one per id, in order. {@code POST /vectors/{service}}. */
  public List<FeatureVector> vectors(String service, List<String> ids) {
    return vectors(post("/vectors/" + segment(service), ids).get("results"));
  }

  /** Every view and feature service with its declaration, as the server describes them. {@code GET /registry}. */
  public JsonNode registry() {
    return get("/registry");
  }

  private static List<FeatureVector> vectors(JsonNode results) {
    List<FeatureVector> vectors = new ArrayList<>();
    results.forEach(result -> vectors.add(FeatureVector.of(result)));
    return vectors;
  }

  private JsonNode get(String path) {
    return send(HttpRequest.newBuilder(base.resolve(base.getPath() + path)).GET());
  }

  private JsonNode post(String path, List<String> ids) {
    String body;
    try {
      body = JSON.writeValueAsString(requireNonNull(ids, "ids"));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("ids cannot be written as JSON: " + ids, e);
    }
    return send(HttpRequest.newBuilder(base.resolve(base.getPath() + path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body, UTF_8)));
  }

  private JsonNode send(HttpRequest.Builder request) {
    HttpRequest built = request.timeout(timeout).header("Accept", "application/json").build();
    HttpResponse<String> response;
    try {
      response = http.send(built, HttpResponse.BodyHandlers.ofString(UTF_8));
    } catch (IOException e) {
      throw new FeatureClientException(0, "cannot reach the feature server at " + base + " (" + e
          + "); is it running? (./clickstream serve)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FeatureClientException(0, "interrupted while waiting for " + built.uri(), e);
    }
    JsonNode body;
    try {
      body = JSON.readTree(response.body());
    } catch (JsonProcessingException e) {
      throw new FeatureClientException(response.statusCode(), built.method() + " " + built.uri() + " answered "
          + response.statusCode() + " without JSON: is " + base + " a clickstream feature server?", e);
    }
    if (response.statusCode() != 200) {
      throw new FeatureClientException(response.statusCode(), body.path("error").asText(response.body()), null);
    }
    return body;
  }

  /** A path segment: names and ids are percent-encoded, never read as a path. */
  private static String segment(String value) {
    return URLEncoder.encode(requireNonNull(value, "name or id"), UTF_8).replace("+", "%20");
  }
}
