package dev.clickstream.transforms;

/** Why a record is not a valid event: a stable reason code for metrics and dead letters, and a sentence for people. */
public final class InvalidEventException extends Exception {
  private static final long serialVersionUID = 1L;
  /** empty_record, malformed_json, malformed_avro, missing_field or invalid_field. */
  public final String reason;

  InvalidEventException(String reason, String detail) {
    // No stack trace: a bad record is data, not a bug, and some streams have many.
    super(detail, null, false, false);
    this.reason = reason;
  }
}
