package dev.clickstream.serving;

import static dev.clickstream.serving.ServedApp.json;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureService;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code /vectors} and {@code /registry} over HTTP, on one H2 store and one server whose clock stands at NOW. */
class FeatureServicesTest {
  /** 2024-01-01T00:00:00Z. */
  private static final long T0 = 1_704_067_200_000L;
  private static final long MINUTE = 60_000L;
  private static final long NOW = T0 + 6 * MINUTE;
  /** u1's only click. */
  private static final long CLICK = T0 + 4 * MINUTE;
  private static final WindowedAggregation CLICKS = FeatureDefinitions.CLICK_COUNTS;
  /** The project's registry and one service over a computed view. */
  private static final FeatureRegistry REGISTRY =
      FeatureDefinitions.REGISTRY.withServices(
          FeatureService.named("clicks_now").features("click_counts_on_demand.click_count_1_hour").build());

  private static ServedApp app;

  @BeforeAll
  static void serve() throws SQLException {
    app = new ServedApp(store(), REGISTRY).at(NOW);
  }

  @AfterAll
  static void stop() {
    app.close();
    ConnectionPools.closeAll();
  }

  @Test
  void aVectorHoldsTheServicesColumnsAndEachViewsStatusAndTimes() throws Exception {
    ServedApp.Reply reply = app.get("/vectors/ranking_v1/u1");

    assertThat(reply.status(), is(200));
    assertThat(reply.body(), is(U1));
  }

  /** u2 has only an old ctr_5min row: that view is stale, the others not_found with null columns. */
  @Test
  void aBatchAnswersOneVectorPerIdInOrder() throws Exception {
    ServedApp.Reply reply = app.post("/vectors/ranking_v1", "{\"user_ids\":[\"u2\",\"u1\",\"u2\"]}");

    assertThat(reply.status(), is(200));
    List<JsonNode> results = new ArrayList<>();
    reply.body().get("results").forEach(results::add);
    assertThat(reply.body().get("feature_service").asText(), is("ranking_v1"));
    assertThat(results, is(List.of(U2, U1, U2)));
  }

  @Test
  void aServiceOverAComputedViewAnswersAsOfNow() throws Exception {
    assertThat(app.get("/vectors/clicks_now/u1").body(),
        is(json("{'feature_service':'clicks_now','entity':{'user_id':'u1'},"
            + "'features':{'click_counts_on_demand.click_count_1_hour':1},"
            + "'views':{'click_counts_on_demand':{'status':'ok','event_time':" + CLICK + ",'as_of':" + NOW + "}}}")));
  }

  @Test
  void anUnknownServiceIs404AndABadIdIs400() throws Exception {
    ServedApp.Reply unknown = app.get("/vectors/ranking_v2/u1");
    ServedApp.Reply badId = app.get("/vectors/ranking_v1/%20");
    ServedApp.Reply badBody = app.post("/vectors/ranking_v1", "[]");

    assertThat(unknown.status(), is(404));
    assertThat(unknown.body().get("error").asText(), is("unknown feature service 'ranking_v2': known feature"
        + " services are [ranking_v1, clicks_now] (GET /registry describes them)"));
    assertThat(badId.status(), is(400));
    assertThat(badId.body().get("error").asText(), is("entity id is blank: " + UserIds.RULE));
    assertThat(badBody.status(), is(400));
    assertThat(badBody.body().get("error").asText(), is("no user ids given: " + UserIds.EXPECTED));
  }

  @Test
  void theRegistryDescribesEveryViewAndService() throws Exception {
    JsonNode registry = app.get("/registry").body();

    List<String> names = new ArrayList<>();
    registry.get("views").forEach(view -> names.add(view.get("name").asText()));
    assertThat(names, is(REGISTRY.views().stream().map(FeatureRegistry.View::name).toList()));
    assertThat(registry.get("views").get(0), is(CTR_5MIN_VIEW));
    assertThat(registry.get("feature_services").get(0), is(json(
        "{'name':'ranking_v1','description':'" + FeatureDefinitions.RANKING_V1.description() + "',"
            + "'declared_as':'ranking_v1 = ctr_5min.ctr + click_counts.* + user_activity_5min.distinct_items',"
            + "'entity_key':'user_id','views':['ctr_5min','click_counts','user_activity_5min'],"
            + "'features':['ctr_5min.ctr','click_counts.click_count_1_min','click_counts.click_count_10_min',"
            + "'click_counts.click_count_30_min','click_counts.click_count_1_hour',"
            + "'user_activity_5min.distinct_items'],'path':'/vectors/ranking_v1/{user_id}'}")));
    for (JsonNode view : registry.get("views")) {
      JsonNode definition = view.get("definitions").get(0);
      assertThat(view.get("name").asText(), definition.get("max_age_ms").asLong(),
          is(REGISTRY.byName(definition.get("name").asText()).orElseThrow().maxAge().toMillis()));
    }
  }

