package dev.clickstream.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/** Loopback ports for test servers that are stopped and started again on the same port. */
public final class TestPorts {
  private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
  /** Linux's default ephemeral range, when the kernel's cannot be read. */
  private static final int[] DEFAULT_EPHEMERAL_RANGE = {32768, 60999};
  private static final int CANDIDATES = 10_000;
  private static final int TRIES = 200;

  private TestPorts() {}

  /**
   * A free loopback port outside the kernel's ephemeral range. While a server stopped by a test is down, a port in
   * that range can be taken as the local port of some outgoing connection, or of a client's connection to itself
   * while it retries the port (TCP simultaneous open), and the server could not start again on it.
   */
  public static int freePortOutsideEphemeralRange() throws IOException {
    int[] ephemeral = ephemeralRange();
    int first;
    if (ephemeral[0] > 1024 + CANDIDATES) {
      first = ephemeral[0] - CANDIDATES;
    } else if (ephemeral[1] < 65535 - CANDIDATES) {
      first = ephemeral[1] + 1;
    } else {
      throw new IllegalStateException("no ports outside the ephemeral range " + ephemeral[0] + "-" + ephemeral[1]);
    }
    for (int i = 0; i < TRIES; i++) {
      int port = first + ThreadLocalRandom.current().nextInt(CANDIDATES);
      if (isFree(port)) {
        return port;
      }
    }
    throw new IllegalStateException("no free port in " + first + "-" + (first + CANDIDATES - 1));
  }

  private static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int[] ephemeralRange() throws IOException {
    if (!Files.isReadable(EPHEMERAL_RANGE)) {
      return DEFAULT_EPHEMERAL_RANGE;
    }
    // Read as a stream: /proc files report a size of 0, and Files.readString reads too little of them.
    String line;
    try (BufferedReader reader = Files.newBufferedReader(EPHEMERAL_RANGE)) {
      line = reader.readLine();
    }
    String[] bounds = line.trim().split("\\s+");
    return new int[] {Integer.parseInt(bounds[0]), Integer.parseInt(bounds[1])};
  }
}
