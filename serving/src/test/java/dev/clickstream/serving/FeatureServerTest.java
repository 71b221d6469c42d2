package dev.clickstream.serving;

import static dev.clickstream.store.FeatureTables.CTR_5MIN;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import io.javalin.Javalin;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The feature server on a random port over real H2 and real PostgreSQL stores, called over HTTP. Responses are
 * compared as whole JSON documents.
 */
class FeatureServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  /** 2024-01-01T00:00:00Z. */
  private static final long T0 = 1_704_067_200_000L;
  private static final long WINDOW = 300_000L;

  private Javalin app;

  @AfterEach
  void stop() {
    if (app != null) {
      app.stop();
    }
    ConnectionPools.closeAll();
  }

  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  // ---------------------------------------------------------------- GET one entity

  @ParameterizedTest
  @MethodSource("dialects")
  void getReturnsTheFeaturesOfAStoredUser(String dialect) throws Exception {
    serve(seededStore(dialect));

    Reply reply = get("/features/ctr_5min/u7");

    assertThat(reply.status, is(200));
    assertThat(reply.contentType, is("application/json"));
    assertThat(reply.body,
        is(json("{'feature_view':'ctr_5min','entity':{'user_id':'u7'},'status':'ok',"
            + "'features':{'impressions':12,'clicks':1,'ctr':0.0833},"
            + "'window_start':1704067200000,'window_end':1704067500000,'updated_at':1704067507000}")));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void anUndefinedCtrIsJsonNull(String dialect) throws Exception {
    serve(seededStore(dialect));

    Reply reply = get("/features/ctr_5min/u2");

    assertThat(reply.status, is(200));
    assertThat(reply.body,
        is(json("{'feature_view':'ctr_5min','entity':{'user_id':'u2'},'status':'ok',"
            + "'features':{'impressions':0,'clicks':0,'ctr':null},"
            + "'window_start':1704067500000,'window_end':1704067800000,'updated_at':1704067560000}")));
    assertThat(reply.body.get("features").has("ctr"), is(true));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void getOfAnUnknownUserIs404(String dialect) throws Exception {
    serve(seededStore(dialect));

    Reply reply = get("/features/ctr_5min/u9");

    assertThat(reply.status, is(404));
    assertThat(reply.contentType, is("application/json"));
    assertThat(reply.body, is(json("{'status':404,'error':'no ctr_5min features for user_id \\'u9\\''}")));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void anUnknownFeatureViewIs404NamingTheKnownOnes(String dialect) throws Exception {
    serve(seededStore(dialect));

    Reply one = get("/features/ctr_1h/u7");
    Reply many = post("/features/CTR_5MIN", "[\"u7\"]");

    assertThat(one.status, is(404));
    assertThat(one.body,
        is(json("{'status':404,'error':'unknown feature view \\'ctr_1h\\': known feature views are [ctr_5min]'}")));
    assertThat(many.status, is(404));
    assertThat(many.body,
        is(json("{'status':404,'error':'unknown feature view \\'CTR_5MIN\\': known feature views are [ctr_5min]'}")));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aUserIdWithSqlInItIsJustAnUnknownUser(String dialect) throws Exception {
    serve(seededStore(dialect));
    String id = "u1' OR '1'='1";

    Reply one = get("/features/ctr_5min/" + pathSegment(id));
    Reply many = post("/features/ctr_5min", JSON.writeValueAsString(List.of(id, "u7'; DROP TABLE ctr_5min; --")));
    Reply stillThere = get("/features/ctr_5min/u7");

    assertThat(one.status, is(404));
    assertThat(one.body, is(json("{'status':404,'error':'no ctr_5min features for user_id \\'u1\\' OR \\'1\\'=\\'1\\''}")));
    assertThat(many.status, is(200));
    assertThat(many.body,
        is(json("{'feature_view':'ctr_5min','results':["
            + "{'entity':{'user_id':'u1\\' OR \\'1\\'=\\'1'},'status':'not_found'},"
            + "{'entity':{'user_id':'u7\\'; DROP TABLE ctr_5min; --'},'status':'not_found'}]}")));
    assertThat(stillThere.status, is(200));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void getOfABlankOrControlCharacterIdIs400(String dialect) throws Exception {
    serve(seededStore(dialect));

    Reply blank = get("/features/ctr_5min/%20%20");
    Reply control = get("/features/ctr_5min/u%017");

    assertThat(blank.status, is(400));
    assertThat(blank.body, is(error(400, "user_id is blank: user ids are non-blank strings")));
    assertThat(control.status, is(400));
    assertThat(control.body, is(error(400, "user_id holds a control character: user ids are printable text")));
  }

  /** Jetty refuses these before routing; the answer is still a JSON error. */
  @Test
  void aMalformedUrlIs400Json() throws Exception {
    serve(seededStore("h2"));

    Reply badEscape = rawGet("/features/ctr_5min/u%zz");
    Reply nul = rawGet("/features/ctr_5min/u%007");

    assertThat(badEscape.status, is(400));
    assertThat(badEscape.contentType, is("application/json"));
    assertThat(badEscape.body, is(error(400, "malformed request: Bad Request")));
    assertThat(nul.status, is(400));
    assertThat(nul.body, is(error(400, "malformed request: Bad Request")));
  }

  // ---------------------------------------------------------------- POST many entities

  @ParameterizedTest
  @MethodSource("dialects")
  void postReturnsOneResultPerIdInRequestOrder(String dialect) throws Exception {
    serve(seededStore(dialect));
    JsonNode expected =
        json("{'feature_view':'ctr_5min','results':["
            + "{'entity':{'user_id':'u9'},'status':'not_found'},"
            + U7
            + ","
            + U2
            + ","
            + "{'entity':{'user_id':'u9'},'status':'not_found'},"
            + U7
            + "]}");

    Reply array = post("/features/ctr_5min", "[\"u9\",\"u7\",\"u2\",\"u9\",\"u7\"]");
    Reply object = post("/features/ctr_5min", "{\"user_ids\": [\"u9\", \"u7\", \"u2\", \"u9\", \"u7\"]}");

    assertThat(array.status, is(200));
    assertThat(array.contentType, is("application/json"));
    assertThat(array.body, is(expected));
    assertThat(object.status, is(200));
    assertThat(object.body, is(expected));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void postTakesUpToAThousandIds(String dialect) throws Exception {
    serve(seededStore(dialect));
    List<String> ids = new ArrayList<>();
    ArrayNode results = JsonNodeFactory.instance.arrayNode();
    for (int i = 0; i < UserIds.MAX_IDS; i++) {
      if (i == 0 || i == 600 || i == 999) {
        ids.add("u7");
        results.add(json(U7));
      } else {
        ids.add("x" + i);
        results.add(json("{'entity':{'user_id':'x" + i + "'},'status':'not_found'}"));
      }
    }
    ObjectNode expected = JsonNodeFactory.instance.objectNode().put("feature_view", "ctr_5min");
    expected.set("results", results);

    Reply reply = post("/features/ctr_5min", JSON.writeValueAsString(ids));

    assertThat(reply.status, is(200));
    assertThat(reply.body, is(expected));
  }

  /** Every malformed batch body, and the message that says what was wrong. */
  static Stream<Arguments> badBodies() {
    String expected =
        "expected a JSON array of 1 to 1000 user ids, like [\"u1\",\"u2\"], or an object {\"user_ids\": [\"u1\",\"u2\"]}";
    List<String> tooMany = new ArrayList<>();
    for (int i = 0; i <= 1000; i++) {
      tooMany.add("u" + i);
    }
    return Stream.of(
        Arguments.of("", "request body is empty: " + expected),
        Arguments.of("u1,u2", "request body is not valid JSON at line 1, column 3: " + expected),
        Arguments.of("[\"u1\", \"u2\"", "request body is not valid JSON at line 1, column 12: " + expected),
        Arguments.of("[\"u1\"] [\"u2\"]", "request body is not valid JSON at line 1, column 8: " + expected),
        Arguments.of("\"u1\"", "request body is a string: " + expected),
        Arguments.of("42", "request body is a number: " + expected),
        Arguments.of("null", "request body is null: " + expected),
        Arguments.of("{}", "request body has no \"user_ids\": " + expected),
        Arguments.of("{\"user_id\": [\"u1\"]}", "request body has unknown fields [user_id]: " + expected),
        Arguments.of("{\"user_ids\": [\"u1\"], \"features\": [\"ctr\"]}",
            "request body has unknown fields [features]: " + expected),
        Arguments.of("{\"user_ids\": \"u1\"}", "\"user_ids\" is a string, not an array: " + expected),
        Arguments.of("{\"user_ids\": null}", "\"user_ids\" is null, not an array: " + expected),
        Arguments.of("[]", "no user ids given: " + expected),
        Arguments.of("{\"user_ids\": []}", "no user ids given: " + expected),
        Arguments.of("[\"u1\", 7]", "user id at index 1 is a number: user ids are JSON strings, like \"u1\""),
        Arguments.of("[\"u1\", null]", "user id at index 1 is null: user ids are JSON strings, like \"u1\""),
        Arguments.of("[[\"u1\"]]", "user id at index 0 is an array: user ids are JSON strings, like \"u1\""),
        Arguments.of("{\"user_ids\": [{\"id\": \"u1\"}]}",
            "user id at index 0 is an object: user ids are JSON strings, like \"u1\""),
        Arguments.of("[\"u1\", \"\"]", "user id at index 1 is blank: user ids are non-blank strings"),
        Arguments.of("[\"u1\", \"u2\", \" \\t \"]", "user id at index 2 is blank: user ids are non-blank strings"),
        Arguments.of("[\"u\\u00001\"]", "user id at index 0 holds a control character: user ids are printable text"),
        Arguments.of(toJson(tooMany),
            "1001 user ids given, more than the 1000 allowed in one request: split the request"));
  }

  @ParameterizedTest
  @MethodSource("badBodies")
  void aBadBatchBodyIs400SayingWhatIsWrong(String body, String message) throws Exception {
    serve(seededStore("h2"));

    Reply reply = post("/features/ctr_5min", body);

    assertThat(reply.status, is(400));
    assertThat(reply.contentType, is("application/json"));
    assertThat(reply.body, is(error(400, message)));
  }

  // ---------------------------------------------------------------- health and an unavailable store

  @ParameterizedTest
  @MethodSource("dialects")
  void healthIsUpWhenTheStoreAnswers(String dialect) throws Exception {
    serve(seededStore(dialect));

    Reply reply = get("/health");

    assertThat(reply.status, is(200));
    assertThat(reply.body, is(json("{'status':'up','online_store':'up'}")));
  }

  @Test
  void anUnreachableStoreIs503WithoutDetailsAndHealthIsDown() throws Exception {
    serve(StoreFixtures.unreachableStore());
    long start = System.nanoTime();

    Reply health = get("/health");
    Reply one = get("/features/ctr_5min/u7");
    Reply many = post("/features/ctr_5min", "[\"u7\"]");
    Reply badBody = post("/features/ctr_5min", "[7]");
    Reply unknownView = get("/features/nope/u7");

    assertThat(health.status, is(503));
    assertThat(health.body, is(json("{'status':'down','online_store':'unreachable'}")));
    assertThat(one.status, is(503));
    assertThat(one.raw, is("{\"status\":503,\"error\":\"online store unavailable; retry later\"}"));
    assertThat(many.status, is(503));
    assertThat(many.raw, is("{\"status\":503,\"error\":\"online store unavailable; retry later\"}"));
    // What does not need the store still answers as usual.
    assertThat(badBody.status, is(400));
    assertThat(unknownView.status, is(404));
    assertThat(Duration.ofNanos(System.nanoTime() - start), is(lessThan(Duration.ofSeconds(5))));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void aFreshEmptyStoreAnswersNotFoundRatherThanFailing(String dialect) throws Exception {
    serve(OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect))); // no table yet

    Reply one = get("/features/ctr_5min/u7");
    Reply many = post("/features/ctr_5min", "[\"u7\"]");

    assertThat(one.status, is(404));
    assertThat(one.body, is(error(404, "no ctr_5min features for user_id 'u7'")));
    assertThat(many.status, is(200));
    assertThat(many.body,
        is(json("{'feature_view':'ctr_5min','results':[{'entity':{'user_id':'u7'},'status':'not_found'}]}")));
  }

  // ---------------------------------------------------------------- routes and errors

  @Test
  void theIndexListsTheEndpointsAndFeatureViews() throws Exception {
    serve(seededStore("h2"));

    Reply reply = get("/");

    assertThat(reply.status, is(200));
    assertThat(reply.body,
        is(JSON.readTree(
            """
            {"service": "clickstream feature server",
             "endpoints": [
               {"method": "GET", "path": "/features/{feature_view}/{user_id}",
                "description": "the latest features of one entity; 404 when it has none"},
               {"method": "POST", "path": "/features/{feature_view}",
                "description": "the latest features of many entities, one result per id in request order; the body \
            is a JSON array of 1 to 1000 user ids, like [\\"u1\\",\\"u2\\"], or an object \
            {\\"user_ids\\": [\\"u1\\",\\"u2\\"]}"},
               {"method": "GET", "path": "/health",
                "description": "200 when the online store answers, 503 when it does not"},
               {"method": "GET", "path": "/", "description": "this index"}],
             "feature_views": [
               {"name": "ctr_5min", "entity_key": "user_id",
                "features": ["impressions", "clicks", "ctr"],
                "times": ["window_start", "window_end", "updated_at"],
                "example": "/features/ctr_5min/{user_id}"}]}
            """)));
  }

  @Test
  void unknownRoutesAndMethodsAreJsonErrors() throws Exception {
    serve(seededStore("h2"));

    Reply unknown = get("/nothing/here");
    Reply tooShort = get("/features");
    Reply wrongMethod = get("/features/ctr_5min");

    assertThat(unknown.status, is(404));
    assertThat(unknown.contentType, is("application/json"));
    assertThat(unknown.body, is(error(404, "no endpoint GET /nothing/here; GET / lists the endpoints")));
    assertThat(tooShort.status, is(404));
    assertThat(tooShort.body, is(error(404, "no endpoint GET /features; GET / lists the endpoints")));
    assertThat(wrongMethod.status, is(405));
    assertThat(wrongMethod.body, is(error(405, "GET is not allowed on /features/ctr_5min; GET / lists the endpoints")));
  }

  @Test
  void anUnexpectedFailureIs500WithoutItsMessage() throws Exception {
    app = FeatureServer.create(seededStore("h2"));
    app.get("/test-only/fail", ctx -> {
      throw new IllegalStateException("SELECT secret FROM ctr_5min at dev.clickstream.Secret.line(42)");
    });
    app.start("127.0.0.1", 0);

    Reply reply = get("/test-only/fail");

    assertThat(reply.status, is(500));
    assertThat(reply.raw, is("{\"status\":500,\"error\":\"internal server error\"}"));
  }

  // ---------------------------------------------------------------- helpers

  /** u7 as every endpoint returns it. */
  private static final String U7 =
      "{'feature_view':'ctr_5min','entity':{'user_id':'u7'},'status':'ok',"
          + "'features':{'impressions':12,'clicks':1,'ctr':0.0833},"
          + "'window_start':1704067200000,'window_end':1704067500000,'updated_at':1704067507000}";

  private static final String U2 =
      "{'feature_view':'ctr_5min','entity':{'user_id':'u2'},'status':'ok',"
          + "'features':{'impressions':0,'clicks':0,'ctr':null},"
          + "'window_start':1704067500000,'window_end':1704067800000,'updated_at':1704067560000}";

  /** A fresh store holding u7 (12 impressions, 1 click) and u2 (no events: ctr undefined). */
  private static OnlineStore seededStore(String dialect) throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    store.ensureTable(CTR_5MIN);
    int applied =
        store.upsert(CTR_5MIN,
            List.of(
                new Object[] {"u7", T0, T0 + WINDOW, 12L, 1L, 0.0833, T0 + WINDOW + 7_000},
                new Object[] {"u2", T0 + WINDOW, T0 + 2 * WINDOW, 0L, 0L, null, T0 + WINDOW + 60_000}));
    assertThat(applied, is(2));
    return store;
  }

  private void serve(OnlineStore store) {
    app = FeatureServer.start(store, "127.0.0.1", 0);
  }

  private Reply get(String path) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  private Reply post(String path, String body) throws IOException, InterruptedException {
    return send(
        HttpRequest.newBuilder(uri(path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body, UTF_8)));
  }

  private Reply send(HttpRequest.Builder request) throws IOException, InterruptedException {
    HttpResponse<String> response =
        HTTP.send(request.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString(UTF_8));
    return new Reply(
        response.statusCode(),
        response.headers().firstValue("Content-Type").orElse(""),
        response.body(),
        JSON.readTree(response.body()));
  }

  /** A GET written by hand on a socket, for URLs that java.net.URI refuses to build. */
  private Reply rawGet(String path) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", app.port())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(UTF_8));
      out.flush();
      String response = new String(socket.getInputStream().readAllBytes(), UTF_8);
      int headersEnd = response.indexOf("\r\n\r\n");
      String[] head = response.substring(0, headersEnd).split("\r\n");
      String contentType = "";
      for (String header : head) {
        if (header.toLowerCase(Locale.ROOT).startsWith("content-type:")) {
          contentType = header.substring("content-type:".length()).trim();
        }
      }
      String body = response.substring(headersEnd + 4);
      return new Reply(Integer.parseInt(head[0].split(" ")[1]), contentType, body, JSON.readTree(body));
    }
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + app.port() + path);
  }

  private static String pathSegment(String value) {
    return URLEncoder.encode(value, UTF_8).replace("+", "%20");
  }

  /** JSON written with single quotes, for readable expectations; {@code \'} is a literal single quote. */
  private static JsonNode json(String singleQuoted) {
    String text = singleQuoted.replace("\\'", "\u0001").replace('\'', '"').replace("\u0001", "'");
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException("bad expectation " + text, e);
    }
  }

  private static JsonNode error(int status, String message) {
    return JsonNodeFactory.instance.objectNode().put("status", status).put("error", message);
  }

  private static String toJson(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** A response: its status, content type, raw body and the body parsed as JSON. */
  private static final class Reply {
    final int status;
    final String contentType;
    final String raw;
    final JsonNode body;

    Reply(int status, String contentType, String raw, JsonNode body) {
      this.status = status;
      this.contentType = contentType;
      this.raw = raw;
      this.body = body;
    }
  }
}
