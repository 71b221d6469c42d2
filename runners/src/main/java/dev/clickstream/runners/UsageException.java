package dev.clickstream.runners;

/** A command was called wrongly; the message says what was wrong and what to do. Exit code 2. */
public final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
