package io.mkebackup.worker.service;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.bus.BackupJob;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.bus.Addresses;
import io.mkebackup.common.bus.BusErrors;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.CompletionException;

/**
 * The backup-worker verticle: consumes jobs for this node ({@link Addresses#jobsOn}) and for any
 * node ({@link Addresses#JOBS}) and hands them to the {@link BackupService}, replying once a job is
 * accepted or refused. Wiring only; the work runs on the service's own threads.
 */
public final class BackupWorkerVerticle extends VerticleBase {
  private final BackupService service;

  public BackupWorkerVerticle(BackupService service) {
    this.service = service;
  }

  @Override
  public Future<?> start() {
    return Future.all(
        vertx.eventBus().<JsonObject>consumer(Addresses.jobsOn(service.node()), this::onJob).completion(),
        vertx.eventBus().<JsonObject>consumer(Addresses.JOBS, this::onJob).completion());
  }

  private void onJob(Message<JsonObject> message) {
    BackupJob job;
    try {
      job = BackupJob.fromJson(message.body());
    } catch (RuntimeException e) {
      fail(message, e);
      return;
    }
    Future.fromCompletionStage(service.start(job), context)
        .onSuccess(record -> message.reply(new JsonObject()
            .put("backupId", record.id())
            .put("nodeLocation", record.nodeLocation())))
        .onFailure(e -> fail(message, e));
  }

  /** Failures travel as {@link BusErrors} encodes them: the error's JSON, its code by name. */
  static void fail(Message<?> message, Throwable t) {
    Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    BusErrors.fail(message, e instanceof BackupException b ? b
        : new BackupException(ErrorCode.INTERNAL, "the worker failed: " + e.getMessage(), e));
  }
}
