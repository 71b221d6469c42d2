package dev.clickstream.store;

/** The online store could not be reached or refused a statement; the message says which and where. */
public final class StoreUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StoreUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
