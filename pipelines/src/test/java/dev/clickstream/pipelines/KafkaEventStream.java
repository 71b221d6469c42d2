package dev.clickstream.pipelines;

import static dev.clickstream.pipelines.ClickEventsFile.MINUTE;
import static dev.clickstream.pipelines.ClickEventsFile.START;
import static dev.clickstream.pipelines.ClickEventsFile.WINDOWS;

import dev.clickstream.broker.TopicReader;
import dev.clickstream.broker.TopicWriter;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.transforms.ClickEventDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A stream of Kafka messages for one partition, out of order, with some events too late and some records malformed,
 * and what a pipeline must make of it, computed in plain Java from the documented rules: the watermark is the
 * greatest event time produced so far less the out-of-orderness bound, and an event earlier than the watermark less
 * the allowed lateness is too late. Valid events are Avro binary or JSON at random.
 */
public final class KafkaEventStream {
  private static final long CTR_WINDOW = 5 * MINUTE;

  public final List<byte[]> messages = new ArrayList<>();
  /** user -> sorted timestamps of the clicks that must be applied. */
  final Map<String, List<Long>> clicksByUser = new TreeMap<>();
  /** user -> 5-minute window start -> {impressions, clicks} of the events that must be applied. */
  private final Map<String, TreeMap<Long, long[]>> ctrWindowsByUser = new TreeMap<>();
  public int malformed;
  public int tooLate;
  /** Events behind the watermark but within the allowed lateness: applied all the same. */
  int lateButApplied;
  private final long maxOutOfOrderness;
  private long maxEventTime = Long.MIN_VALUE;

  /**
   * @param meanGapMillis mean event-time step between consecutive events
   * @param jitterMillis each event's time is moved back by up to this much: out of order
   */
  public KafkaEventStream(
      long seed, int events, int users, long meanGapMillis, long jitterMillis, long maxOutOfOrderness,
      long allowedLateness) {
    this.maxOutOfOrderness = maxOutOfOrderness;
    Random random = new Random(seed);
    long clock = START;
    long watermark = Long.MIN_VALUE;
    for (int i = 0; i < events; i++) {
      clock += (long) (random.nextDouble() * 2 * meanGapMillis);
      int roll = random.nextInt(100);
      if (roll == 0) {
        messages.add(malformedRecord(i, random));
        malformed++;
        continue;
      }
      // One in fifty is far behind: too late unless the lateness allowed is generous.
      long timestamp =
          roll == 1 ? clock - 20 * MINUTE : clock - (long) (random.nextDouble() * jitterMillis);
      String user = "u" + random.nextInt(users);
      int kind = random.nextInt(10);
      String type = kind < 5 ? "click" : kind < 9 ? "impression" : "page_view";
      ClickEvent event =
          ClickEvent.newBuilder()
              .setEventId("e" + i)
              .setUserId(user)
              .setEventType(type)
              .setItemId(random.nextBoolean() ? "ad-" + random.nextInt(20) : null)
              .setSessionId(null)
              .setTimestamp(timestamp)
              .build();
      messages.add(random.nextBoolean() ? ClickEventDecoder.toAvro(event) : json(event));
      if (watermark != Long.MIN_VALUE && timestamp < watermark - allowedLateness) {
        tooLate++;
        continue;
      }
      if (timestamp < watermark) {
        lateButApplied++;
      }
      if (timestamp > maxEventTime) {
        maxEventTime = timestamp;
        watermark = Math.max(watermark, maxEventTime - maxOutOfOrderness);
      }
      if (type.equals("click")) {
        clicksByUser.computeIfAbsent(user, u -> new ArrayList<>()).add(timestamp);
      }
      if (!type.equals("page_view")) {
        ctrWindowsByUser.computeIfAbsent(user, u -> new TreeMap<>())
            .computeIfAbsent(timestamp - Math.floorMod(timestamp, CTR_WINDOW), start -> new long[2])
            [type.equals("click") ? 1 : 0]++;
      }
    }
    clicksByUser.values().forEach(Collections::sort);
  }

  long latestClick(String user) {
    List<Long> clicks = clicksByUser.get(user);
    return clicks.get(clicks.size() - 1);
  }

  /**
   * Appends a page view far enough ahead that the watermark passes every event before it, so every CTR window
   * closes: a stream's last windows otherwise wait for more events. Page views count in no feature.
   */
  public void closeWindows() {
    long timestamp = maxEventTime + CTR_WINDOW + maxOutOfOrderness;
    ClickEvent event = ClickEvent.newBuilder().setEventId("closer").setUserId("closer").setEventType("page_view")
        .setItemId(null).setSessionId(null).setTimestamp(timestamp).build();
    messages.add(json(event));
    maxEventTime = timestamp;
  }

