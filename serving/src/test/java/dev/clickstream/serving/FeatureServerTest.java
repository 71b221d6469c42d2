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
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.DriftRecord;
import dev.clickstream.features.DriftRecord.Status;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.Partial;
import dev.clickstream.features.RollingWindows;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import io.javalin.Javalin;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The feature server on a random port over real H2, PostgreSQL and MariaDB stores, called over HTTP. Responses
 * are compared as whole JSON documents.
 */
class FeatureServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  /** 2024-01-01T00:00:00Z. */
  private static final long T0 = 1_704_067_200_000L;
  private static final long WINDOW = 300_000L;
  /** The servers' clock unless a test sets its own: the end of u2's ctr_5min window, before every click row. */
  private static final long NOW = T0 + 2 * WINDOW;

  private Javalin app;

  @AfterEach
  void stop() {
    if (app != null) {
      app.stop();
      app = null;
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
    assertThat(one.body, is(error(404, "unknown feature view 'ctr_1h': known feature views are " + KNOWN_VIEWS)));
    assertThat(many.status, is(404));
    assertThat(many.body, is(error(404, "unknown feature view 'CTR_5MIN': known feature views are " + KNOWN_VIEWS)));
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
    assertThat(blank.body, is(error(400, "user_id is blank: " + ID_RULE)));
    assertThat(control.status, is(400));
    assertThat(control.body, is(error(400, "user_id holds the control character U+0001 at index 1: " + ID_RULE)));
  }

  /**
   * The pipelines' id rule ({@code EntityIds}) over real HTTP: a NUL, bytes that are not UTF-8 (never a lookup of
   * U+FFFD, which would make different ids collide) and a lone surrogate are 400s, in a path or a body.
   */
  @Test
  void anIdThePipelinesWouldRefuseIs400() throws Exception {
    serve(seededStore("postgresql"));

    Reply nul = rawGet("/features/ctr_5min/u%00x");
    Reply notUtf8 = rawGet("/features/ctr_5min/u%FF");
    Reply replacement = get("/features/ctr_5min/u%EF%BF%BD");
    Reply loneSurrogate = post("/features/ctr_5min", "[\"u7\", \"u\\ud800x\"]");
    Reply notUtf8Body =
        send(HttpRequest.newBuilder(uri("/features/ctr_5min"))
            .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {'[', '"', 'u', (byte) 0xFF, '"', ']'})));

    assertThat(nul.status, is(400));
    assertThat(nul.contentType, is("application/json"));
    assertThat(nul.body, is(error(400, "malformed request: Bad Request")));
    // The server decodes %FF to U+FFFD, as it would any byte that is not UTF-8: refused, never looked up.
    JsonNode replacementCharacter =
        error(400, "user_id holds U+FFFD at index 1, the mark of bytes that were not valid UTF-8: " + ID_RULE);
    assertThat(notUtf8.status, is(400));
    assertThat(notUtf8.contentType, is("application/json"));
    assertThat(notUtf8.body, is(replacementCharacter));
    assertThat(replacement.status, is(400));
    assertThat(replacement.body, is(replacementCharacter));
    assertThat(loneSurrogate.status, is(400));
    assertThat(loneSurrogate.body,
        is(error(400, "user id at index 1 holds a lone surrogate U+D800 at index 1: " + ID_RULE)));
    assertThat(notUtf8Body.status, is(400));
    assertThat(notUtf8Body.body,
        is(error(400, "request body is not valid UTF-8: " + UserIds.EXPECTED + ", in UTF-8")));
  }

  /** The online store's keys are VARCHAR(256), and the pipelines refuse longer ids: so does the server. */
  @Test
  void anIdOfMoreThan256CharactersIs400() throws Exception {
    serve(seededStore("postgresql"));
    String longest = "u".repeat(256);
    String tooLong = "u".repeat(257);

    Reply getLongest = get("/features/ctr_5min/" + longest);
    Reply getTooLong = get("/features/ctr_5min/" + tooLong);
    Reply postLongest = post("/features/ctr_5min", "[\"" + longest + "\"]");
    Reply postTooLong = post("/features/ctr_5min", "[\"u7\", \"" + tooLong + "\"]");
    Reply postHuge = post("/features/click_counts_tiled", "[\"" + "u".repeat(900_000) + "\"]");

    assertThat(getLongest.status, is(404));
    assertThat(getTooLong.status, is(400));
    assertThat(getTooLong.body, is(error(400, "user_id holds 257 characters, more than the 256 allowed: " + ID_RULE)));
    assertThat(postLongest.status, is(200));
    assertThat(postLongest.body,
        is(json("{'feature_view':'ctr_5min','results':[{'entity':{'user_id':'" + longest + "'},'status':'not_found'}]}")));
    assertThat(postTooLong.status, is(400));
    assertThat(postTooLong.body,
        is(error(400, "user id at index 1 holds 257 characters, more than the 256 allowed: " + ID_RULE)));
    assertThat(postHuge.status, is(400));
    assertThat(postHuge.body,
        is(error(400, "user id at index 0 holds 900000 characters, more than the 256 allowed: " + ID_RULE)));
  }

  /**
   * A chunked body declares no size: the server stops reading it at 1 MB and answers 413 while the client is still
   * sending, rather than reading it whole first.
   */
  @Test
  void aChunkedBodyOverOneMegabyteIs413BeforeItEnds() throws Exception {
    serve(seededStore("h2"));

    Reply reply = unfinishedChunkedPost("/features/ctr_5min", "[\"" + "u".repeat(UserIds.MAX_BODY_BYTES) + "\"");

    assertThat(reply.status, is(413));
    assertThat(reply.contentType, is("application/json"));
    assertThat(reply.body,
        is(error(413, "request body is larger than 1000000 bytes: send at most 1000 user ids per request")));
  }

  /** A body with more than 1000 ids is refused at the 1001st id, while the client is still sending. */
  @Test
  void aBodyWithMoreIdsThanAllowedIs400AtTheFirstIdPastTheCap() throws Exception {
    serve(seededStore("h2"));
    List<String> ids = new ArrayList<>();
    for (int i = 0; i <= UserIds.MAX_IDS; i++) {
      ids.add("\"u" + i + "\"");
    }

    Reply reply = unfinishedChunkedPost("/features/ctr_5min", "[" + String.join(",", ids) + ",");

    assertThat(reply.status, is(400));
    assertThat(reply.body, is(error(400, "more than the 1000 user ids allowed in one request: split the request")));
  }

  /**
   * The server needs no DDL rights: a PostgreSQL user with USAGE and SELECT only is served, and a view whose table
   * does not exist is the 503 that says what creates it; nothing is created.
   */
  @Test
  void aDatabaseUserWithSelectRightsOnlyIsServedAndCreatesNothing() throws Exception {
    String ownerUrl = StoreFixtures.freshPostgresUrl();
    seed(OnlineStore.forUrl(ownerUrl));
    Matcher schema = Pattern.compile("currentSchema=(\\w+)").matcher(ownerUrl);
    assertThat(schema.find(), is(true));
    String reader = "reader_" + schema.group(1);
    try (Connection owner = DriverManager.getConnection(ownerUrl);
        Statement statement = owner.createStatement()) {
      statement.execute("CREATE ROLE " + reader + " LOGIN");
      statement.execute("GRANT USAGE ON SCHEMA " + schema.group(1) + " TO " + reader);
      statement.execute("GRANT SELECT ON ALL TABLES IN SCHEMA " + schema.group(1) + " TO " + reader);
    }
    OnlineStore.forUrl(ownerUrl).ensureTable(FeatureTables.USER_SESSIONS); // after the grants: not readable
    try {
      serve(OnlineStore.forServing(ownerUrl.replace("user=postgres", "user=" + reader)));

      Reply notReadable = get("/features/user_sessions/u7");
      Reply found = get("/features/ctr_5min/u7");
      Reply missing = get("/features/click_counts/u7");
      Reply tiled = get("/features/click_counts_tiled/u7?as_of=" + E1);
      Reply drift = get("/drift");
      Reply health = get("/health");

      // One table the user may not read is that view's 503, not an outage of the store: the next read works.
      assertThat(notReadable.status, is(503));
      assertThat(notReadable.raw, is("{\"status\":503,\"error\":\"online store unavailable; retry later\"}"));
      assertThat(found.status, is(200));
      assertThat(found.body, is(json(U7)));
      assertThat(missing.status, is(503));
      assertThat(missing.body, is(error(503, missingTables("click_counts", "table click_counts does"))));
      assertThat(tiled.status, is(503));
      assertThat(tiled.body,
          is(error(503, missingTables("click_counts_tiled", "tables click_tiles and click_events do"))));
      assertThat(drift.body, is(json("{'monitors':[{'feature':'ctr_5min.ctr','drift_status':'not_evaluated'}]}")));
      assertThat(health.body, is(json("{'status':'up','online_store':'up'}")));
      assertThat(tablesOf(ownerUrl, schema.group(1)), is(List.of("ctr_5min", "user_sessions")));
    } finally {
      stop();
      try (Connection owner = DriverManager.getConnection(ownerUrl);
          Statement statement = owner.createStatement()) {
        statement.execute("DROP OWNED BY " + reader);
        statement.execute("DROP ROLE " + reader);
      }
    }
  }

  /** Each monitor of the registry, not evaluated until its first row, then that row; also as a plain view. */
  @ParameterizedTest
  @ValueSource(strings = {"h2", "postgresql", "mariadb"})
  void driftShowsEveryMonitorsLatestStatus(String dialect) throws Exception {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    serve(store);

    Reply before = get("/drift");
    DriftMonitor monitor = FeatureDefinitions.CTR_DRIFT;
    store.ensureTable(FeatureTables.FEATURE_DRIFT);
    store.upsert(FeatureTables.FEATURE_DRIFT, List.<Object[]>of(
        monitor.row(new DriftRecord(monitor.name(), T0, T0 + 300_000, 120, 41, 0.3125, 0.25, Status.DRIFT), 7L)));
    Reply after = get("/drift");
    Reply view = get("/features/feature_drift/" + monitor.name());

    assertThat(before.status, is(200));
    assertThat(before.body,
        is(JSON.readTree("{\"monitors\": [{\"feature\": \"ctr_5min.ctr\", \"drift_status\": \"not_evaluated\"}]}")));
    assertThat(after.body,
        is(JSON.readTree("{\"monitors\": [{\"feature\": \"ctr_5min.ctr\", \"window_start\": " + T0
            + ", \"window_end\": " + (T0 + 300_000) + ", \"reference_count\": 120, \"recent_count\": 41,"
            + " \"psi\": 0.3125, \"ks\": 0.25, \"drift_status\": \"drift\", \"updated_at\": 7}]}")));
    assertThat(view.status, is(200));
    assertThat(view.body.get("features"),
        is(JSON.readTree("{\"reference_count\": 120, \"recent_count\": 41, \"psi\": 0.3125, \"ks\": 0.25,"
            + " \"drift_status\": \"drift\"}")));
  }

  /** Only the registries make views: ctr_5min has no definition, so no computed views; names are exact. */
  @Test
  void aComputedViewNameOutsideTheRegistryIs404() throws Exception {
    serve(seededStore("h2"));

    for (String name :
        List.of("ctr_5min_on_demand", "ctr_5min_tiled", "click_counts_on_demand_tiled", "Click_Counts_Tiled",
            "click_counts_ondemand", "click_events", "click_tiles")) {
      Reply one = get("/features/" + name + "/u1?as_of=" + E1);
      Reply many = post("/features/" + name + "?as_of=" + E1, "[\"u1\"]");

      assertThat(name, one.status, is(404));
      assertThat(name, one.body,
          is(error(404, "unknown feature view '" + name + "': known feature views are " + KNOWN_VIEWS)));
      assertThat(name, many.status, is(404));
    }
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
        Arguments.of("[\"u1\", \"\"]", "user id at index 1 is blank: " + ID_RULE),
        Arguments.of("[\"u1\", \"u2\", \" \\t \"]", "user id at index 2 is blank: " + ID_RULE),
        Arguments.of("[\"u\\u00001\"]", "user id at index 0 holds the control character U+0000 at index 1: " + ID_RULE),
        Arguments.of(toJson(tooMany),
            "more than the 1000 user ids allowed in one request: split the request"));
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

  // ---------------------------------------------------------------- click counts three ways

  /**
   * The key property: as of a pre-computed row's event_time, the on-demand and tiled views answer that row's
   * counts. u1's latest click is mid-tile, u2's on a tile boundary; both have two clicks in their latest millisecond
   * and a click exactly on, and one millisecond past, the start of every window.
   */
  @ParameterizedTest
  @MethodSource("dialects")
  void onDemandAndTiledAsOfAPrecomputedRowsEventTimeEqualThatRow(String dialect) throws Exception {
    serve(clickStore(dialect));

    for (String user : List.of("u1", "u2")) {
      long latest = LATEST_CLICK.get(user);
      Reply precomputed = get("/features/click_counts/" + user);
      Reply onDemand = get("/features/click_counts_on_demand/" + user + "?as_of=" + latest);
      Reply tiled = get("/features/click_counts_tiled/" + user + "?as_of=" + latest);

      assertThat(user, precomputed.status, is(200));
      // The clock is before the latest click, so the row is answered as stored, as of its event_time.
      assertThat(user, precomputed.body, is(precomputedClicks(user, 3, 5, 7, 9, latest, latest + 5_000)));
      assertThat(user, onDemand.status, is(200));
      assertThat(user, onDemand.body, is(computedClicks("click_counts_on_demand", user, 3, 5, 7, 9, latest, latest)));
      assertThat(user, tiled.status, is(200));
      assertThat(user, tiled.body, is(computedClicks("click_counts_tiled", user, 3, 5, 7, 9, latest, latest)));
      for (Reply computed : List.of(onDemand, tiled)) {
        assertThat(user, computed.body.get("features"), is(precomputed.body.get("features")));
        assertThat(user, computed.body.get("event_time"), is(precomputed.body.get("event_time")));
      }
    }
  }

  /**
   * Windows are {@code [as_of - length, as_of]}: one millisecond before the latest click drops its two clicks and
   * takes in each click one millisecond past a window's start; the hour after it still holds it at its very end.
   */
  @ParameterizedTest
  @MethodSource("dialects")
  void everyWindowHoldsBothOfItsEnds(String dialect) throws Exception {
    serve(clickStore(dialect));

    for (String user : List.of("u1", "u2")) {
      long latest = LATEST_CLICK.get(user);
      for (String view : List.of("click_counts_on_demand", "click_counts_tiled")) {
        String path = "/features/" + view + "/" + user + "?as_of=";
        String context = view + " " + user;

        assertThat(context, get(path + (latest - 1)).body,
            is(computedClicks(view, user, 2, 4, 6, 8, latest - MINUTE, latest - 1)));
        assertThat(context, get(path + (latest + HOUR)).body,
            is(computedClicks(view, user, 0, 0, 0, 2, latest, latest + HOUR)));
        assertThat(context, get(path + (latest + HOUR + 1)).body,
            is(computedClicks(view, user, 0, 0, 0, 0, null, latest + HOUR + 1)));
      }
    }
  }

  /** A computed view always has an answer once its tables exist, even before any event. */
  @ParameterizedTest
  @MethodSource("dialects")
  void aUserWithoutClicksHasZeroCountsOnDemandAndTiledButNoPrecomputedRow(String dialect) throws Exception {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    for (FeatureTable table : List.of(CLICKS.rawEventsTable(), CLICKS.tilesTable(), CLICKS.precomputedTable())) {
      store.ensureTable(table);
    }
    serve(store);

    Reply precomputed = get("/features/click_counts/u3");
    Reply onDemand = get("/features/click_counts_on_demand/u3?as_of=" + E1);
    Reply tiled = get("/features/click_counts_tiled/u3?as_of=" + E1);

    assertThat(precomputed.status, is(404));
    assertThat(precomputed.body, is(error(404, "no click_counts features for user_id 'u3'")));
    assertThat(onDemand.status, is(200));
    assertThat(onDemand.body, is(computedClicks("click_counts_on_demand", "u3", 0, 0, 0, 0, null, E1)));
    assertThat(tiled.status, is(200));
    assertThat(tiled.body, is(computedClicks("click_counts_tiled", "u3", 0, 0, 0, 0, null, E1)));
  }

  /**
   * One result per id in request order, all as of the same time. As of u1's latest click, u2's clicks in the hour
   * are the two at and just before the start of its own hour (E2 - 60 min, 29.5 s earlier); U1 is not u1.
   */
  @ParameterizedTest
  @MethodSource("dialects")
  void postToAComputedViewAnswersEveryIdInOrderAsOfOneTime(String dialect) throws Exception {
    serve(clickStore(dialect));
    String ids = "[\"u3\",\"u1\",\"U1\",\"u2\",\"u1\"]";

    for (String view : List.of("click_counts_on_demand", "click_counts_tiled")) {
      Reply reply = post("/features/" + view + "?as_of=" + E1, ids);

      ObjectNode expected = JsonNodeFactory.instance.objectNode().put("feature_view", view);
      expected.putArray("results")
          .add(computedClicks(view, "u3", 0, 0, 0, 0, null, E1))
          .add(computedClicks(view, "u1", 3, 5, 7, 9, E1, E1))
          .add(computedClicks(view, "U1", 4, 4, 4, 4, E1 - 1, E1))
          .add(computedClicks(view, "u2", 2, 2, 2, 2, E2 - HOUR, E1))
          .add(computedClicks(view, "u1", 3, 5, 7, 9, E1, E1));
      assertThat(view, reply.status, is(200));
      assertThat(view, reply.body, is(asParsed(expected)));
    }
  }

  /** Without as_of, computed views answer as of now by the server's clock, here fixed at u1's latest click. */
  @Test
  void asOfDefaultsToNowByTheServersClock() throws Exception {
    serve(clickStore("h2"), Clock.fixed(Instant.ofEpochMilli(E1), ZoneOffset.UTC));

    Reply onDemand = get("/features/click_counts_on_demand/u1");
    Reply tiled = get("/features/click_counts_tiled/u1");
    Reply many = post("/features/click_counts_tiled", "[\"u1\"]");

    assertThat(onDemand.body, is(computedClicks("click_counts_on_demand", "u1", 3, 5, 7, 9, E1, E1)));
    assertThat(tiled.body, is(computedClicks("click_counts_tiled", "u1", 3, 5, 7, 9, E1, E1)));
    assertThat(many.body.get("results").get(0), is(computedClicks("click_counts_tiled", "u1", 3, 5, 7, 9, E1, E1)));
  }

  @Test
  void asOfFromZeroToTheLastMillisecondOfYear9999IsAccepted() throws Exception {
    serve(clickStore("h2"));

    Reply first = get("/features/click_counts_on_demand/u1?as_of=0");
    Reply last = get("/features/click_counts_tiled/u1?as_of=253402300799999");
    Reply leadingZeros = get("/features/click_counts_tiled/u1?as_of=000" + E1);

    assertThat(first.body, is(computedClicks("click_counts_on_demand", "u1", 0, 0, 0, 0, null, 0)));
    assertThat(last.body, is(computedClicks("click_counts_tiled", "u1", 0, 0, 0, 0, null, 253_402_300_799_999L)));
    assertThat(leadingZeros.body, is(computedClicks("click_counts_tiled", "u1", 3, 5, 7, 9, E1, E1)));
  }

  /** Every malformed as_of (the raw query string after {@code as_of=}), and the message that says what was wrong. */
  static Stream<Arguments> badAsOfs() {
    String expected = ": send epoch milliseconds from 0 to 253402300799999 (9999-12-31T23:59:59.999Z),"
        + " like ?as_of=1704067200000";
    return Stream.of(
        Arguments.of("abc", "as_of must be epoch milliseconds, got 'abc'" + expected),
        Arguments.of("", "as_of must be epoch milliseconds, got ''" + expected),
        Arguments.of("1.5", "as_of must be epoch milliseconds, got '1.5'" + expected),
        Arguments.of("1e12", "as_of must be epoch milliseconds, got '1e12'" + expected),
        Arguments.of("%2B5", "as_of must be epoch milliseconds, got '+5'" + expected),
        Arguments.of("%205", "as_of must be epoch milliseconds, got ' 5'" + expected),
        Arguments.of("2024-01-01T00:00:00Z", "as_of must be epoch milliseconds, got '2024-01-01T00:00:00Z'" + expected),
        Arguments.of("1' OR '1'='1", "as_of must be epoch milliseconds, got '1' OR '1'='1'" + expected),
        Arguments.of("x".repeat(100), "as_of must be epoch milliseconds, got '" + "x".repeat(40) + "...'" + expected),
        Arguments.of("-1", "as_of is negative, got '-1'" + expected),
        Arguments.of("253402300800000", "as_of is after the year 9999, got '253402300800000'" + expected),
        Arguments.of("99999999999999999999", "as_of is after the year 9999, got '99999999999999999999'" + expected),
        Arguments.of("1&as_of=2", "as_of is given 2 times: give it once; " + expected.substring(2)));
  }

  @ParameterizedTest
  @MethodSource("badAsOfs")
  void aBadAsOfIs400SayingWhatToSend(String asOf, String message) throws Exception {
    serve(clickStore("h2"));
    String query = "?as_of=" + asOf.replace(" ", "%20").replace("'", "%27");

    for (Reply reply :
        List.of(get("/features/click_counts_on_demand/u1" + query), get("/features/click_counts_tiled/u1" + query),
            post("/features/click_counts_on_demand" + query, "[\"u1\"]"))) {
      assertThat(reply.status, is(400));
      assertThat(reply.contentType, is("application/json"));
      assertThat(reply.body, is(error(400, message)));
    }
  }

  /** A pre-computed view is as of its latest event: asking for another time is a mistake, not something to ignore. */
  @Test
  void asOfOnAPrecomputedViewIs400() throws Exception {
    serve(clickStore("h2"));

    Reply one = get("/features/click_counts/u1?as_of=" + E1);
    Reply many = post("/features/ctr_5min?as_of=" + E1, "[\"u7\"]");

    assertThat(one.status, is(400));
    assertThat(one.body,
        is(error(400, "as_of applies only to on-demand and tiled views, and click_counts is pre-computed: drop"
            + " as_of, or name an on-demand or tiled view (GET / lists them)")));
    assertThat(many.status, is(400));
    assertThat(many.body,
        is(error(400, "as_of applies only to on-demand and tiled views, and ctr_5min is pre-computed: drop"
            + " as_of, or name an on-demand or tiled view (GET / lists them)")));
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
    Reply onDemand = get("/features/click_counts_on_demand/u7?as_of=" + E1);
    Reply tiled = get("/features/click_counts_tiled/u7");
    Reply computedMany = post("/features/click_counts_tiled?as_of=" + E1, "[\"u7\"]");
    Reply badAsOf = get("/features/click_counts_on_demand/u7?as_of=abc");

    assertThat(health.status, is(503));
    assertThat(health.body.get("status").asText(), is("down"));
    assertThat(health.body.get("online_store").asText(), is("unreachable"));
    assertThat(health.body.get("reason").asText(),
        is("timed out waiting for a connection: cannot connect to the database, or the connection broke"
            + " (SQLState 08001)"));
    assertThat(health.raw, not(containsString("secret")));
    assertThat(one.status, is(503));
    assertThat(one.raw, is("{\"status\":503,\"error\":\"online store unavailable; retry later\"}"));
    assertThat(many.status, is(503));
    assertThat(many.raw, is("{\"status\":503,\"error\":\"online store unavailable; retry later\"}"));
    for (Reply computed : List.of(onDemand, tiled, computedMany)) {
      assertThat(computed.status, is(503));
      assertThat(computed.raw, is("{\"status\":503,\"error\":\"online store unavailable; retry later\"}"));
    }
    // What does not need the store still answers as usual.
    assertThat(badBody.status, is(400));
    assertThat(unknownView.status, is(404));
    assertThat(badAsOf.status, is(400));
    assertThat(Duration.ofNanos(System.nanoTime() - start), is(lessThan(Duration.ofSeconds(5))));
  }

  /**
   * A store no pipeline has written to: the server creates nothing, and a view whose table is missing is a 503 that
   * names the table and what creates it; drift monitors are simply not evaluated yet.
   */
  @ParameterizedTest
  @MethodSource("dialects")
  void aMissingTableIs503SayingWhatCreatesItAndNoTableIsCreated(String dialect) throws Exception {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect)); // no table yet
    serve(store);

    Reply one = get("/features/ctr_5min/u7");
    Reply many = post("/features/ctr_5min", "[\"u7\"]");
    Reply onDemand = get("/features/click_counts_on_demand/u7?as_of=" + E1);
    Reply tiled = post("/features/click_counts_tiled?as_of=" + E1, "[\"u7\"]");
    Reply drift = get("/drift");
    Reply health = get("/health");

    for (Reply reply : List.of(one, many)) {
      assertThat(reply.status, is(503));
      assertThat(reply.body, is(error(503, missingTables("ctr_5min", "table ctr_5min does"))));
    }
    assertThat(onDemand.status, is(503));
    assertThat(onDemand.body, is(error(503, missingTables("click_counts_on_demand", "table click_events does"))));
    assertThat(tiled.status, is(503));
    assertThat(tiled.body,
        is(error(503, missingTables("click_counts_tiled", "tables click_tiles and click_events do"))));
    assertThat(drift.status, is(200));
    assertThat(drift.body, is(json("{'monitors':[{'feature':'ctr_5min.ctr','drift_status':'not_evaluated'}]}")));
    assertThat(health.body, is(json("{'status':'up','online_store':'up'}")));
    for (FeatureTable table : FeatureTables.all()) {
      assertThat(table.name(), store.hasTable(table), is(false));
    }
    assertThat(store.hasTable(CLICKS.rawEventsTable()), is(false));
    assertThat(store.hasTable(CLICKS.tilesTable()), is(false));
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
                "description": "the features of one entity: a pre-computed view's latest row, status stale past its \
            max_age, a rolling feature's windows as of now, 404 when it has none; an on-demand or tiled view's \
            windows as of ?as_of=EPOCH_MS (default now), zero counts when it has no events"},
               {"method": "POST", "path": "/features/{feature_view}",
                "description": "the features of many entities, one result per id in request order, on-demand and \
            tiled views as of ?as_of=EPOCH_MS (default now); the body \
            is a JSON array of 1 to 1000 user ids, like [\\"u1\\",\\"u2\\"], or an object \
            {\\"user_ids\\": [\\"u1\\",\\"u2\\"]}"},
               {"method": "GET", "path": "/vectors/{feature_service}/{entity_id}",
                "description": "one entity's vector of a feature service: its columns as view.column, and each \
            view's status and times"},
               {"method": "POST", "path": "/vectors/{feature_service}",
                "description": "one vector per entity, in request order, as of one now; the body is a JSON array \
            of 1 to 1000 user ids, like [\\"u1\\",\\"u2\\"], or an object {\\"user_ids\\": [\\"u1\\",\\"u2\\"]}"},
               {"method": "GET", "path": "/registry",
                "description": "every view and feature service with its whole declaration: source, filter, key, \
            windows, aggregations, column types, time semantics, max_age and description"},
               {"method": "GET", "path": "/drift",
                "description": "each monitored feature's latest drift evaluation: PSI and KS of its latest window \
            against the windows before, and ok, drift, insufficient_data or not_evaluated"},
               {"method": "GET", "path": "/health",
                "description": "200 when the online store answers, 503 with the reason when it does not"},
               {"method": "GET", "path": "/metrics",
                "description": "the server's metrics in Prometheus' text format: requests by view and status, lookups \
            by entity status, store reads, the pool, each view's newest row age"},
               {"method": "GET", "path": "/status",
                "description": "a page plotting requests/s and p99 per view, freshness, drift, dead letters and \
            pipeline events/s; refreshes itself"},
               {"method": "GET", "path": "/status.json",
                "description": "what /status plots, each series cut to its latest ?points=N points"},
               {"method": "GET", "path": "/", "description": "this index"}],
             "feature_views": [
               {"name": "ctr_5min", "pattern": "pre-computed", "entity_key": "user_id",
                "features": ["impressions", "clicks", "ctr"],
                "times": ["window_start", "window_end", "updated_at"],
                "example": "/features/ctr_5min/{user_id}"},
               {"name": "click_counts", "pattern": "pre-computed", "entity_key": "user_id",
                "features": ["click_count_1_min", "click_count_10_min", "click_count_30_min", "click_count_1_hour"],
                "times": ["event_time", "updated_at"],
                "example": "/features/click_counts/{user_id}"},
               {"name": "click_counts_sliding", "pattern": "pre-computed", "entity_key": "user_id",
                "features": ["click_count_1_min", "click_count_10_min", "click_count_30_min", "click_count_1_hour"],
                "times": ["window_end", "updated_at"],
                "example": "/features/click_counts_sliding/{user_id}"},
               {"name": "ctr_by_segment_5min", "pattern": "pre-computed", "entity_key": "user_segment",
                "features": ["impressions", "clicks", "ctr"],
                "times": ["window_start", "window_end", "updated_at"],
                "example": "/features/ctr_by_segment_5min/{user_segment}"},
               {"name": "ctr_by_category_5min", "pattern": "pre-computed", "entity_key": "item_category",
                "features": ["impressions", "clicks", "ctr"],
                "times": ["window_start", "window_end", "updated_at"],
                "example": "/features/ctr_by_category_5min/{item_category}"},
               {"name": "user_activity_5min", "pattern": "pre-computed", "entity_key": "user_id",
                "features": ["events", "clicks", "distinct_items", "price_p50", "price_p90", "clicks_avg_15min"],
                "times": ["window_start", "window_end", "updated_at"],
                "example": "/features/user_activity_5min/{user_id}"},
               {"name": "item_attribution_5min", "pattern": "pre-computed", "entity_key": "item_id",
                "features": ["impressions", "clicks", "attributed_clicks", "unattributed_clicks", "attributed_ctr",
                  "mean_time_to_click_ms"],
                "times": ["window_start", "window_end", "updated_at"],
                "example": "/features/item_attribution_5min/{item_id}"},
               {"name": "user_sessions", "pattern": "pre-computed", "entity_key": "user_id",
                "features": ["session_length_ms", "events", "clicks"],
                "times": ["session_start", "session_end", "updated_at"],
                "example": "/features/user_sessions/{user_id}"},
               {"name": "feature_drift", "pattern": "pre-computed", "entity_key": "feature",
                "features": ["reference_count", "recent_count", "psi", "ks", "drift_status"],
                "times": ["window_start", "window_end", "updated_at"],
                "example": "/features/feature_drift/{feature}"},
               {"name": "click_counts_on_demand", "pattern": "on-demand", "entity_key": "user_id",
                "features": ["click_count_1_min", "click_count_10_min", "click_count_30_min", "click_count_1_hour"],
                "times": ["event_time", "as_of"],
                "example": "/features/click_counts_on_demand/{user_id}?as_of={epoch_ms}"},
               {"name": "click_counts_tiled", "pattern": "tiled", "entity_key": "user_id",
                "features": ["click_count_1_min", "click_count_10_min", "click_count_30_min", "click_count_1_hour"],
                "times": ["event_time", "as_of"],
                "example": "/features/click_counts_tiled/{user_id}?as_of={epoch_ms}"}],
             "feature_services": [
               {"name": "ranking_v1",
                "features": ["ctr_5min.ctr", "click_counts.click_count_1_min", "click_counts.click_count_10_min",
                  "click_counts.click_count_30_min", "click_counts.click_count_1_hour",
                  "user_activity_5min.distinct_items"],
                "example": "/vectors/ranking_v1/{entity_id}"}]}
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

  private static final WindowedAggregation CLICKS = FeatureDefinitions.CLICK_COUNTS;
  private static final long MINUTE = 60_000L;
  private static final long HOUR = 60 * MINUTE;
  /** u1's latest click: mid-tile, 30.5 s into 02:00. */
  private static final long E1 = T0 + 2 * HOUR + 30_500;
  /** u2's latest click: on a tile boundary, 03:00. */
  private static final long E2 = T0 + 3 * HOUR;
  private static final Map<String, Long> LATEST_CLICK = Map.of("u1", E1, "u2", E2);
  /**
   * How long before its latest click each of u1's and u2's clicks is: two in the latest millisecond, then one on and
   * one just past the start of each window (as of the latest click), and one two hours back. As of the latest
   * click the windows hold 3, 5, 7 and 9 clicks.
   */
  private static final List<Long> CLICKS_BEFORE_LATEST =
      List.of(0L, 0L, MINUTE, MINUTE + 1, 10 * MINUTE, 10 * MINUTE + 1, 30 * MINUTE, 30 * MINUTE + 1, HOUR,
          HOUR + 1, 2 * HOUR);

  /** What an id may be, as 400s say after what was wrong. */
  private static final String ID_RULE =
      "ids are 1 to 256 characters, not all white space, without control characters, lone surrogates or U+FFFD";

  private static final List<String> KNOWN_VIEWS =
      List.of("ctr_5min", "click_counts", "click_counts_sliding", "ctr_by_segment_5min", "ctr_by_category_5min",
          "user_activity_5min", "item_attribution_5min", "user_sessions", "feature_drift", "click_counts_on_demand",
          "click_counts_tiled");

  /**
   * A fresh store holding what the click pipelines would write for u1, u2 ({@link #CLICKS_BEFORE_LATEST}) and U1
   * (four clicks 1 ms before u1's latest): every raw click, the per-minute tiles, and u1's and u2's pre-computed rows
   * as of their latest click, computed in memory, written 5 s after it.
   */
  private static OnlineStore clickStore(String dialect) throws SQLException {
    Map<String, List<Long>> clicks = new LinkedHashMap<>();
    for (Map.Entry<String, Long> user : new TreeMap<>(LATEST_CLICK).entrySet()) {
      clicks.put(user.getKey(), CLICKS_BEFORE_LATEST.stream().map(before -> user.getValue() - before).toList());
    }
    clicks.put("U1", List.of(E1 - 1, E1 - 1, E1 - 1, E1 - 1));

    List<Object[]> raw = new ArrayList<>();
    List<Object[]> tiles = new ArrayList<>();
    List<Object[]> precomputed = new ArrayList<>();
    for (Map.Entry<String, List<Long>> user : clicks.entrySet()) {
      NavigableMap<Long, Partial> byTime = new TreeMap<>();
      NavigableMap<Long, Partial> byTile = new TreeMap<>();
      for (long time : user.getValue()) {
        raw.add(CLICKS.rawEventRow(user.getKey() + "-" + raw.size(), user.getKey(), time, null));
        byTime.computeIfAbsent(time, t -> new Partial()).add(time, null);
        byTile.computeIfAbsent(CLICKS.tileStart(time), t -> new Partial()).add(time, null);
      }
      byTile.forEach((start, partial) -> tiles.add(CLICKS.tileRow(user.getKey(), start, partial, start + MINUTE)));
      Long latest = LATEST_CLICK.get(user.getKey());
      if (latest != null) {
        Partial[] perWindow = RollingWindows.aggregate(CLICKS.windows(), byTime, latest);
        precomputed.add(CLICKS.precomputedRow(user.getKey(), latest, perWindow, latest + 5_000));
      }
    }
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect));
    for (FeatureTable table : List.of(CLICKS.rawEventsTable(), CLICKS.tilesTable(), CLICKS.precomputedTable())) {
      store.ensureTable(table);
    }
    assertThat(store.upsert(CLICKS.rawEventsTable(), raw), is(26));
    assertThat(store.upsert(CLICKS.tilesTable(), tiles), is(tiles.size()));
    assertThat(store.upsert(CLICKS.precomputedTable(), precomputed), is(2));
    return store;
  }

  /** A click_counts row as {@code GET /features/click_counts/{user}} returns it. */
  private static JsonNode precomputedClicks(
      String user, long oneMin, long tenMin, long thirtyMin, long oneHour, long eventTime, long updatedAt) {
    ObjectNode entry = clicksEntry("click_counts", user, oneMin, tenMin, thirtyMin, oneHour);
    entry.put("event_time", eventTime);
    entry.put("updated_at", updatedAt);
    entry.put("as_of", eventTime);
    return asParsed(entry);
  }

  /** An on-demand or tiled answer: the pre-computed shape, without updated_at and with as_of. */
  private static JsonNode computedClicks(
      String view, String user, long oneMin, long tenMin, long thirtyMin, long oneHour, Long eventTime,
      long asOf) {
    ObjectNode entry = clicksEntry(view, user, oneMin, tenMin, thirtyMin, oneHour);
    entry.put("event_time", eventTime);
    entry.put("as_of", asOf);
    return asParsed(entry);
  }

  /** {@code node} as a response parses: small numbers are ints there, where {@code put(long)} made longs. */
  private static JsonNode asParsed(JsonNode node) {
    try {
      return JSON.readTree(node.toString());
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static ObjectNode clicksEntry(
      String view, String user, long oneMin, long tenMin, long thirtyMin, long oneHour) {
    ObjectNode entry = JsonNodeFactory.instance.objectNode().put("feature_view", view);
    entry.putObject("entity").put("user_id", user);
    entry.put("status", "ok");
    entry.putObject("features")
        .put("click_count_1_min", oneMin)
        .put("click_count_10_min", tenMin)
        .put("click_count_30_min", thirtyMin)
        .put("click_count_1_hour", oneHour);
    return entry;
  }

  /** A fresh store holding u7 (12 impressions, 1 click) and u2 (no events: ctr undefined). */
  private static OnlineStore seededStore(String dialect) throws SQLException {
    return seed(OnlineStore.forUrl(StoreFixtures.freshStoreUrl(dialect)));
  }

  /** {@code store} with u7 and u2 in ctr_5min ({@link #seededStore}). */
  private static OnlineStore seed(OnlineStore store) throws SQLException {
    store.ensureTable(CTR_5MIN);
    int applied =
        store.upsert(CTR_5MIN,
            List.of(
                new Object[] {"u7", T0, T0 + WINDOW, 12L, 1L, 0.0833, T0 + WINDOW + 7_000},
                new Object[] {"u2", T0 + WINDOW, T0 + 2 * WINDOW, 0L, 0L, null, T0 + WINDOW + 60_000}));
    assertThat(applied, is(2));
    return store;
  }

  /**
   * Serves {@code store} with the clock at {@link #NOW}: every stored row is within its max age, and before the click
   * rows' event times, so they are answered as stored.
   */
  private void serve(OnlineStore store) {
    serve(store, Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC));
  }

  private void serve(OnlineStore store, Clock clock) {
    app = FeatureServer.create(store, clock).start("127.0.0.1", 0);
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

  /**
   * A POST whose chunked body is {@code body} and then never ends: the reply the server gives without the rest. Fails
   * (times out) if the server waits for the end of the body.
   */
  private Reply unfinishedChunkedPost(String path, String body) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", app.port())) {
      socket.setSoTimeout(5_000);
      OutputStream out = socket.getOutputStream();
      byte[] bytes = body.getBytes(UTF_8);
      out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(bytes.length) + "\r\n").getBytes(UTF_8));
      out.write(bytes);
      out.write("\r\n".getBytes(UTF_8));
      out.flush();
      return readReply(socket.getInputStream());
    }
  }

  /** One HTTP/1.1 response with a Content-Length or a chunked body, read from {@code in}. */
  private static Reply readReply(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the connection closed in the response's headers: " + head);
      }
      head.append((char) b);
    }
    String[] lines = head.toString().split("\r\n");
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      String[] header = lines[i].split(":", 2);
      headers.put(header[0].trim().toLowerCase(Locale.ROOT), header[1].trim());
    }
    byte[] body;
    if (headers.containsKey("content-length")) {
      body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
    } else {
      java.io.ByteArrayOutputStream chunks = new java.io.ByteArrayOutputStream();
      for (int size; (size = Integer.parseInt(readLine(in), 16)) > 0; ) {
        chunks.write(in.readNBytes(size));
        readLine(in);
      }
      body = chunks.toByteArray();
    }
    String raw = new String(body, UTF_8);
    return new Reply(Integer.parseInt(lines[0].split(" ")[1]), headers.getOrDefault("content-type", ""), raw,
        JSON.readTree(raw));
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b; (b = in.read()) >= 0 && b != '\n'; ) {
      if (b != '\r') {
        line.append((char) b);
      }
    }
    return line.toString();
  }

  /** The tables in PostgreSQL schema {@code schema}, by name. */
  private static List<String> tablesOf(String url, String schema) throws SQLException {
    List<String> tables = new ArrayList<>();
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement();
        ResultSet names = statement.executeQuery(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '" + schema
                + "' ORDER BY table_name")) {
      while (names.next()) {
        tables.add(names.getString(1));
      }
    }
    return tables;
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

  private static String missingTables(String view, String tablesDo) {
    return "feature view " + view + " has no data yet: " + tablesDo + " not exist in the online store. The pipeline"
        + " that computes it creates it on its first run (./clickstream run --help lists them); then retry";
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
