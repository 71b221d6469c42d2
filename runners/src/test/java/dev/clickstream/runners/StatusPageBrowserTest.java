package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.DriftRecord;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.serving.PipelineMetricNames;
import dev.clickstream.serving.PrometheusText;
import dev.clickstream.serving.StatusSettings;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import io.javalin.Javalin;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.PipelineResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operations path end to end: a pipeline run on the Direct runner serves its metrics ({@code --metricsPort}),
 * a real server over the store it wrote reads them, and Debian's headless Chromium loads {@code /status} and must
 * draw every plot with the points {@code /status.json} holds. Keeps a screenshot in {@code target/status.png}.
 */
class StatusPageBrowserTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  /** Points per series the page is asked to draw. */
  private static final int POINTS = 4;
  /** How long the test waits for scripts/start-services.sh's background install of chromium on a fresh machine. */
  private static final Duration CHROMIUM_INSTALL_TIMEOUT = Duration.ofMinutes(10);
  private static final Pattern SECTION =
      Pattern.compile("<section id=\"([a-z0-9-]+)\" data-series=\"(\\d+)\" data-points=\"(\\d+)\">");

  @Test
  void theStatusPageDrawsLookupsFreshnessDriftDeadLettersAndThePipelineRun(@TempDir Path dir) throws Exception {
    String chromium = chromium();
    Path events = dir.resolve("events.jsonl");
    Launcher launcher = new Launcher();
    assertThat(launcher.run("generate", "--output=" + events, "--events=400", "--users=20",
        "--malformedRatio=0.05"), equalTo(0));
    String url = "jdbc:h2:file:" + dir.resolve("online") + ";AUTO_SERVER=TRUE";
    Path deadLetters = dir.resolve("dead-letters.jsonl");
    FeaturePipelineOptions options = RunCommand.options("click-counts", List.of("--runner=DirectRunner",
        "--input=" + events, "--onlineStore=" + url, "--offlineStore=" + dir.resolve("offline"),
        "--deadLetter=" + deadLetters, "--metricsPort=0"));
    PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    AtomicReference<PipelineResult> running = new AtomicReference<>();

    try (RunMetricsEndpoint runMetrics = RunCommand.startMetrics(options, null, running, out)) {
      RunCommand.runWithHeartbeat(RunCommand.pipelineFor("click-counts", options), out, () -> "", running::set);

      // The run's page: events parsed and dead letters by reason, as the dead-letter file has them.
      Map<String, Long> reasons = new TreeMap<>();
      for (String line : Files.readAllLines(deadLetters)) {
        reasons.merge(JSON.readTree(line).get("reason").asText(), 1L, Long::sum);
      }
      List<PrometheusText.Sample> run = PrometheusText.parse(get(runMetrics.uri()).body());
      long lines = Files.readAllLines(events).size();
      long deadLettered = reasons.values().stream().mapToLong(Long::longValue).sum();
      assertThat(deadLettered, greaterThanOrEqualTo(10L));
      assertThat(PrometheusText.value(run, PipelineMetricNames.EVENTS, Map.of()), is((double) (lines - deadLettered)));
      for (Map.Entry<String, Long> reason : reasons.entrySet()) {
        assertThat(PrometheusText.value(run, PipelineMetricNames.DEAD_LETTERS,
            Map.of(PipelineMetricNames.REASON, reason.getKey())), is((double) reason.getValue()));
      }
      OnlineStore store = OnlineStore.forUrl(url);
      List<String> users = new ArrayList<>();
      store.readTable(FeatureTables.CLICK_COUNTS).forEach(row -> users.add((String) row.get("user_id")));
      DriftMonitor monitor = FeatureDefinitions.CTR_DRIFT;
      store.ensureTable(FeatureTables.FEATURE_DRIFT);
      upsertDrift(store, monitor, 0, 0.05, 0.1);

      Javalin server = ServeCommand.start(OnlineStore.forServing(url), "127.0.0.1", 0,
          new StatusSettings(Duration.ofMillis(150), List.of(runMetrics.uri())));
      AtomicBoolean lookingUp = new AtomicBoolean(true);
      Thread traffic = new Thread(() -> {
        for (int i = 0; lookingUp.get(); i++) {
          try {
            get(URI.create(base(server) + "/features/click_counts/" + users.get(i % users.size())));
            Thread.sleep(5);
          } catch (Exception e) {
            return;
          }
        }
      }, "lookups");
      traffic.start();
      try {
        waitFor(server, status -> status.get("drift").get(0).get("psi").size() == 1);
        upsertDrift(store, monitor, 1, 0.25, 0.3);
        JsonNode status = waitFor(server, s -> s.get("drift").get(0).get("psi").size() == 2
            && s.get("pipelines").get(0).get("time").size() == POINTS
            && s.get("lookups").get("click_counts").get("time").size() == POINTS);
        assertThat(status.get("freshness").size(), is(2)); // click_counts and feature_drift have rows

        String page = base(server) + "/status?points=" + POINTS;
        String dom = runChromium(chromium, dir, page, "--dump-dom");
        Map<String, int[]> sections = new TreeMap<>();
        Matcher matcher = SECTION.matcher(dom);
        while (matcher.find()) {
          sections.put(matcher.group(1),
              new int[] {Integer.parseInt(matcher.group(2)), Integer.parseInt(matcher.group(3))});
        }
        assertThat(dom, sections.keySet().toString(),
            is("[dead-letters, drift, freshness, lookups, p99, pipelines]"));
        assertThat("lookups", sections.get("lookups"), is(new int[] {1, POINTS}));
        assertThat("p99", sections.get("p99"), is(new int[] {1, POINTS}));
        assertThat("freshness", sections.get("freshness"), is(new int[] {2, 2 * POINTS}));
        assertThat("drift: PSI and KS of two windows", sections.get("drift"), is(new int[] {2, 4}));
        assertThat("dead letters", sections.get("dead-letters"), is(new int[] {reasons.size(), reasons.size()}));
        assertThat("pipelines", sections.get("pipelines"), is(new int[] {1, POINTS}));
        Path screenshot = Path.of("target", "status.png").toAbsolutePath();
        runChromium(chromium, dir, page, "--screenshot=" + screenshot, "--window-size=1500,900");
        assertThat(Files.size(screenshot) > 10_000, is(true));
      } finally {
        lookingUp.set(false);
        traffic.join();
        server.stop();
        ConnectionPools.closeAll();
      }
    }
  }

  private static void upsertDrift(OnlineStore store, DriftMonitor monitor, int window, double psi, double ks)
      throws Exception {
    long start = 1_704_067_200_000L + window * monitor.windowMillis();
    store.upsert(FeatureTables.FEATURE_DRIFT, List.<Object[]>of(monitor.row(new DriftRecord(monitor.name(), start,
        start + monitor.windowMillis(), 120, 40, psi, ks, DriftRecord.Status.OK), System.currentTimeMillis())));
  }

  /** Polls {@code /status.json?points=POINTS} until {@code done} holds; fails after 10 s. */
  private static JsonNode waitFor(Javalin server, Predicate<JsonNode> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    JsonNode status = null;
    while (System.nanoTime() < deadline) {
      status = JSON.readTree(get(URI.create(base(server) + "/status.json?points=" + POINTS)).body());
      if (done.test(status)) {
        return status;
      }
      Thread.sleep(50);
    }
    return fail("the status page never got there: " + status);
  }

  /**
   * Debian's chromium, once scripts/start-services.sh's background install of it is done; the test fails, saying
   * how to install it, when it is not there and no install is under way.
   */
  private static String chromium() throws Exception {
    Path install = Path.of(Optional.ofNullable(System.getenv("TMPDIR")).orElse("/tmp"), "clickstream-chromium-install");
    long deadline = System.nanoTime() + CHROMIUM_INSTALL_TIMEOUT.toNanos();
    while (true) {
      Optional<String> chromium = onPath("chromium", "chromium-browser");
      if (chromium.isPresent()) {
        return chromium.get();
      }
      Path status = Path.of(install + ".status");
      Path log = Path.of(install + ".log");
      if (Files.exists(status) || !installRunning(Path.of(install + ".pid")) || System.nanoTime() > deadline) {
        return fail("this test needs Debian's headless chromium: apt-get install -y chromium"
            + " (scripts/start-services.sh installs it)" + (Files.exists(log)
                ? "; its install ended with " + (Files.exists(status) ? "status " + Files.readString(status).trim()
                    : "no status") + ", log " + log + ":\n" + Files.readString(log)
                : ""));
      }
      Thread.sleep(1_000);
    }
  }

  private static Optional<String> onPath(String... names) {
    for (String name : names) {
      for (String directory : System.getenv("PATH").split(File.pathSeparator)) {
        if (Files.isExecutable(Path.of(directory, name))) {
          return Optional.of(Path.of(directory, name).toString());
        }
      }
    }
    return Optional.empty();
  }

  private static boolean installRunning(Path pidFile) throws IOException {
    if (!Files.exists(pidFile)) {
      return false;
    }
    long pid = Long.parseLong(Files.readString(pidFile).trim());
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  private static String runChromium(String chromium, Path dir, String page, String... what) throws Exception {
    Path profile = Files.createTempDirectory(dir, "chromium");
    List<String> command = new ArrayList<>(List.of(chromium, "--headless", "--disable-gpu", "--no-sandbox",
        "--user-data-dir=" + profile, "--virtual-time-budget=4000"));
    command.addAll(List.of(what));
    command.add(page);
    Process process = new ProcessBuilder(command)
        .redirectError(dir.resolve("chromium.log").toFile())
        .start();
    String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
      process.destroyForcibly();
      fail("chromium " + command + " failed: " + Files.readString(dir.resolve("chromium.log")));
    }
    return stdout;
  }

  private static String base(Javalin server) {
    return "http://127.0.0.1:" + server.port();
  }

  private static HttpResponse<String> get(URI uri) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
  }
}
