package dev.clickstream.transforms;

import java.lang.reflect.Method;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.junit.runner.Description;
import org.junit.runners.model.Statement;

/**
 * JUnit 5 support for Beam's {@link TestPipeline}, which is a JUnit 4 rule (Beam's own extension arrives in 2.68).
 *
 * <p>Each test method that declares a {@code TestPipeline} parameter gets a fresh one, and the test body runs
 * inside the rule, so the rule's checks still apply: a pipeline built but never run fails the test, as do nodes
 * left without a consumer. Options come from the {@code beamTestPipelineOptions} system property, as in Beam.
 */
public final class TestPipelineExtension implements ParameterResolver, InvocationInterceptor {
  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(TestPipelineExtension.class);

  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return parameterContext.getParameter().getType() == TestPipeline.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return pipelineFor(extensionContext);
  }

  @Override
  public void interceptTestMethod(
      Invocation<Void> invocation,
      ReflectiveInvocationContext<Method> invocationContext,
      ExtensionContext extensionContext)
      throws Throwable {
    runInsideRule(invocation, extensionContext);
  }

  /** Parameterized and repeated tests too: each invocation gets its own pipeline, checked by the rule. */
  @Override
  public void interceptTestTemplateMethod(
      Invocation<Void> invocation,
      ReflectiveInvocationContext<Method> invocationContext,
      ExtensionContext extensionContext)
      throws Throwable {
    runInsideRule(invocation, extensionContext);
  }

  private static void runInsideRule(Invocation<Void> invocation, ExtensionContext extensionContext)
      throws Throwable {
    TestPipeline pipeline = extensionContext.getStore(NAMESPACE).get(TestPipeline.class, TestPipeline.class);
    if (pipeline == null) {
      invocation.proceed();
      return;
    }
    Statement body =
        new Statement() {
          @Override
          public void evaluate() throws Throwable {
            invocation.proceed();
          }
        };
    Description description =
        Description.createTestDescription(
            extensionContext.getRequiredTestClass(), extensionContext.getRequiredTestMethod().getName());
    pipeline.apply(body, description).evaluate();
  }

  /** The test body, for {@link #runInRule}. */
  @FunctionalInterface
  public interface PipelineTestBody {
    void run(TestPipeline pipeline) throws Throwable;
  }

  /**
   * Runs {@code body} inside {@code pipeline}'s rule, for tests that need a pipeline on options of their own (a
   * runner other than the default, say): {@code TestPipeline.fromOptions(options)}.
   */
  public static void runInRule(TestPipeline pipeline, String testName, PipelineTestBody body) throws Throwable {
    Statement statement =
        new Statement() {
          @Override
          public void evaluate() throws Throwable {
            body.run(pipeline);
          }
        };
    pipeline
        .enableAbandonedNodeEnforcement(true)
        .apply(statement, Description.createTestDescription(TestPipelineExtension.class, testName))
        .evaluate();
  }

  private static TestPipeline pipelineFor(ExtensionContext context) {
    return context
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(
            TestPipeline.class,
            unused -> TestPipeline.create().enableAbandonedNodeEnforcement(true),
            TestPipeline.class);
  }
}
