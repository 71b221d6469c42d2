package dev.clickstream.transforms;

import dev.clickstream.store.StoreFixtures;
import dev.clickstream.store.TcpProxy;
import dev.clickstream.store.TestPorts;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import org.h2.tools.Server;

/**
 * A fresh online store that a test can take down and bring back. H2 is a TCP server started here, stopped and
 * started again over the same database files: a real database outage, behind a {@link TcpProxy} that keeps its
 * address. PostgreSQL and MariaDB are the shared local servers, which must keep running for other tests: a {@link
 * TcpProxy} in front of them is cut instead, so connections break and new ones are refused until it is restored.
 */
abstract class StoreOutage implements AutoCloseable {
  private StoreOutage() {}

  /** A fresh store of {@code dialect} ({@link StoreFixtures#dialects()}); H2 keeps its files under {@code h2BaseDir}. */
  static StoreOutage of(String dialect, Path h2BaseDir) throws SQLException, IOException {
    switch (dialect) {
      case "h2":
        return new H2Server(h2BaseDir);
      case "postgresql":
        return new Proxied(StoreFixtures.freshPostgresUrl(), 5432);
      case "mariadb":
        return new Proxied(StoreFixtures.freshMariadbUrl(), 3306);
      default:
        throw new IllegalArgumentException("unknown test dialect " + dialect);
    }
  }

  /** The store's JDBC URL, through the server or proxy that {@link #stop()} takes down. */
  abstract String url();

  /** Takes the store down: open connections break, new ones are refused. */
  abstract void stop() throws IOException;

  /** Brings the store back on the same port, with everything it held. */
  abstract void start() throws IOException, SQLException;

  @Override
  public void close() throws IOException {
    stop();
  }

  /**
   * An H2 TCP server behind a {@link TcpProxy}: the URL names the proxy, so the server can start again on a new
   * port over the same files. H2 cannot always listen on its old port again: a connection accepted as it stops can
   * outlive the stop and keep the port.
   */
  private static final class H2Server extends StoreOutage {
    private final String baseDir;
    private final TcpProxy proxy;
    private Server server;

    H2Server(Path baseDir) throws SQLException, IOException {
      this.baseDir = baseDir.toString();
      this.server = tcpServer();
      this.proxy = TcpProxy.to("127.0.0.1", server.getPort());
    }

    private Server tcpServer() throws SQLException, IOException {
      String port = String.valueOf(TestPorts.freePortOutsideEphemeralRange());
      return Server.createTcpServer("-tcpPort", port, "-ifNotExists", "-baseDir", baseDir).start();
    }

    @Override
    String url() {
      return "jdbc:h2:tcp://127.0.0.1:" + proxy.port() + "/outage";
    }

    /**
     * Cuts the proxy, so connections are refused and every open one breaks, then stops the server, which closes every
     * session and the database. In that order no connection can reach the server while it stops: one accepted as it
     * stops can outlive the stop, and H2's client, which has no read timeout, would wait on it for ever.
     */
    @Override
    synchronized void stop() throws IOException {
      proxy.cut();
      if (server != null) {
        server.stop();
        server = null;
      }
    }

    @Override
    synchronized void start() throws SQLException, IOException {
      if (server == null) {
        server = tcpServer();
        proxy.retarget(server.getPort());
        proxy.restore();
      }
    }
  }

  private static final class Proxied extends StoreOutage {
    private final TcpProxy proxy;
    private final String url;

    Proxied(String directUrl, int defaultPort) throws IOException {
      this.proxy = TcpProxy.toServerOf(directUrl, defaultPort);
      this.url = proxy.rewrite(directUrl);
    }

    @Override
    String url() {
      return url;
    }

    @Override
    void stop() throws IOException {
      proxy.cut();
    }

    @Override
    void start() throws IOException {
      proxy.restore();
    }
  }
}
