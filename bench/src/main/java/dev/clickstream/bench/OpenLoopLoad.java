package dev.clickstream.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * An open-loop HTTP load: requests are due at a fixed rate whatever the server does, as real clients send them,
 * spread over keep-alive connections (request {@code i} on connection {@code i mod C}, due at {@code i / rate}).
 *
 * <p>A closed loop (each client sends its next request when the last one answered) slows down with the server, so
 * it never sees the queue a slow moment builds: coordinated omission. Here each latency runs from when the request
 * was due, not from when it was sent, so a request stuck behind a slow one counts the time it waited; the
 * uncorrected latency (from the send) is kept beside it to show the difference. Each connection is a thread with a
 * minimal HTTP/1.1 client on a socket, cheap enough to leave the CPU to the server on a small machine.
 */
final class OpenLoopLoad {
  /** Latencies are recorded in microseconds, up to a minute, with 3 significant digits. */
  private static final long MAX_MICROS = TimeUnit.MINUTES.toMicros(1);

  /** What one step of the load measured. */
  record Result(double offeredPerSecond, double achievedPerSecond, long errors, Histogram corrected,
      Histogram uncorrected) {
    double correctedMillis(double percentile) {
      return corrected.getValueAtPercentile(percentile) / 1e3;
    }

    double uncorrectedMillis(double percentile) {
      return uncorrected.getValueAtPercentile(percentile) / 1e3;
    }
  }

  private OpenLoopLoad() {}

  /**
   * Sends GETs of {@code paths} (in order, round robin) to {@code port} on 127.0.0.1 at {@code rate} per second for
   * {@code seconds}, over {@code connections} connections.
   */
  static Result run(int port, List<String> paths, double rate, int connections, double seconds) throws Exception {
    long total = Math.max(1, Math.round(rate * seconds));
    double periodNanos = 1e9 / rate;
    List<Worker> workers = new ArrayList<>();
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
    for (int c = 0; c < connections; c++) {
      workers.add(new Worker(port, paths, c, connections, total, start, periodNanos));
    }
    workers.forEach(Thread::start);
    Histogram corrected = new Histogram(MAX_MICROS, 3);
    Histogram uncorrected = new Histogram(MAX_MICROS, 3);
    long errors = 0;
    long done = 0;
    long end = start;
    for (Worker worker : workers) {
      worker.join();
      if (worker.failure != null) {
        throw new IOException("the load's connection " + worker.connection + " failed: " + worker.failure.getMessage(),
            worker.failure);
      }
      corrected.add(worker.corrected);
      uncorrected.add(worker.uncorrected);
      errors += worker.errors;
      done += worker.done;
      end = Math.max(end, worker.lastEnd);
    }
    return new Result(rate, done / ((end - start) / 1e9), errors, corrected, uncorrected);
  }

  /** One connection: requests {@code connection}, {@code connection + C}, ... each at its due time. */
  private static final class Worker extends Thread {
    final int connection;
    final Histogram corrected = new Histogram(MAX_MICROS, 3);
    final Histogram uncorrected = new Histogram(MAX_MICROS, 3);
    private final int port;
    private final List<String> paths;
    private final int connections;
    private final long total;
    private final long start;
    private final double periodNanos;
    long errors;
    long done;
    long lastEnd;
    Exception failure;

    Worker(int port, List<String> paths, int connection, int connections, long total, long start,
        double periodNanos) {
      super("open-loop-" + connection);
      setDaemon(true);
      this.port = port;
      this.paths = paths;
      this.connection = connection;
      this.connections = connections;
      this.total = total;
      this.start = start;
      this.periodNanos = periodNanos;
    }

    @Override
    public void run() {
      try (Socket socket = new Socket()) {
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(60_000);
        OutputStream out = socket.getOutputStream();
        InputStream in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
        for (long i = connection; i < total; i += connections) {
          long due = start + (long) (i * periodNanos);
          for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
            LockSupport.parkNanos(wait);
          }
          String path = paths.get((int) (i % paths.size()));
          long sent = System.nanoTime();
          out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          if (readResponse(in) != 200) {
            errors++;
          }
          long end = System.nanoTime();
          corrected.recordValue(Math.min(MAX_MICROS, Math.max(1, (end - due) / 1_000)));
          uncorrected.recordValue(Math.min(MAX_MICROS, Math.max(1, (end - sent) / 1_000)));
          done++;
          lastEnd = end;
        }
      } catch (Exception e) {
        failure = e;
      }
    }
  }

  /** Reads one response (headers, then a Content-Length or chunked body) and returns its status. */
  static int readResponse(InputStream in) throws IOException {
    String statusLine = line(in);
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
      throw new IOException("not an HTTP response: '" + statusLine + "'");
    }
    int status = Integer.parseInt(parts[1]);
    long length = -1;
    boolean chunked = false;
    for (String header = line(in); !header.isEmpty(); header = line(in)) {
      int colon = header.indexOf(':');
      String name = header.substring(0, colon).trim();
      String value = header.substring(colon + 1).trim();
      if (name.equalsIgnoreCase("Content-Length")) {
        length = Long.parseLong(value);
      } else if (name.equalsIgnoreCase("Transfer-Encoding") && value.equalsIgnoreCase("chunked")) {
        chunked = true;
      }
    }
    if (chunked) {
      for (long size = Long.parseLong(line(in).trim(), 16); size > 0; size = Long.parseLong(line(in).trim(), 16)) {
        skip(in, size);
        line(in);
      }
      line(in);
    } else if (length > 0) {
      skip(in, length);
    }
    return status;
  }

  private static void skip(InputStream in, long bytes) throws IOException {
    for (long left = bytes; left > 0; ) {
      long skipped = in.skip(left);
      if (skipped <= 0) {
        if (in.read() < 0) {
          throw new IOException("the connection closed in a response body");
        }
        skipped = 1;
      }
      left -= skipped;
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("the server closed the connection");
      }
      if (c != '\r') {
        line.append((char) c);
      }
    }
    return line.toString();
  }
}
