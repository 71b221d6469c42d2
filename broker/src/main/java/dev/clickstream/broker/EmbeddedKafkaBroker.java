package dev.clickstream.broker;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import kafka.server.BrokerServer;
import kafka.testkit.KafkaClusterTestKit;
import kafka.testkit.TestKitNodes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * A real single-node Kafka broker (KRaft, combined broker and controller) inside this JVM, started from Kafka's own
 * test kit ({@link KafkaClusterTestKit}): for tests, the demo and {@code ./clickstream kafka}, where there is no
 * Docker and no Kafka distribution.
 *
 * <p>The client listener is on a fixed port of 127.0.0.1 for the broker's whole life, so {@link #restartBroker()} can
 * stop and start the broker under running clients, which reconnect to the same address. Its data lives in a
 * temporary directory that {@link #close()} deletes.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

  private final KafkaClusterTestKit cluster;
  private final int port;

  private EmbeddedKafkaBroker(KafkaClusterTestKit cluster, int port) {
    this.cluster = cluster;
    this.port = port;
  }

  /** Starts a broker listening on 127.0.0.1:{@code port}, or on a free port when {@code port} is 0. */
  public static EmbeddedKafkaBroker start(int port) throws Exception {
    int clientPort = port == 0 ? freePort() : port;
    KafkaClusterTestKit cluster =
        new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
            .setConfigProp("listeners", "EXTERNAL://127.0.0.1:" + clientPort + ",CONTROLLER://127.0.0.1:0")
            // One node: every internal topic has one replica, and a consumer group starts without waiting.
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("offsets.topic.num.partitions", "1")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1")
            .setConfigProp("group.initial.rebalance.delay.ms", "0")
            .setConfigProp("auto.create.topics.enable", "true")
            .setConfigProp("num.partitions", "1")
            .build();
    try {
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
    } catch (Exception e) {
      cluster.close();
      throw new IOException(
          "cannot start the embedded Kafka broker on 127.0.0.1:" + clientPort
              + (port == 0 ? "" : " (is the port taken? choose another with --port)") + ": " + e.getMessage(),
          e);
    }
    return new EmbeddedKafkaBroker(cluster, clientPort);
  }

  /** {@code host:port} for clients' {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /**
   * How many fetch requests for {@code topic} the broker has served since it started: more than none once a consumer
   * reads the topic. From the broker's own per-topic meter, which it registers in this JVM's MBean server at the
   * topic's first fetch.
   */
  public long fetchRequests(String topic) {
    try {
      ObjectName meter =
          new ObjectName("kafka.server:type=BrokerTopicMetrics,name=TotalFetchRequestsPerSec,topic=" + topic);
      MBeanServer server = ManagementFactory.getPlatformMBeanServer();
      return server.isRegistered(meter) ? ((Number) server.getAttribute(meter, "Count")).longValue() : 0;
    } catch (JMException e) {
      throw new IllegalStateException("cannot read the broker's fetch requests of topic " + topic, e);
    }
  }

  /**
   * Creates {@code topic} with {@code partitions} partitions, unless it exists. Tests' own helper: the launcher
   * creates topics on any broker with {@code KafkaTopics}, which turns an unreachable one into advice.
   */
  public void createTopic(String topic, int partitions) throws ExecutionException, InterruptedException {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw e;
      }
    }
  }

  /**
   * Stops the broker and starts it again on the same port with the same data, as a broker restart in production:
   * clients see their connections drop and come back. The controller keeps running.
   */
  public void restartBroker() throws Exception {
    BrokerServer broker = cluster.brokers().values().iterator().next();
    broker.shutdown();
    broker.awaitShutdown();
    broker.startup();
    cluster.waitForReadyBrokers();
  }

  /** Stops the broker and deletes its data. */
  @Override
  public void close() throws Exception {
    cluster.close();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
