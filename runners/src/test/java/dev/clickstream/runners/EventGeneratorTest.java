package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;

import dev.clickstream.schemas.ClickEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EventGeneratorTest {

  private static List<EventGenerator.Record> generate(EventGenerator.Settings settings) {
    List<EventGenerator.Record> records = new ArrayList<>();
    new EventGenerator(settings).generate(records::add);
    return records;
  }

  private static List<String> lines(EventGenerator.Settings settings) {
    List<String> lines = new ArrayList<>();
    for (EventGenerator.Record record : generate(settings)) {
      lines.add(record.event == null ? record.malformedLine : EventGenerator.toJsonLine(record.event));
    }
    return lines;
  }

  @Test
  void theSameSettingsGiveTheSameRecords() {
    EventGenerator.Settings settings = new EventGenerator.Settings();
    settings.events = 5_000;
    settings.malformedRatio = 0.05;
    assertThat(lines(settings), equalTo(lines(settings)));

    EventGenerator.Settings otherSeed = new EventGenerator.Settings();
    otherSeed.events = 5_000;
    otherSeed.malformedRatio = 0.05;
    otherSeed.seed = 43;
    assertThat(lines(otherSeed), not(equalTo(lines(settings))));
  }

  @Test
  void eventsArriveOutOfOrderWithinTheJitterAndCoverTheSpan() {
    EventGenerator.Settings settings = new EventGenerator.Settings();
    settings.events = 10_000;
    settings.jitterMillis = 30_000;
    List<EventGenerator.Record> records = generate(settings);
    int outOfOrder = 0;
    long previous = Long.MIN_VALUE;
    for (int i = 0; i < records.size(); i++) {
      long arrival = settings.startMillis + (long) ((double) i * settings.spanMillis / settings.events);
      long timestamp = records.get(i).event.getTimestamp();
      assertThat(timestamp, allOf(greaterThanOrEqualTo(arrival - 30_000), lessThanOrEqualTo(arrival)));
      if (timestamp < previous) {
        outOfOrder++;
      }
      previous = Math.max(previous, timestamp);
    }
    assertThat(outOfOrder, greaterThan(records.size() / 2));
    assertThat(records.get(0).event.getEventId(), equalTo("e0"));
    assertThat(records.get(records.size() - 1).event.getEventId(), equalTo("e9999"));
  }

  @Test
  void aboutOneClickPerTenImpressionsAndAFewOtherEvents() {
    EventGenerator.Settings settings = new EventGenerator.Settings();
    settings.events = 100_000;
    Map<String, Integer> types = new HashMap<>();
    for (EventGenerator.Record record : generate(settings)) {
      types.merge(record.event.getEventType(), 1, Integer::sum);
    }
    double clicksPerImpression = (double) types.get("click") / types.get("impression");
    assertThat(clicksPerImpression, allOf(greaterThan(0.09), lessThan(0.11)));
    assertThat((double) types.get("page_view") / settings.events, allOf(greaterThan(0.04), lessThan(0.06)));
    assertThat(types.keySet().size(), equalTo(3));
  }

  @Test
  void skewMakesTheFirstUsersHot() {
    EventGenerator.Settings settings = new EventGenerator.Settings();
    settings.events = 50_000;
    settings.users = 1_000;
    Map<String, Integer> perUser = new HashMap<>();
    for (EventGenerator.Record record : generate(settings)) {
      perUser.merge(record.event.getUserId(), 1, Integer::sum);
    }
    // Zipf(1) over 1000 users: u0 holds 1/H(1000) ~ 13% of events, u1 half of that.
    assertThat(perUser.get("u0"), allOf(greaterThan(6_000), lessThan(7_500)));
    assertThat(perUser.get("u1"), allOf(greaterThan(3_000), lessThan(3_800)));

    settings.skew = 0;
    perUser.clear();
    for (EventGenerator.Record record : generate(settings)) {
      perUser.merge(record.event.getUserId(), 1, Integer::sum);
    }
    assertThat(perUser.get("u0"), lessThan(120));
  }

  @Test
  void malformedRecordsComeAtTheRequestedShare() {
    EventGenerator.Settings settings = new EventGenerator.Settings();
    settings.events = 20_000;
    settings.malformedRatio = 0.1;
    long malformed = generate(settings).stream().filter(record -> record.event == null).count();
    assertThat(malformed, allOf(greaterThan(1_800L), lessThan(2_200L)));
  }

  @Test
  void jsonLinesEscapeStrings() {
    ClickEvent event =
        ClickEvent.newBuilder()
            .setEventId("e\"1")
            .setUserId("u\\7")
            .setEventType("click")
            .setItemId(null)
            .setSessionId("s\n1")
            .setTimestamp(5)
            .build();
    assertThat(
        EventGenerator.toJsonLine(event),
        equalTo("{\"event_id\":\"e\\\"1\",\"user_id\":\"u\\\\7\",\"event_type\":\"click\","
            + "\"session_id\":\"s\\u000a1\",\"timestamp\":5}"));
  }

  @Test
  void clicksCanFollowTheirUsersLatestImpression() {
    EventGenerator.Settings following = new EventGenerator.Settings();
    following.events = 20_000;
    following.clickFollowsImpression = 1.0;

    // With the setting at 1, every click after one of its user's impressions is on that impression's item.
    Map<String, String> latestImpression = new HashMap<>();
    long followed = 0;
    long clicks = 0;
    for (EventGenerator.Record record : generate(following)) {
      ClickEvent event = record.event;
      if (event.getEventType().equals("impression")) {
        latestImpression.put(event.getUserId(), event.getItemId());
      } else if (event.getEventType().equals("click") && latestImpression.containsKey(event.getUserId())) {
        clicks++;
        followed += event.getItemId().equals(latestImpression.get(event.getUserId())) ? 1 : 0;
      }
    }
    assertThat(clicks, greaterThan(1_000L));
    assertThat(followed, equalTo(clicks));
  }
}
