package dev.clickstream.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A TCP forwarder on a loopback port in front of a database, for outage tests that must not stop the shared local
 * PostgreSQL or MariaDB. {@link #cut()} closes the listening socket and every forwarded connection, so clients see
 * their connections break and new connections refused, as when the database goes down; {@link #restore()} listens
 * on the same port again, one outside the ephemeral range ({@link TestPorts}) so that nothing else takes it meanwhile.
 * {@link #freeze()} keeps every connection open and accepts new ones but forwards nothing more, as a database that
 * hangs or a network partition does: clients wait until their own timeouts end the wait.
 */
public final class TcpProxy implements AutoCloseable {
  /** {@code //host:port/} in a JDBC URL. */
  private static final Pattern HOST_AND_PORT = Pattern.compile("//([^/:?]+)(?::(\\d+))?/");
  private static final int CONNECT_TIMEOUT_MS = 5_000;

  private final String targetHost;
  private final int port;
  private final Set<Socket> sockets = new HashSet<>();
  private volatile int targetPort;
  private volatile boolean frozen;
  private ServerSocket listening;
  private Thread acceptor;

  private TcpProxy(String targetHost, int targetPort) throws IOException {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.port = TestPorts.freePortOutsideEphemeralRange();
    listen();
  }

  /** A proxy to {@code targetHost:targetPort}, listening on a free loopback port. */
  public static TcpProxy to(String targetHost, int targetPort) throws IOException {
    return new TcpProxy(targetHost, targetPort);
  }

  /**
   * A proxy to the server of {@code jdbcUrl} ({@code jdbc:postgresql://HOST[:PORT]/...} or {@code
   * jdbc:mariadb://HOST[:PORT]/...}; {@code defaultPort} when it names none).
   */
  public static TcpProxy toServerOf(String jdbcUrl, int defaultPort) throws IOException {
    Matcher matcher = HOST_AND_PORT.matcher(jdbcUrl);
    if (!matcher.find()) {
      throw new IllegalArgumentException("no //HOST:PORT/ in " + jdbcUrl);
    }
    int targetPort = matcher.group(2) == null ? defaultPort : Integer.parseInt(matcher.group(2));
    return new TcpProxy(matcher.group(1), targetPort);
  }

  /** {@code jdbcUrl} with its host and port replaced by this proxy's. */
  public String rewrite(String jdbcUrl) {
    Matcher matcher = HOST_AND_PORT.matcher(jdbcUrl);
    if (!matcher.find()) {
      throw new IllegalArgumentException("no //HOST:PORT/ in " + jdbcUrl);
    }
    return jdbcUrl.substring(0, matcher.start()) + "//127.0.0.1:" + port + "/" + jdbcUrl.substring(matcher.end());
  }

  public int port() {
    return port;
  }

  /** Forwards new connections to {@code targetPort} on the same host from now on: a server restarted elsewhere. */
  public void retarget(int targetPort) {
    this.targetPort = targetPort;
  }

  /**
   * Stops listening and breaks every forwarded connection. Returns once no socket of the proxy holds its port, so
   * that {@link #restore()} can listen on it again.
   */
  public void cut() throws IOException {
    frozen = false;
    Thread stopped;
    synchronized (this) {
      if (listening != null) {
        listening.close();
        listening = null;
      }
      for (Socket socket : sockets) {
        closeQuietly(socket);
      }
      sockets.clear();
      stopped = acceptor;
      acceptor = null;
    }
    // A connection accepted just before the cut is closed by the acceptor itself (see track): wait for that.
    if (stopped != null) {
      try {
        stopped.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while cutting the proxy on port " + port);
      }
    }
  }

  /**
   * Stops forwarding, in both directions and on every connection, old and new, until {@link #cut()} or {@link
   * #close()}; nothing is closed, so nothing tells the client that the peer is gone.
   */
  public void freeze() {
    frozen = true;
  }

  /** Forwards again what {@link #freeze()} held, and all that follows. */
  public void thaw() {
    frozen = false;
  }

  /** Listens on the same port again. */
  public synchronized void restore() throws IOException {
    if (listening == null) {
      listen();
    }
  }

  @Override
  public void close() throws IOException {
    cut();
  }

  private synchronized void listen() throws IOException {
    ServerSocket server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    listening = server;
    acceptor = start("tcp-proxy-accept-" + port, () -> accept(server));
  }

  private void accept(ServerSocket server) {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // cut
      }
      Socket upstream = new Socket();
      try {
        upstream.connect(new InetSocketAddress(targetHost, targetPort), CONNECT_TIMEOUT_MS);
      } catch (IOException e) {
        closeQuietly(client);
        closeQuietly(upstream);
        continue;
      }
      if (!track(server, List.of(client, upstream))) {
        return;
      }
      start("tcp-proxy-up", () -> pump(client, upstream));
      start("tcp-proxy-down", () -> pump(upstream, client));
    }
  }

  /** Keeps {@code pair} to close on a cut; closes it at once when {@code server} was cut meanwhile. */
  private synchronized boolean track(ServerSocket server, List<Socket> pair) {
    if (listening != server) {
      pair.forEach(TcpProxy::closeQuietly);
      return false;
    }
    sockets.addAll(pair);
    return true;
  }

  private synchronized void untrack(List<Socket> pair) {
    sockets.removeAll(new ArrayList<>(pair));
  }

  private void pump(Socket from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int read; (read = in.read(buffer)) >= 0; ) {
        while (frozen && !to.isClosed()) {
          Thread.sleep(10);
        }
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException e) {
      // One side closed or was cut: close both below.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      untrack(List.of(from, to));
    }
  }

  private static Thread start(String name, Runnable work) {
    Thread thread = new Thread(work, name);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // Closing a socket that already broke.
    }
  }
}
