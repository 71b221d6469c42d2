package dev.clickstream.runners;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/**
 * The demo's last step: a small training set over what it streamed. A spine of users and times drawn from the
 * recorded events, labelled by whether the user clicks in the next five minutes, joined with the views' values as
 * of each time ({@code ./clickstream training-data}); prints its first rows.
 */
final class DemoTrainingSet {
  static final String VIEWS = "ctr_5min,click_counts,click_counts_on_demand,user_sessions";
  private static final long LABEL_HORIZON_MILLIS = 5 * 60_000L;
  private static final int ROWS_SHOWN = 5;
  private static final ObjectMapper JSON = new ObjectMapper();

  private DemoTrainingSet() {}

  /** Writes {@code rows} spine rows beside {@code eventsFile}, builds the training set and prints its first rows. */
  static void build(Path eventsFile, String offlineStore, int rows, PrintStream out) throws IOException {
    Map<String, TreeSet<Long>> clicks = new HashMap<>();
    List<String> users = new ArrayList<>();
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (String line : Files.readAllLines(eventsFile, StandardCharsets.UTF_8)) {
      JsonNode event;
      try {
        event = JSON.readTree(line);
      } catch (IOException malformed) {
        continue; // the demo's deliberately malformed records, which the job sent to the dead letters
      }
      if (event == null || !event.path("user_id").isTextual() || !event.path("timestamp").canConvertToLong()) {
        continue;
      }
      String user = event.get("user_id").asText();
      long time = event.get("timestamp").asLong();
      if (!clicks.containsKey(user)) {
        users.add(user);
      }
      TreeSet<Long> userClicks = clicks.computeIfAbsent(user, unused -> new TreeSet<>());
      if ("click".equals(event.path("event_type").asText())) {
        userClicks.add(time);
      }
      first = Math.min(first, time);
      last = Math.max(last, time);
    }
    if (users.isEmpty()) {
      out.println("No events were recorded, so there is no training set to build.");
      return;
    }
    Random random = new Random(7);
    List<String> spine = new ArrayList<>(List.of("user_id,timestamp,clicks_next_5_min"));
    for (int i = 0; i < rows; i++) {
      String user = users.get(random.nextInt(users.size()));
      long time = first + (long) (random.nextDouble() * (last - first));
      Long next = clicks.get(user).higher(time);
      spine.add(user + "," + time + "," + (next != null && next <= time + LABEL_HORIZON_MILLIS ? 1 : 0));
    }
    Path spineFile = eventsFile.resolveSibling("spine.csv");
    Path output = eventsFile.resolveSibling("training.csv");
    Files.write(spineFile, spine, StandardCharsets.UTF_8);
    TrainingDataCommand.run(List.of("--spine=" + spineFile, "--features=" + VIEWS, "--output=" + output,
        "--offlineStore=" + offlineStore), out);
    List<String> written = Files.readAllLines(output, StandardCharsets.UTF_8);
    out.printf("The first rows of %s (spine columns, then VIEW__COLUMN as of each row's timestamp):%n", output);
    written.stream().limit(ROWS_SHOWN + 1).forEach(line -> out.println("  " + line));
    out.printf("pandas: pd.read_csv('%s'); the same as Parquet: ./clickstream training-data --spine=%s"
        + " --features=%s --output=training.parquet --offlineStore=%s%n", output, spineFile, VIEWS, offlineStore);
  }
}
