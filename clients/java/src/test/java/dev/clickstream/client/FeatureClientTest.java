package dev.clickstream.client;

import static dev.clickstream.client.ServedForClients.CLICK;
import static dev.clickstream.client.ServedForClients.MINUTE;
import static dev.clickstream.client.ServedForClients.NOW;
import static dev.clickstream.client.ServedForClients.T0;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.store.ConnectionPools;
import io.javalin.Javalin;
import java.net.ServerSocket;
import java.net.URI;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Java client against a real feature server ({@link ServedForClients}). */
class FeatureClientTest {
  private static Javalin server;
  private static FeatureClient client;

  @BeforeAll
  static void serve() throws Exception {
    server = ServedForClients.start();
    client = FeatureClient.of(URI.create("http://127.0.0.1:" + server.port() + "/"));
  }

  @AfterAll
  static void stop() {
    server.stop();
    ConnectionPools.closeAll();
  }

  @Test
  void featuresOfAViewAreOnePerIdWithStatusAndTimes() {
    List<FeatureVector> vectors = client.features("ctr_5min", List.of("u1", "u2", "u3"));

    assertThat(vectors.get(0).status(), is("ok"));
    assertThat(vectors.get(0).features(), is(map("impressions", 4L, "clicks", 1L, "ctr", 0.25)));
    assertThat(vectors.get(0).times(),
        is(map("window_start", T0, "window_end", T0 + 5 * MINUTE, "updated_at", T0 + 5 * MINUTE + 2_000)));
    assertThat(vectors.get(1).status(), is("stale"));
    assertThat(vectors.get(1).features().get("ctr"), is(0.5));
    assertThat(vectors.get(2).status(), is("not_found"));
    assertThat(vectors.get(2).entity(), is("u3"));
    assertThat(vectors.get(2).features(), is(Map.of()));
  }

  /** The pre-computed click counts as of the server's now: the click is 2 minutes old, out of the 1-minute window. */
  @Test
  void aServiceVectorNamesItsColumnsByViewAndHasEachViewsStatus() {
    FeatureVector vector = client.vector("ranking_v1", "u1");

    assertThat(vector.name(), is("ranking_v1"));
    assertThat(vector.entityKey(), is("user_id"));
    assertThat(vector.entity(), is("u1"));
    assertThat(vector.features(),
        is(map("ctr_5min.ctr", 0.25, "click_counts.click_count_1_min", 0L, "click_counts.click_count_10_min", 1L,
            "click_counts.click_count_30_min", 1L, "click_counts.click_count_1_hour", 1L,
            "user_activity_5min.distinct_items", null)));
    assertThat(vector.views().get("click_counts"),
        is(map("status", "ok", "event_time", CLICK, "updated_at", CLICK + 1_000, "as_of", NOW)));
    assertThat(vector.views().get("user_activity_5min"), is(map("status", "not_found")));
    assertThat(client.vectors("ranking_v1", List.of("u2", "u1")).get(1), is(vector));
  }

  @Test
  void theRegistryListsTheServices() {
    assertThat(client.registry().path("feature_services").path(0).path("name").asText(), is("ranking_v1"));
  }

  @Test
  void refusalsCarryTheServersStatusAndMessage() throws Exception {
    FeatureClientException unknown =
        assertThrows(FeatureClientException.class, () -> client.vector("ranking_v9", "u1"));
    FeatureClientException badId =
        assertThrows(FeatureClientException.class, () -> client.features("ctr_5min", List.of("u\u0001")));
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    FeatureClient nowhere = FeatureClient.of(URI.create("http://127.0.0.1:" + closedPort));
    FeatureClientException unreachable =
        assertThrows(FeatureClientException.class, () -> nowhere.features("ctr_5min", List.of("u1")));

    assertThat(unknown.status(), is(404));
    assertThat(unknown.getMessage(), is("unknown feature service 'ranking_v9': known feature services are"
        + " [ranking_v1] (GET /registry describes them)"));
    assertThat(badId.status(), is(400));
    assertThat(badId.getMessage().startsWith("user id at index 0 holds the control character U+0001 at index 1"),
        is(true));
    assertThat(unreachable.status(), is(0));
    assertThat(unreachable.getMessage().startsWith("cannot reach the feature server at http://127.0.0.1:" + closedPort),
        is(true));
  }

  /** An ordered map of alternating keys and values, nulls allowed. */
  private static Map<String, Object> map(Object... keysAndValues) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return map;
  }
}
