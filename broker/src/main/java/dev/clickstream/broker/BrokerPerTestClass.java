package dev.clickstream.broker;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One {@link EmbeddedKafkaBroker} for a JUnit 5 test class: started before its first test, closed after its last.
 * Register it as {@code @RegisterExtension static final BrokerPerTestClass KAFKA = new BrokerPerTestClass();}.
 */
public final class BrokerPerTestClass implements BeforeAllCallback, AfterAllCallback {
  private EmbeddedKafkaBroker broker;

  /** The running broker; only between the class's first and last test. */
  public EmbeddedKafkaBroker broker() {
    if (broker == null) {
      throw new IllegalStateException("the broker runs only while the test class runs: register this extension"
          + " on a static field with @RegisterExtension");
    }
    return broker;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    broker = EmbeddedKafkaBroker.start(0);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (broker != null) {
      broker.close();
      broker = null;
    }
  }
}