  /** user -> "window_start window_end impressions clicks ctr" of the latest window with an impression or a click. */
  public Map<String, String> expectedCtr() {
    Map<String, String> rows = new TreeMap<>();
    ctrWindowsByUser.forEach((user, windows) -> {
      Map.Entry<Long, long[]> latest = windows.lastEntry();
      long impressions = latest.getValue()[0];
      long clicks = latest.getValue()[1];
      Double ctr = impressions == 0 ? null : (double) clicks / impressions;
      rows.put(user, ctrRow(latest.getKey(), latest.getKey() + CTR_WINDOW, impressions, clicks, ctr));
    });
    return rows;
  }

  /** user -> "window_start window_end impressions clicks ctr" of every stored ctr_5min row. */
  public static Map<String, String> storedCtr(String url) {
    Map<String, String> rows = new TreeMap<>();
    for (Map<String, Object> row : OnlineStore.forUrl(url).readTable(FeatureTables.CTR_5MIN)) {
      rows.put((String) row.get("user_id"), ctrRow(row.get("window_start"), row.get("window_end"),
          row.get("impressions"), row.get("clicks"), row.get("ctr")));
    }
    return rows;
  }

  private static String ctrRow(Object start, Object end, Object impressions, Object clicks, Object ctr) {
    return start + " " + end + " " + impressions + " " + clicks + " " + ctr;
  }

  /** [latest click, clicks in [latest - W, latest] per window, shortest first] of every user with a click. */
  public Map<String, List<Object>> expectedClickCounts() {
    Map<String, List<Object>> rows = new TreeMap<>();
    clicksByUser.forEach((user, clicks) -> {
      long asOf = latestClick(user);
      List<Object> row = new ArrayList<>();
      row.add(asOf);
      for (long window : WINDOWS) {
        row.add(clicks.stream().filter(t -> t >= asOf - window && t <= asOf).count());
      }
      rows.put(user, row);
    });
    return rows;
  }

  /** user -> [event_time, counts shortest window first] of every stored click_counts row. */
  public static Map<String, List<Object>> storedClickCounts(String url) {
    Map<String, List<Object>> rows = new TreeMap<>();
    for (Map<String, Object> row : OnlineStore.forUrl(url).readTable(FeatureTables.CLICK_COUNTS)) {
      List<Object> values = new ArrayList<>();
      values.add(row.get("event_time"));
      FeatureDefinitions.CLICK_COUNTS.featureColumns().forEach(column -> values.add(row.get(column)));
      rows.put((String) row.get("user_id"), values);
    }
    return rows;
  }

  void produceTo(String bootstrapServers, String topic) throws Exception {
    produce(bootstrapServers, topic, messages);
  }

  /** Sends {@code messages} to partition 0 of {@code topic}, in order, and waits until all are acknowledged. */
  public static void produce(String bootstrapServers, String topic, List<byte[]> messages) {
    TopicWriter.produce(bootstrapServers, topic, messages);
  }

  /** Every record of {@code topic}, waiting up to {@code timeout} for {@code expected} of them. */
  public static List<ConsumerRecord<byte[], byte[]>> readTopic(
      String bootstrapServers, String topic, int expected, Duration timeout) {
    return TopicReader.readFromStart(bootstrapServers, topic, expected, timeout);
  }

  public static String header(ConsumerRecord<byte[], byte[]> record, String key) {
    return TopicReader.header(record, key);
  }

  private static byte[] json(ClickEvent event) {
    StringBuilder json = new StringBuilder();
    json.append("{\"event_id\":\"").append(event.getEventId())
        .append("\",\"user_id\":\"").append(event.getUserId())
        .append("\",\"event_type\":\"").append(event.getEventType()).append('"');
    if (event.getItemId() != null) {
      json.append(",\"item_id\":\"").append(event.getItemId()).append('"');
    }
    json.append(",\"timestamp\":").append(event.getTimestamp()).append('}');
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] malformedRecord(int i, Random random) {
    switch (random.nextInt(4)) {
      case 0:
        return ("{\"event_id\":\"e" + i + "\",\"user_id\":").getBytes(StandardCharsets.UTF_8);
      case 1:
        return ("{\"event_id\":\"e" + i + "\",\"event_type\":\"click\",\"timestamp\":1}")
            .getBytes(StandardCharsets.UTF_8);
      case 2:
        byte[] garbage = new byte[1 + random.nextInt(30)];
        random.nextBytes(garbage);
        garbage[0] = (byte) 0xFF;
        return garbage;
      default:
        return new byte[0];
    }
  }
}
