package io.mkebackup.common;

import java.util.Objects;

/**
 * The one error type of mke-backup: a stable code, a message for humans saying what happened and
 * what to do, and the request field it concerns (or null). Messages never carry secrets.
 */
public final class BackupException extends RuntimeException {
  private final ErrorCode code;
  private final String field;

  public BackupException(ErrorCode code, String message) {
    this(code, null, message, null);
  }

  public BackupException(ErrorCode code, String message, Throwable cause) {
    this(code, null, message, cause);
  }

  public BackupException(ErrorCode code, String field, String message, Throwable cause) {
    super(Objects.requireNonNull(message), cause);
    this.code = Objects.requireNonNull(code);
    this.field = field;
  }

  public static BackupException invalid(String field, String message) {
    return new BackupException(ErrorCode.INVALID_FIELD, field, message, null);
  }

  public ErrorCode code() {
    return code;
  }

  /** The request field or CLI option the error concerns, or null. */
  public String field() {
    return field;
  }

  @Override
  public String toString() {
    return code + ": " + getMessage();
  }
}
