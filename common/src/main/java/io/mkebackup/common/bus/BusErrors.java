package io.mkebackup.common.bus;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.FileNames;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;

/**
 * The one encoding of a {@link BackupException} sent back over the event bus as a failure: the
 * error's JSON ({@code {"code","field","message"}}) with its code by name, so that members of
 * different versions, whose {@link ErrorCode}s may differ in order or in number, understand each
 * other. The failure code is {@link #FAILURE_CODE} and is not read (members before this codec sent
 * the code's ordinal there; their bodies are the same JSON, so they decode alike).
 */
public final class BusErrors {
  /** The failure code of every such reply. */
  public static final int FAILURE_CODE = 1;
  /** At most this much of a member's message is kept: cluster messages are input like any other. */
  static final int MAX_MESSAGE = 1000;

  private BusErrors() {}

  /** Fails the message with the error. */
  public static void fail(Message<?> message, BackupException e) {
    message.fail(FAILURE_CODE, encode(e));
  }

  public static String encode(BackupException e) {
    return new JsonObject().put("code", e.code().name()).put("field", e.field()).put("message", e.getMessage())
        .encode();
  }

  /**
   * The error a failure's message carries. A code this member does not know (a newer member's)
   * becomes INTERNAL, naming it; a message that is not such JSON, INTERNAL quoting it.
   */
  public static BackupException decode(String body) {
    JsonObject j;
    try {
      j = new JsonObject(body);
    } catch (RuntimeException notJson) {
      return new BackupException(ErrorCode.INTERNAL, "the backup worker failed: " + cut(String.valueOf(body)));
    }
    String name = j.getValue("code") instanceof String s ? s : "";
    String field = j.getValue("field") instanceof String s && !s.isEmpty() ? FileNames.printable(s, 80) : null;
    String message = cut(j.getValue("message") instanceof String s ? s : "");
    ErrorCode code;
    try {
      code = ErrorCode.valueOf(name);
    } catch (IllegalArgumentException unknown) {
      return new BackupException(ErrorCode.INTERNAL, field, "the backup worker failed with "
          + FileNames.printable(name, 80) + ", a code this manager does not know (a newer version?): " + message, null);
    }
    return new BackupException(code, field, message, null);
  }

  private static String cut(String s) {
    return FileNames.printable(s, MAX_MESSAGE);
  }
}
