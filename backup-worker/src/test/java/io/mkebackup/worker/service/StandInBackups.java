package io.mkebackup.worker.service;

import io.mkebackup.common.bus.BackupJob;
import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.record.BackupRecord;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The backup service as the {@link Scheduler} sees it, without a backup: it keeps the jobs it is
 * asked to start and answers as the test says (accepts by default: the IN_PROGRESS record, and
 * the run ends as {@link #ends} says, at once, or never).
 */
final class StandInBackups implements Scheduler.Backups {
  final JobRules rules;
  final List<BackupJob> started = new CopyOnWriteArrayList<>();
  volatile boolean majority = true;
  /** The answer to a start; by default the job is accepted. */
  volatile Function<BackupJob, CompletableFuture<BackupRecord>> answer = job -> CompletableFuture.completedFuture(
      running(job));
  /** How an accepted run ends, given its IN_PROGRESS record; null: it does not end during the test. */
  volatile Function<BackupRecord, BackupRecord> ends;

  StandInBackups(JobRules rules) {
    this.rules = rules;
  }

  BackupRecord running(BackupJob job) {
    return BackupRecord.inProgress(job.id(), job.passphrase() != null, job.fileName(), job.logFileName(),
        job.hostPath().toString(), node(), memberId(), job.origin()).withTick(job.tick());
  }

  @Override
  public boolean hasMajority() {
    return majority;
  }

  @Override
  public String node() {
    return "node-1";
  }

  @Override
  public String memberId() {
    return "member-1";
  }

  @Override
  public JobRules rules() {
    return rules;
  }

  @Override
  public CompletableFuture<BackupRecord> start(BackupJob job, Consumer<BackupRecord> finished) {
    started.add(job);
    CompletableFuture<BackupRecord> accepted = answer.apply(job);
    Function<BackupRecord, BackupRecord> end = ends;
    if (end != null && !accepted.isCompletedExceptionally()) {
      finished.accept(end.apply(accepted.join()));
    }
    return accepted;
  }
}
