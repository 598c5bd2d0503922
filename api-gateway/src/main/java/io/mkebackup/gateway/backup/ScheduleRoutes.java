package io.mkebackup.gateway.backup;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.cluster.ScheduleStore;
import io.mkebackup.common.schedule.Durations;
import io.mkebackup.common.schedule.Schedule;
import io.mkebackup.gateway.ApiErrors;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * {@code POST/GET /api/ucp/backup/schedules}, {@code GET/PUT/DELETE /api/ucp/backup/schedules/{id}}
 * (admin only). A schedule names a passphrase file, never a passphrase.
 */
public final class ScheduleRoutes {
  static final Map<String, Class<?>> FIELDS = Map.of(
      "cron", String.class, "paused", Boolean.class, "hostPath", String.class, "includeLogs", Boolean.class,
      "noPassphrase", Boolean.class, "fileNamePrefix", String.class, "passphraseFile", String.class,
      "retention", JsonObject.class);

  private final Vertx vertx;
  private final ScheduleStore store;
  private final BackupRequestValidator paths;
  private final Duration minEvery;

  /** @param minEvery the shortest {@code @every} a schedule may have */
  public ScheduleRoutes(Vertx vertx, ScheduleStore store, BackupRequestValidator paths, Duration minEvery) {
    this.vertx = vertx;
    this.store = store;
    this.paths = paths;
    this.minEvery = minEvery;
  }

  /** Mount before the backup routes: {@code /api/ucp/backup/:id} would take "schedules". */
  public void mount(Router router) {
    router.post("/api/ucp/backup/schedules").handler(this::create);
    router.get("/api/ucp/backup/schedules").handler(this::list);
    router.get("/api/ucp/backup/schedules/:id").handler(this::one);
    router.put("/api/ucp/backup/schedules/:id").handler(this::update);
    router.delete("/api/ucp/backup/schedules/:id").handler(this::delete);
  }

  private void create(RoutingContext ctx) {
    // The context belongs to the event loop: take the body here, validate (which touches the disk) on a worker.
    Buffer body = ctx.body().buffer();
    vertx.executeBlocking(() -> {
      Schedule s = validate(body, UUID.randomUUID().toString(), Instant.now(), 0);
      store.put(s);
      return s;
    }, false).onSuccess(s -> json(ctx, 201, s.toApiJson(Instant.now()))).onFailure(e -> ApiErrors.send(ctx, e));
  }

  private void update(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    Buffer body = ctx.body().buffer();
    vertx.executeBlocking(() -> {
      Schedule old = store.get(id).orElseThrow(() -> notFound(id));
      Schedule s = validate(body, id, old.createdAt(), old.lastTick());
      store.put(s);
      return s;
    }, false).onSuccess(s -> json(ctx, 200, s.toApiJson(Instant.now()))).onFailure(e -> ApiErrors.send(ctx, e));
  }

  private void list(RoutingContext ctx) {
    vertx.executeBlocking(store::list, false).onSuccess(all -> {
      JsonArray a = new JsonArray();
      all.forEach(s -> a.add(s.toApiJson(Instant.now())));
      ctx.response().putHeader("Content-Type", "application/json").end(a.encode());
    }).onFailure(e -> ApiErrors.send(ctx, e));
  }

  private void one(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    vertx.executeBlocking(() -> store.get(id).orElseThrow(() -> notFound(id)), false)
        .onSuccess(s -> json(ctx, 200, s.toApiJson(Instant.now()))).onFailure(e -> ApiErrors.send(ctx, e));
  }

  private void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    vertx.executeBlocking(() -> {
      if (!store.delete(id)) {
        throw notFound(id);
      }
      return null;
    }, false).onSuccess(v -> ctx.response().setStatusCode(204).end()).onFailure(e -> ApiErrors.send(ctx, e));
  }

  private static BackupException notFound(String id) {
    return new BackupException(ErrorCode.NOT_FOUND, "id", "schedule " + id + " not found", null);
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
  }

  /** The whole schedule from a request body; every refusal names its field. Touches the disk. */
  Schedule validate(Buffer body, String id, Instant createdAt, long lastTick) {
    JsonObject j = BackupRequestValidator.parseObject(body, "{\"cron\": \"0 3 * * *\", \"noPassphrase\": true}");
    if (j.containsKey("passphrase")) {
      throw BackupException.invalid("passphrase", "passphrase does not belong in a schedule (it would be stored);"
          + " give passphraseFile, a file the manager reads at each run (a Docker secret, say)");
    }
    BackupRequestValidator.checkTypes(j, FIELDS);
    String cron = j.getString("cron");
    io.mkebackup.common.schedule.Cadence.parse(cron, "cron", minEvery);
    String hostPath = paths.hostPath(j.getString("hostPath")).toString();
    boolean noPassphrase = j.getBoolean("noPassphrase", false);
    String passphraseFile = j.getString("passphraseFile");
    if (noPassphrase == (passphraseFile != null)) {
      throw BackupException.invalid("passphraseFile", noPassphrase
          ? "passphraseFile and noPassphrase: true exclude each other; give one"
          : "passphraseFile is required (a file holding the passphrase, read at each run), or set noPassphrase: true");
    }
    if (passphraseFile != null) {
      checkPassphraseFile(passphraseFile);
    }
    String prefix = j.getString("fileNamePrefix");
    if (prefix != null) {
      BackupRequestValidator.checkPlainName("fileNamePrefix", prefix);
    }
    JsonObject retention = j.getJsonObject("retention", new JsonObject());
    for (String k : retention.fieldNames()) {
      if (!Set.of("keepLast", "maxAge").contains(k)) {
        throw BackupException.invalid("retention", "retention." + k + " is not known; use keepLast and maxAge");
      }
    }
    Integer keepLast = null;
    if (retention.containsKey("keepLast")) {
      Object k = retention.getValue("keepLast");
      if (!(k instanceof Integer || k instanceof Long) || ((Number) k).longValue() < 1 || ((Number) k).longValue() > 10_000) {
        throw BackupException.invalid("retention.keepLast", "retention.keepLast must be a whole number from 1 to 10000");
      }
      keepLast = ((Number) k).intValue();
    }
    Duration maxAge = null;
    if (retention.containsKey("maxAge")) {
      if (!(retention.getValue("maxAge") instanceof String m)) {
        throw BackupException.invalid("retention.maxAge", "retention.maxAge must be a duration string such as \"168h\"");
      }
      maxAge = Durations.parse(m, "retention.maxAge");
    }
    return new Schedule(id, cron.trim(), j.getBoolean("paused", false), hostPath, j.getBoolean("includeLogs", false),
        noPassphrase, prefix, passphraseFile, keepLast, maxAge, createdAt, lastTick);
  }

  /** The file must be absolute and readable now and hold a passphrase of the required length. */
  static void checkPassphraseFile(String file) {
    if (!Path.of(file).isAbsolute()) {
      throw BackupException.invalid("passphraseFile", "passphraseFile must be an absolute path");
    }
    try (Passphrase ignored = Passphrase.fromFile(Path.of(file), "passphraseFile")) {
      // readable, and long enough
    }
  }
}
