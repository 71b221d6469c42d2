package dev.clickstream.runners;

import dev.clickstream.schemas.ClickEvent;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * A deterministic synthetic clickstream: the same settings always give the same records in the same order.
 *
 * <p>Records come in arrival order. Arrival times advance evenly over the time span; each event's own timestamp is
 * its arrival time minus a random delay of up to {@code jitter}, so timestamps arrive out of order. Users are drawn
 * from a Zipf distribution ({@code skew} 0 is uniform), so a few users are hot. Event types: a share of
 * {@code page_view} events (ignored by CTR), then impressions and clicks with about {@code clickRatio} clicks per
 * impression; a click may be made to follow its user's latest impression (same item), so that attribution finds
 * it. A share of records can be made malformed on purpose, to exercise the dead letters.
 */
public final class EventGenerator {

  /** The generator's settings. */
  public static final class Settings {
    long seed = 42;
    public int users = 1_000;
    int items = 200;
    public long events = 100_000;
    public long startMillis = 1_763_800_000_000L; // 2025-11-22T08:26:40Z
    public long spanMillis = 3_600_000L;
    double clickRatio = 0.1;
    double otherRatio = 0.05;
    double skew = 1.0;
    public long jitterMillis = 30_000L;
    double malformedRatio = 0.0;
    /** Chance that a click is on the item of its user's latest impression; 0 draws nothing more. */
    double clickFollowsImpression = 0.0;
  }

  /** One generated record: the event, or null when the record is deliberately malformed. */
  public static final class Record {
    public final ClickEvent event;
    final String malformedLine;

    private Record(ClickEvent event, String malformedLine) {
      this.event = event;
      this.malformedLine = malformedLine;
    }

    /** The record as one JSON line: the event's, or the malformed text as it is. */
    String jsonLine() {
      return event == null ? malformedLine : toJsonLine(event);
    }
  }

  /** Malformed records, formatted with (event id, user id, timestamp). */
  private static final String[] MALFORMED_TEMPLATES = {
    "{\"event_id\":\"%1$s\",\"user_id\":\"%2$s\",\"event_type\":\"click\",\"timestamp\":", // truncated
    "{\"event_id\":\"%1$s\",\"event_type\":\"impression\",\"timestamp\":%3$d}", // no user_id
    "{\"event_id\":\"%1$s\",\"user_id\":\"%2$s\",\"event_type\":\"click\",\"timestamp\":\"yesterday\"}",
    "not json at all: %1$s",
    "{\"event_id\":\"%1$s\",\"user_id\":\"\",\"event_type\":\"impression\",\"timestamp\":%3$d}", // blank id
  };

  private final Settings settings;
  private final double[] userCumulativeWeights;

  public EventGenerator(Settings settings) {
    this.settings = settings;
    this.userCumulativeWeights = zipfCumulativeWeights(settings.users, settings.skew);
  }

  /** Generates every record in arrival order. */
  public void generate(Consumer<Record> sink) {
    SplittableRandom random = new SplittableRandom(settings.seed);
    double clickShare = settings.clickRatio / (1 + settings.clickRatio);
    boolean followImpressions = settings.clickFollowsImpression > 0;
    int[] latestImpressionItem = followImpressions ? new int[settings.users] : null;
    if (followImpressions) {
      Arrays.fill(latestImpressionItem, -1);
    }
    for (long i = 0; i < settings.events; i++) {
      long arrival = settings.startMillis + (long) ((double) i * settings.spanMillis / settings.events);
      long delay = settings.jitterMillis == 0 ? 0 : random.nextLong(settings.jitterMillis + 1);
      long timestamp = Math.max(0, arrival - delay);
      String eventId = "e" + i;
      int user = pickUser(random.nextDouble());
      String userId = "u" + user;
      String eventType =
          random.nextDouble() < settings.otherRatio
              ? "page_view"
              : random.nextDouble() < clickShare ? "click" : "impression";
      int item = random.nextInt(settings.items);
      if (followImpressions) {
        // Only with the setting on, so the default sequence stays what it always was.
        if (eventType.equals("impression")) {
          latestImpressionItem[user] = item;
        } else if (eventType.equals("click")
            && latestImpressionItem[user] >= 0
            && random.nextDouble() < settings.clickFollowsImpression) {
          item = latestImpressionItem[user];
        }
      }
      String itemId = "item" + item;
      String sessionId = "s-" + userId + "-" + timestamp / 1_800_000L;
      boolean malformed = random.nextDouble() < settings.malformedRatio;
      if (malformed) {
        String template = MALFORMED_TEMPLATES[random.nextInt(MALFORMED_TEMPLATES.length)];
        sink.accept(new Record(null, String.format(template, eventId, userId, timestamp)));
        continue;
      }
      sink.accept(
          new Record(
              ClickEvent.newBuilder()
                  .setEventId(eventId)
                  .setUserId(userId)
                  .setEventType(eventType)
                  .setItemId(itemId)
                  .setSessionId(sessionId)
                  .setTimestamp(timestamp)
                  .build(),
              null));
    }
  }

  /** User index (0-based) for a uniform draw in [0, 1). */
  private int pickUser(double uniform) {
    int index = Arrays.binarySearch(userCumulativeWeights, uniform * userCumulativeWeights[userCumulativeWeights.length - 1]);
    return index >= 0 ? index : Math.min(-index - 1, userCumulativeWeights.length - 1);
  }

  private static double[] zipfCumulativeWeights(int users, double skew) {
    double[] cumulative = new double[users];
    double total = 0;
    for (int rank = 1; rank <= users; rank++) {
      total += 1.0 / Math.pow(rank, skew);
      cumulative[rank - 1] = total;
    }
    return cumulative;
  }

  /** The event as one JSON line, fields in schema order; optional fields are omitted when null. */
  static String toJsonLine(ClickEvent event) {
    StringBuilder line = new StringBuilder(160);
    line.append("{\"event_id\":");
    appendString(line, event.getEventId());
    line.append(",\"user_id\":");
    appendString(line, event.getUserId());
    line.append(",\"event_type\":");
    appendString(line, event.getEventType());
    if (event.getItemId() != null) {
      line.append(",\"item_id\":");
      appendString(line, event.getItemId());
    }
    if (event.getSessionId() != null) {
      line.append(",\"session_id\":");
      appendString(line, event.getSessionId());
    }
    line.append(",\"timestamp\":").append(event.getTimestamp()).append('}');
    return line.toString();
  }

  private static void appendString(StringBuilder out, String value) {
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    out.append('"');
  }
}
