package dev.clickstream.runners;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.pipelines.FeaturePipeline;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.serving.FeatureServer;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import io.javalin.Javalin;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The claim that a declaration is all a feature needs, end to end: clicks per user country over 10-minute windows,
 * a feature of the enriched stream that is not in the project's registry, is declared below and nowhere else. One
 * {@link FeaturePipeline} run and one {@link FeatureServer} over a registry that adds it give it a table, a streaming
 * computation, offline files, a served view and its line in the server's index; the served values equal a plain-Java
 * computation over the same events.
 */
class NewFeatureEndToEndTest {
  /** 2025-11-22T08:20:00Z, a 10-minute boundary. */
  private static final long START = 1_763_799_600_000L;
  private static final long TEN_MINUTES = 600_000L;
  private static final long UPDATED_AT = 11L;
  /** The server's clock: the end of the last window, when every country's latest row is within its max age. */
  private static final Clock AFTER_THE_EVENTS =
      Clock.fixed(java.time.Instant.ofEpochMilli(START + 30 * 60_000L), java.time.ZoneOffset.UTC);

  private static final TumblingAggregation CLICKS_BY_COUNTRY_10MIN =
      TumblingAggregation.named("clicks_by_country_10min")
          .groupBy("user_country")
          .window(minutes(10))
          .agg(count().where("event_type", "click").as("clicks"), count().as("events"))
          .build();

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aDeclaredFeatureIsComputedStoredServedAndIndexed(@TempDir Path dir) throws Exception {
    Path dimensions = Files.createDirectories(dir.resolve("dimensions"));
    List<String> users = new ArrayList<>();
    for (int user = 0; user < 6; user++) {
      users.add("{\"user_id\":\"u" + user + "\",\"country\":\"" + (user % 3 == 0 ? "fr" : user % 3 == 1 ? "de" : "it")
          + "\"}");
    }
    Files.write(dimensions.resolve("users.jsonl"), users, StandardCharsets.UTF_8);
    Files.write(dimensions.resolve("items.jsonl"), List.of("{\"item_id\":\"i0\",\"category\":\"shoes\"}"),
        StandardCharsets.UTF_8);
    Random random = new Random(31);
    List<String> lines = new ArrayList<>();
    // country -> window start -> {clicks, events}; u6 and u7 are not in the users table: country "unknown".
    Map<String, TreeMap<Long, long[]>> expected = new TreeMap<>();
    for (int i = 0; i < 120; i++) {
      int user = random.nextInt(8);
      long timestamp = START + (long) (random.nextDouble() * 25 * 60_000);
      boolean click = random.nextInt(3) == 0;
      lines.add("{\"event_id\":\"e" + i + "\",\"user_id\":\"u" + user + "\",\"event_type\":\""
          + (click ? "click" : "impression") + "\",\"item_id\":\"i0\",\"timestamp\":" + timestamp + "}");
      String country = user >= 6 ? "unknown" : user % 3 == 0 ? "fr" : user % 3 == 1 ? "de" : "it";
      long[] counts = expected.computeIfAbsent(country, unused -> new TreeMap<>())
          .computeIfAbsent(timestamp - timestamp % TEN_MINUTES, unused -> new long[2]);
      counts[0] += click ? 1 : 0;
      counts[1]++;
    }
    Path input = dir.resolve("events.jsonl");
    Files.write(input, lines, StandardCharsets.UTF_8);
    FeaturePipelineOptions options = PipelineOptionsFactory.as(FeaturePipelineOptions.class);
    options.setRunner(DirectRunner.class);
    options.setFeatures(List.of(CLICKS_BY_COUNTRY_10MIN.name()));
    options.setInput(input.toString());
    options.setDimensions(dimensions.toString());
    options.setOnlineStore(StoreFixtures.freshH2Url());
    options.setOfflineStore(dir.resolve("offline").toString());
    options.setDeadLetter(dir.resolve("dead-letters.jsonl").toString());
    FeatureRegistry registry = FeatureDefinitions.REGISTRY.plus(CLICKS_BY_COUNTRY_10MIN);

    Pipeline pipeline = Pipeline.create(options);
    FeaturePipeline.build(pipeline, options, () -> UPDATED_AT, registry);
    assertThat(pipeline.run().waitUntilFinish(), equalTo(PipelineResult.State.DONE));

    Javalin server =
        FeatureServer.create(OnlineStore.forUrl(options.getOnlineStore()), AFTER_THE_EVENTS, registry)
            .start("127.0.0.1", 0);
    try {
      String base = "http://127.0.0.1:" + server.port();
      JsonNode index = get(base + "/");
      JsonNode line = null;
      for (JsonNode view : index.get("feature_views")) {
        if (view.get("name").asText().equals(CLICKS_BY_COUNTRY_10MIN.name())) {
          line = view;
        }
      }
      assertThat(line, equalTo(JSON.readTree("{\"name\":\"clicks_by_country_10min\",\"pattern\":\"pre-computed\","
          + "\"entity_key\":\"user_country\",\"features\":[\"clicks\",\"events\"],"
          + "\"times\":[\"window_start\",\"window_end\",\"updated_at\"],"
          + "\"example\":\"/features/clicks_by_country_10min/{user_country}\"}")));
      for (Map.Entry<String, TreeMap<Long, long[]>> country : expected.entrySet()) {
        Map.Entry<Long, long[]> latest = country.getValue().lastEntry();
        assertThat(get(base + "/features/clicks_by_country_10min/" + country.getKey()),
            equalTo(JSON.readTree("{\"feature_view\":\"clicks_by_country_10min\",\"entity\":{\"user_country\":\""
                + country.getKey() + "\"},\"status\":\"ok\",\"features\":{\"clicks\":" + latest.getValue()[0]
                + ",\"events\":" + latest.getValue()[1] + "},\"window_start\":" + latest.getKey()
                + ",\"window_end\":" + (latest.getKey() + TEN_MINUTES) + ",\"updated_at\":" + UPDATED_AT + "}")));
      }
    } finally {
      server.stop();
    }
    assertThat(expected.keySet(), equalTo(new java.util.TreeSet<>(List.of("de", "fr", "it", "unknown"))));
    try (var days = Files.list(dir.resolve("offline").resolve(CLICKS_BY_COUNTRY_10MIN.name()))) {
      // Beam's file sinks leave their (hidden) temporary directory beside the partitions.
      assertThat(days.map(day -> day.getFileName().toString()).filter(name -> !name.startsWith(".")).toList(),
          equalTo(List.of("date=2025-11-22")));
    }
    assertThat(Files.readAllLines(dir.resolve("dead-letters.jsonl")), equalTo(List.of()));
  }

  private static JsonNode get(String url) throws Exception {
    HttpResponse<String> response =
        HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(url, response.statusCode(), equalTo(200));
    return JSON.readTree(response.body());
  }
}
