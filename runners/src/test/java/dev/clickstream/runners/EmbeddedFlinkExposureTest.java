package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.store.StoreFixtures;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;

/**
 * Issue 16, item 1: an embedded Flink run listens on 127.0.0.1 only, and the job options its REST API serves hold
 * no password. Checked on a real embedded cluster, from the sockets this JVM listens on (/proc).
 */
class EmbeddedFlinkExposureTest {
  private static final String PASSWORD = "hunter2-do-not-show";

  @Test
  void anEmbeddedRunListensOnTheLoopbackOnlyAndServesNoPassword() throws Exception {
    String store = StoreFixtures.freshStoreUrl("postgresql") + "&password=" + PASSWORD;
    ClickstreamOptions options =
        RunCommand.options("ctr", List.of("--streaming=true", "--onlineStore=" + store, "--attachedMode=false"));
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    Set<Listener> before = listeners();

    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply("GenerateForever", GenerateSequence.from(0).withRate(10, org.joda.time.Duration.standardSeconds(1)))
        .apply("Describe", MapElements.into(TypeDescriptors.strings()).via(n -> "n" + n));
    PipelineResult result = pipeline.run();
    try {
      List<Listener> flinkListeners = awaitFlinkListeners(before);
      String config = jobConfig(flinkListeners, flink.getJobName());

      assertThat(flinkListeners, everyItem(loopback(flinkListeners)));
      assertThat(config, containsString("\"onlineStore\":\"jdbc:postgresql://127.0.0.1:5432/test?"));
      assertThat(config, not(containsString(PASSWORD)));
      assertThat(config, not(containsString("password")));
    } finally {
      result.cancel();
    }
  }

  @Test
  void theOptionsKeepThePasswordOutAndBindTheLoopback() throws IOException {
    ClickstreamOptions options = RunCommand.options(
        "ctr", List.of("--onlineStore=jdbc:postgresql://127.0.0.1:5432/test?user=postgres&password=" + PASSWORD));

    assertThat(options.getOnlineStore(), is("jdbc:postgresql://127.0.0.1:5432/test?user=postgres"));
    String conf = Files.readString(Path.of(options.as(FlinkPipelineOptions.class).getFlinkConfDir(), "config.yaml"));
    assertThat(conf, containsString("rest.bind-address: 127.0.0.1\n"));
    assertThat(conf, containsString("jobmanager.bind-host: 127.0.0.1\n"));
  }

  @Test
  void exposingEmbeddedFlinkIsAnExplicitOption() throws IOException {
    ClickstreamOptions options = RunCommand.options("ctr", List.of("--flinkBindAddress=0.0.0.0"));

    String conf = Files.readString(Path.of(options.as(FlinkPipelineOptions.class).getFlinkConfDir(), "config.yaml"));
    assertThat(conf, containsString("rest.bind-address: 0.0.0.0\n"));
    assertThat(conf, containsString("rest.address: 127.0.0.1\n"));
  }

  @Test
  void aClusterRunRefusesAPasswordInTheUrl() {
    UsageException e = assertThrows(UsageException.class, () -> RunCommand.options("ctr", List.of(
        "--flinkMaster=127.0.0.1:1", "--onlineStore=jdbc:postgresql://db/f?user=app&password=" + PASSWORD)));

    assertThat(e.getMessage(), startsWith("run ctr: --onlineStore carries a password, which the cluster would serve"));
    assertThat(e.getMessage(), containsString("CLICKSTREAM_STORE_PASSWORD"));
    assertThat(e.getMessage(), not(containsString(PASSWORD)));
    UsageException dimensions = assertThrows(UsageException.class, () -> RunCommand.options("enriched", List.of(
        "--flinkMaster=127.0.0.1:1", "--dimensions=jdbc:mariadb://db/d?user=app&password=" + PASSWORD)));
    assertThat(dimensions.getMessage(), startsWith("run enriched: --dimensions carries a password"));
  }

  /** A TCP socket this JVM listens on: its local address (hex, as /proc shows it) and port. */
  record Listener(String address, int port) {
    boolean isLoopback() {
      // IPv4 127.0.0.1, IPv6 ::1, or 127.0.0.1 mapped into IPv6 (::ffff:127.0.0.1).
      return address.equals("0100007F") || address.equals("00000000000000000000000001000000")
          || address.equals("0000000000000000FFFF00000100007F");
    }
  }

  private static org.hamcrest.Matcher<Listener> loopback(List<Listener> all) {
    return new org.hamcrest.TypeSafeMatcher<>() {
      @Override
      protected boolean matchesSafely(Listener listener) {
        return listener.isLoopback();
      }

      @Override
      public void describeTo(org.hamcrest.Description description) {
        description.appendText("a socket bound to the loopback, of " + all);
      }
    };
  }

  /** The listening sockets the embedded cluster opened: at least its REST API and BLOB server. */
  private static List<Listener> awaitFlinkListeners(Set<Listener> before) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    List<Listener> opened = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      opened = new ArrayList<>(listeners());
      opened.removeAll(before);
      if (opened.size() >= 2 && restPort(opened) > 0) {
        return opened;
      }
      Thread.sleep(200);
    }
    assertThat("embedded Flink's REST and BLOB servers were not found listening: " + opened, opened,
        hasSize(greaterThanOrEqualTo(2)));
    return opened;
  }

  private static int restPort(List<Listener> listeners) {
    for (Listener listener : listeners) {
      try {
        if (get(listener.port(), "/jobs").contains("\"jobs\"")) {
          return listener.port();
        }
      } catch (IOException | InterruptedException e) {
        // not the REST API
      }
    }
    return -1;
  }

  private static String jobConfig(List<Listener> listeners, String jobName) throws Exception {
    FlinkRest rest = new FlinkRest("127.0.0.1:" + restPort(listeners));
    for (int attempt = 0; attempt < 100; attempt++) {
      var job = rest.latestJobNamed(jobName);
      if (job.isPresent()) {
        return get(restPort(listeners), "/jobs/" + job.get().id() + "/config");
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the embedded cluster never listed the job " + jobName);
  }

  private static String get(int port, String path) throws IOException, InterruptedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(2)).build();
    return client.send(request, HttpResponse.BodyHandlers.ofString()).body();
  }

  /** The TCP sockets this process listens on, from /proc/net/tcp{,6} and this process's socket inodes. */
  private static Set<Listener> listeners() throws IOException {
    Set<String> inodes = new HashSet<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith("socket:[")) {
            inodes.add(target.substring(8, target.length() - 1));
          }
        } catch (IOException e) {
          // closed meanwhile
        }
      }
    }
    Set<Listener> listeners = new HashSet<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      List<String> lines = Files.readAllLines(Path.of(table));
      for (String line : lines.subList(1, lines.size())) {
        String[] fields = line.trim().split("\\s+");
        // fields: sl, local_address, rem_address, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode
        if (fields[3].equals("0A") && inodes.contains(fields[9])) {
          String[] local = fields[1].split(":");
          listeners.add(new Listener(local[0], Integer.parseInt(local[1], 16)));
        }
      }
    }
    return listeners;
  }
}