  private static final JsonNode U1 = json("{'feature_service':'ranking_v1','entity':{'user_id':'u1'},"
      + "'features':{'ctr_5min.ctr':0.25,'click_counts.click_count_1_min':0,'click_counts.click_count_10_min':1,"
      + "'click_counts.click_count_30_min':1,'click_counts.click_count_1_hour':1,"
      + "'user_activity_5min.distinct_items':3},"
      + "'views':{'ctr_5min':{'status':'ok','window_start':" + T0 + ",'window_end':" + (T0 + 5 * MINUTE)
      + ",'updated_at':" + (T0 + 5 * MINUTE + 2_000) + "},"
      + "'click_counts':{'status':'ok','event_time':" + CLICK + ",'updated_at':" + (CLICK + 1_000) + ",'as_of':" + NOW
      + "},'user_activity_5min':{'status':'ok','window_start':" + T0 + ",'window_end':" + (T0 + 5 * MINUTE)
      + ",'updated_at':" + (T0 + 5 * MINUTE + 3_000) + "}}}");

  private static final JsonNode U2 = json("{'feature_service':'ranking_v1','entity':{'user_id':'u2'},"
      + "'features':{'ctr_5min.ctr':0.5,'click_counts.click_count_1_min':null,'click_counts.click_count_10_min':null,"
      + "'click_counts.click_count_30_min':null,'click_counts.click_count_1_hour':null,"
      + "'user_activity_5min.distinct_items':null},"
      + "'views':{'ctr_5min':{'status':'stale','window_start':" + (T0 - 30 * MINUTE) + ",'window_end':"
      + (T0 - 25 * MINUTE) + ",'updated_at':" + (T0 - 25 * MINUTE) + "},"
      + "'click_counts':{'status':'not_found'},'user_activity_5min':{'status':'not_found'}}}");

  private static final JsonNode CTR_5MIN_VIEW = json("""
      {'name':'ctr_5min','pattern':'pre-computed','entity_key':'user_id',
       'features':['impressions','clicks','ctr'],'times':['window_start','window_end','updated_at'],
       'freshness':'a row is stale when its window_end is more than its feature\\u0027s max_age before the server\\u0027s now',
       'definitions':[{'name':'ctr_5min','kind':'tumbling',
         'description':'Click-through rate per user over 5-minute tumbling windows aligned to the epoch: impressions, clicks and clicks / impressions, null without impressions; the user\\u0027s latest window',
         'source':{'events':'clickstream events (ClickEvent), enriched with the dimension tables for the fields they hold',
                   'fields':['user_id','event_type']},
         'entity_key':'user_id',
         'windows':[{'label':'5_min','length_ms':300000}],
         'aggregations':['count().where(event_type = impression) as impressions','count().where(event_type = click) as clicks'],
         'ratios':['ctr = clicks / impressions'],
         'time_semantics':'tumbling event-time windows of 5_min aligned to the epoch, [window_start, window_end); one row per entity: its latest window with an event the aggregations read, written when the window closes (and again for a late event within the allowed lateness); stale PT10M after window_end',
         'as_of_column':'window_end','max_age_ms':600000,
         'tables':[{'name':'ctr_5min','columns':[
           {'name':'user_id','type':'string','role':'key','nullable':false},
           {'name':'window_start','type':'bigint','role':'time','nullable':false},
           {'name':'window_end','type':'bigint','role':'time','nullable':false},
           {'name':'impressions','type':'bigint','role':'feature','nullable':false},
           {'name':'clicks','type':'bigint','role':'feature','nullable':false},
           {'name':'ctr','type':'double','role':'feature','nullable':true},
           {'name':'updated_at','type':'bigint','role':'time','nullable':false}],
           'replace_rule':'REPLACE_RULE'}]}]}
      """.replace("REPLACE_RULE", FeatureDefinitions.CTR_5MIN.table().replaceRule().toString()));

  /** u1: a CTR and an activity row of the window before NOW, one click 2 minutes before NOW; u2: an old CTR row. */
  private static OnlineStore store() throws SQLException {
    OnlineStore store = OnlineStore.forUrl(StoreFixtures.freshStoreUrl("h2"));
    var ctr = FeatureDefinitions.CTR_5MIN;
    var activity = FeatureDefinitions.USER_ACTIVITY_5MIN;
    store.ensureTable(ctr.table());
    store.upsert(ctr.table(), List.of(
        ctr.tableRow("u1", T0, T0 + 5 * MINUTE, List.of(4L, 1L, 0.25), T0 + 5 * MINUTE + 2_000),
        ctr.tableRow("u2", T0 - 30 * MINUTE, T0 - 25 * MINUTE, List.of(2L, 1L, 0.5), T0 - 25 * MINUTE)));
    store.ensureTable(activity.table());
    store.upsert(activity.table(), List.<Object[]>of(
        activity.tableRow("u1", T0, T0 + 5 * MINUTE, List.of(5L, 1L, 3L, 2.5, 9.0, 1.0 / 3), T0 + 5 * MINUTE + 3_000)));
    for (var table : CLICKS.tables()) {
      store.ensureTable(table);
    }
    store.upsert(CLICKS.precomputedTable(), List.<Object[]>of(new Object[] {"u1", CLICK, 1L, 1L, 1L, 1L, CLICK + 1_000}));
    store.upsert(CLICKS.rawEventsTable(), List.<Object[]>of(CLICKS.rawEventRow("e1", "u1", CLICK, null)));
    return store;
  }
}
