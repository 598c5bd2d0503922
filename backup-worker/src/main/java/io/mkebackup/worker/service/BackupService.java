package io.mkebackup.worker.service;

import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Threads;
import io.mkebackup.common.archive.ArchiveContents;
import io.mkebackup.common.bus.BackupJob;
import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.backup.BackupProcedure;
import io.mkebackup.worker.backup.BackupRequest;
import io.mkebackup.worker.backup.BackupResult;
import io.mkebackup.worker.pipeline.SpoolDirectory;
import io.mkebackup.worker.run.BackupRun;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs backup jobs on this member: checks the job against this member's own rules (a job comes
 * from the cluster, or from a schedule in it), takes the cluster lock (on the thread that then runs the whole
 * backup, so the lock is the run's), records IN_PROGRESS with this node, says the job is accepted,
 * streams the backup, records SUCCESS or FAILED, publishes the terminal event, frees the lock.
 */
public final class BackupService implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(BackupService.class.getName());

  private final BackupConfig config;
  private final JobRules rules;
  private final BackupCatalog catalog;
  private final BackupLock lock;
  private final Supplier<String> memberId;
  private final ProgressListener publisher;
  private final ExecutorService threads;
  private volatile BackupMetrics metrics;
  /** Jobs taken and not yet ended (refused or finished); guarded by {@code this}. */
  private int running;
  private volatile boolean stopping;

  /**
   * @param rules what a job must meet on this member, as the gateway checks a request
   * @param memberId this member's cluster id now, recorded as the owner of its backups (Hazelcast
   *     gives a member a new one when it merges back after a split)
   * @param publisher where progress goes (the event bus); called from the backup's thread
   */
  public BackupService(BackupConfig config, JobRules rules, BackupCatalog catalog, BackupLock lock, Supplier<String> memberId,
      ProgressListener publisher) {
    this.config = config;
    this.rules = rules;
    this.catalog = catalog;
    this.lock = lock;
    this.memberId = memberId;
    this.publisher = publisher;
    this.threads = Executors.newCachedThreadPool(Threads.named("mke-backup-run"));
  }

  /** Counts this member's backups in these meters from now on. */
  public void meter(BackupMetrics m) {
    this.metrics = m;
  }

  public String node() {
    return config.nodeName();
  }

  public JobRules rules() {
    return rules;
  }

  /** Whether this member sees a majority of the configured managers (and may start backups). */
  public boolean hasMajority() {
    return lock.hasMajority();
  }

  /** This member's cluster id now. */
  public String memberId() {
    return memberId.get();
  }

  /**
   * Starts a job. The future completes with the IN_PROGRESS record once the lock is held and the
   * record saved, or fails with the refusal (the job breaks this member's rules, or
   * {@link ErrorCode#BACKUP_RUNNING} naming the running backup); the backup itself goes on after that.
   */
  public CompletableFuture<BackupRecord> start(BackupJob job) {
    return start(job, r -> {});
  }

  /** As {@link #start(BackupJob)}, calling {@code finished} with the final record when it ends. */
  public CompletableFuture<BackupRecord> start(BackupJob job, java.util.function.Consumer<BackupRecord> finished) {
    CompletableFuture<BackupRecord> accepted = new CompletableFuture<>();
    synchronized (this) {
      if (stopping) {
        closeQuietly(job);
        accepted.completeExceptionally(new io.mkebackup.common.BackupException(ErrorCode.WORKER_UNAVAILABLE,
            "the manager on " + node() + " is stopping; try again on another manager"));
        return accepted;
      }
      running++;
    }
    try {
      threads.execute(() -> {
        try {
          startNow(job, accepted, finished);
        } finally {
          ended();
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed under it: nothing runs, nothing is counted, the caller hears why
      ended();
      closeQuietly(job);
      accepted.completeExceptionally(new io.mkebackup.common.BackupException(ErrorCode.WORKER_UNAVAILABLE,
          "the manager on " + node() + " is stopping; try again on another manager"));
    }
    return accepted;
  }

  private synchronized void ended() {
    running--;
    notifyAll();
  }

  private void startNow(BackupJob job, CompletableFuture<BackupRecord> accepted,
      java.util.function.Consumer<BackupRecord> finished) {
    BackupJob valid;
    try {
      valid = rules.recheck(job);
    } catch (RuntimeException e) {
      LOG.warning("refused a backup job: " + String.valueOf(e.getMessage()).replaceAll("\\p{Cntrl}", "?"));
      closeQuietly(job);
      accepted.completeExceptionally(e);
      return;
    }
    BackupRecord last = run(valid, accepted);
    if (last != null) {
      try {
        finished.accept(last);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "after backup " + job.id() + ": " + e.getMessage(), e);
      }
    }
  }

  /**
   * Takes no more jobs (they are refused with {@link ErrorCode#WORKER_UNAVAILABLE}) and waits up
   * to {@code max} for the ones running here to end, so that a manager stopped for an update
   * finishes its backup rather than leaving it FAILED.
   *
   * @return whether nothing runs here any more
   */
  public synchronized boolean drain(java.time.Duration max) throws InterruptedException {
    stopping = true;
    long deadline = System.nanoTime() + max.toNanos();
    while (running > 0) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return true;
  }

  /** The whole run on this thread; returns the final record, or null when the job was refused. */
  private BackupRecord run(BackupJob job, CompletableFuture<BackupRecord> accepted) {
    BackupMetrics m = metrics;
    BackupRun.Outcome outcome;
    try {
      outcome = new BackupRun(lock, catalog, publisher, m == null ? BackupRun.Meter.NONE : m).run(job.id(), node(),
          () -> BackupRecord.inProgress(job.id(), job.passphrase() != null, job.fileName(), job.logFileName(),
              job.hostPath().toString(), node(), memberId.get(), job.origin()).withTick(job.tick()),
          record -> {
            accepted.complete(record);
            LOG.info("backup " + job.id() + " started on " + node() + ": " + job);
          },
          (fence, progress) -> backup(job, fence, progress));
    } catch (RuntimeException e) {
      accepted.completeExceptionally(e);
      return null;
    } finally {
      closeQuietly(job); // also when refused; the work closes it as soon as the archive is done
    }
    return outcome.record();
  }

  /** The backup itself: the archive, its log, and on success the contents kept in the catalog. */
  private BackupResult backup(BackupJob job, Fence fence, ProgressListener progress) {
    Path file = job.hostPath().resolve(job.fileName());
    Path log = job.logFileName().isEmpty() ? null : job.hostPath().resolve(job.logFileName());
    try (SpoolDirectory spool = SpoolDirectory.create(config.spoolDir())) {
      Path metadata = spool.dir().resolve("metadata.json");
      BackupResult result = new BackupProcedure(config, fence)
          .run(new BackupRequest(job.id(), job.passphrase(), file, null, log, "hostPath", metadata), progress);
      keepContents(job.id(), metadata);
      return result;
    } finally {
      closeQuietly(job);
    }
  }

  /** Stores the entries of the metadata (path, type, size, SHA-256) as the backup's contents. */
  private void keepContents(String id, Path metadata) {
    try {
      catalog.putContents(id, ArchiveContents.read(metadata, BackupCatalog.MAX_CONTENT_ENTRIES).put("backupId", id));
    } catch (java.io.IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "cannot keep the contents of backup " + id + ": " + e.getMessage());
    }
  }

  private static void closeQuietly(BackupJob job) {
    if (job.passphrase() != null) {
      job.passphrase().close();
    }
  }

  @Override
  public void close() {
    threads.shutdownNow();
  }
}
