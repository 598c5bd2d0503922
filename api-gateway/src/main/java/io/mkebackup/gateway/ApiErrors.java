package io.mkebackup.gateway;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * The one place error codes become HTTP statuses. Error bodies are
 * {@code {"code","field","message"}}; field is empty when the error concerns no request field.
 */
public final class ApiErrors {
  private ApiErrors() {}

  public static int status(ErrorCode code) {
    return switch (code) {
      case INVALID_FIELD, TARGET_NOT_FOUND, TARGET_NOT_WRITABLE, REQUEST_TOO_LARGE, WRONG_PASSPHRASE -> 400;
      case UNAUTHORIZED -> 401;
      case FORBIDDEN -> 403;
      case NOT_FOUND -> 404;
      case METHOD_NOT_ALLOWED -> 405;
      case BACKUP_RUNNING -> 409;
      case TOO_MANY_ATTEMPTS -> 429;
      case WORKER_UNAVAILABLE, NO_MAJORITY -> 503;
      default -> 500;
    };
  }

  public static JsonObject body(BackupException e) {
    return new JsonObject()
        .put("code", e.code().name())
        .put("field", e.field() == null ? "" : e.field())
        .put("message", e.getMessage());
  }

  /** Ends the request with the error; anything not ours is a 500 that hides its details. */
  public static void send(RoutingContext ctx, Throwable t) {
    BackupException e = t instanceof BackupException b ? b
        : new BackupException(ErrorCode.INTERNAL, "internal server error; see the manager's log");
    if (!(t instanceof BackupException)) {
      java.util.logging.Logger.getLogger(ApiErrors.class.getName())
          .log(java.util.logging.Level.WARNING, ctx.request().method() + " " + ctx.request().path() + " failed", t);
    }
    if (ctx.response().ended()) {
      return;
    }
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    ctx.response()
        .setStatusCode(status(e.code()))
        .putHeader("Content-Type", "application/json")
        .end(body(e).encode());
  }
}
