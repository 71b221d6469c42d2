package dev.clickstream.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.runners.ServeCommand;
import dev.clickstream.runners.UsageException;
import dev.clickstream.serving.PrometheusText;
import dev.clickstream.store.OnlineStore;
import io.javalin.Javalin;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The open-loop load of {@code bench serving} against a real server over H2: every request due is sent and
 * answered once, a 404 counts as an error, and the server's own metrics count the same lookups.
 */
class OpenLoopLoadTest {
  @Test
  void everyDueRequestIsSentOnceAndTheServerCountsTheSameLookups() throws Exception {
    OnlineStore store = OnlineStore.forUrl("jdbc:h2:mem:open-loop;DB_CLOSE_DELAY=-1");
    FeatureTable table = FeatureTables.CLICK_COUNTS;
    store.ensureTable(table);
    List<Object[]> rows = new ArrayList<>();
    for (String user : List.of("u1", "u2")) {
      Object[] row = new Object[table.columns().size()];
      row[0] = user;
      for (int i = 1; i < row.length; i++) {
        row[i] = 1_000L + i;
      }
      rows.add(row);
    }
    assertThat(store.upsert(table, rows), is(2));
    Javalin server = ServeCommand.start(store, "127.0.0.1", 0);
    try {
      List<String> paths = List.of("/features/click_counts/u1", "/features/click_counts/u2",
          "/features/click_counts/nobody");

      OpenLoopLoad.Result result = OpenLoopLoad.run(server.port(), paths, 300, 3, 1.0);

      assertThat(result.corrected().getTotalCount(), is(300L));
      assertThat(result.uncorrected().getTotalCount(), is(300L));
      assertThat(result.errors(), is(100L)); // every third path has no row: 404
      // Waiting for its due time never makes a request faster than its service time.
      assertThat(result.corrected().getMaxValue() >= result.uncorrected().getMaxValue(), is(true));
      String metrics = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      List<PrometheusText.Sample> samples = PrometheusText.parse(metrics);
      // The rows are from 1970, so the server answers them stale by its clock: counted under that status.
      assertThat(PrometheusText.value(samples, "clickstream_lookups_total",
          Map.of("view", "click_counts", "status", "stale")), is(200.0));
      assertThat(PrometheusText.value(samples, "clickstream_lookups_total",
          Map.of("view", "click_counts", "status", "not_found")), is(100.0));
    } finally {
      server.stop();
    }
  }

  @Test
  void aResponseIsReadToItsEndWhetherSizedOrChunked() throws Exception {
    String sized = "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!";
    String chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    ByteArrayInputStream in =
        new ByteArrayInputStream((sized + chunked + sized).getBytes(StandardCharsets.US_ASCII));

    assertThat(List.of(OpenLoopLoad.readResponse(in), OpenLoopLoad.readResponse(in), OpenLoopLoad.readResponse(in)),
        contains(404, 200, 404));
    assertThat(in.read(), is(-1));
  }

  @Test
  void ratesAreRequestsPerSecondSeparatedByCommas() {
    assertThat(BenchCommand.rates("1000, 2500.5"), contains(1000.0, 2500.5));
    UsageException e = assertThrows(UsageException.class, () -> BenchCommand.rates("1000,fast"));
    assertThat(e.getMessage(), is("bench serving: --rates must be request rates per second separated by commas,"
        + " such as " + BenchCommand.DEFAULT_RATES + "; got 'fast'"));
  }
}
