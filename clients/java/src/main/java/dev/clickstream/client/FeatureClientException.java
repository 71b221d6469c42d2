package dev.clickstream.client;

/** A request the feature server refused or could not answer: its HTTP status (0 when unreachable) and message. */
public final class FeatureClientException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;

  FeatureClientException(int status, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
  }

  /** The HTTP status the server answered (400 bad input, 404 unknown view or service, 503 store down); 0 unreached. */
  public int status() {
    return status;
  }
}
