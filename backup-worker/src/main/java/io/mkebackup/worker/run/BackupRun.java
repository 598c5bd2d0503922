package io.mkebackup.worker.run;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.BackupLease;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.worker.backup.BackupResult;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The life of one backup in the cluster, on the calling thread: takes the cluster lock (so that
 * thread holds it for the whole run), records IN_PROGRESS, runs the work under the lease's fence,
 * records SUCCESS or FAILED from its own IN_PROGRESS record, frees the lock, counts the outcome
 * and publishes the terminal event. A manager's jobs and schedules (through its BackupService)
 * and the CLI in a cluster all run through it, so a backup starts and ends the same way whoever
 * asked for it.
 */
public final class BackupRun {
  private static final Logger LOG = Logger.getLogger(BackupRun.class.getName());

  /** The backup itself, between the IN_PROGRESS record and the final one. */
  @FunctionalInterface
  public interface Work {
    /**
     * @param fence what the archive's writer asks before its last bytes and its rename
     * @param progress where the steps go; a terminal event is held back until the record says
     *     how the run ended
     */
    BackupResult run(Fence fence, ProgressListener progress);
  }

  /** Counts the runs of this process. */
  public interface Meter {
    Meter NONE = new Meter() {
      @Override
      public void started(BackupRecord r) {}

      @Override
      public void finished(BackupRecord r) {}
    };

    /** How long a backup paused each volume's writers for its copy, by volume (those it paused only). */
    default void frozen(java.util.Map<String, Double> secondsByVolume) {}

    void started(BackupRecord r);

    void finished(BackupRecord r);
  }

  /**
   * How a run ended.
   *
   * @param record the final record as the catalog holds it (another member's FAILED when it had
   *     already ended this run)
   * @param recorded whether this run's own outcome was recorded
   * @param result what the work produced, or null when it failed
   * @param failure why the work failed, or null
   */
  public record Outcome(BackupRecord record, boolean recorded, BackupResult result, Throwable failure) {}

  private final BackupLock lock;
  private final BackupCatalog catalog;
  private final ProgressListener publisher;
  private final Meter meter;

  /**
   * @param publisher where the run's events go (the event bus), from the run's thread
   */
  public BackupRun(BackupLock lock, BackupCatalog catalog, ProgressListener publisher, Meter meter) {
    this.lock = lock;
    this.catalog = catalog;
    this.publisher = publisher;
    this.meter = meter;
  }

  /**
   * Runs the backup on this thread.
   *
   * @param node this node's name, as the lock's holder
   * @param inProgress makes the run's record once the lock is held (so its time is the run's start)
   * @param accepted called with the saved IN_PROGRESS record before the work starts
   * @throws BackupException the refusal, with nothing held and nothing recorded: another backup
   *     holds the lock ({@link ErrorCode#BACKUP_RUNNING}), this member may not take it, or the
   *     record cannot be saved
   */
  public Outcome run(String id, String node, Supplier<BackupRecord> inProgress, Consumer<BackupRecord> accepted,
      Work work) {
    BackupLease lease = lock.acquire(id, node);
    BackupRecord record;
    try {
      record = inProgress.get();
      catalog.put(record);
    } catch (RuntimeException e) {
      lease.release();
      throw new BackupException(ErrorCode.INTERNAL, "cannot record the backup in the cluster catalog: "
          + e.getMessage(), e);
    }
    accepted.accept(record);
    meter.started(record);
    // The work's own terminal event is held back until the record says how it ended, so a
    // client that sees "succeeded" and then reads the record finds SUCCESS.
    AtomicReference<ProgressEvent> terminal = new AtomicReference<>();
    ProgressListener relay = event -> {
      if (event.terminal()) {
        terminal.set(event);
      } else {
        publisher.onEvent(event);
      }
    };
    BackupRecord finished;
    BackupResult result = null;
    Throwable failure = null;
    try {
      result = work.run(lease, relay);
      finished = record.succeeded(result.archiveBytes(), result.files(), result.dataBytes(), result.frozenSeconds());
    } catch (BackupException e) {
      failure = e;
      finished = record.failed(e.getMessage());
    } catch (Throwable t) {
      failure = t;
      LOG.log(Level.SEVERE, "backup " + id + " failed unexpectedly", t);
      finished = record.failed("internal error: " + t.getClass().getSimpleName()
          + (t.getMessage() == null ? "" : ": " + t.getMessage()));
    }
    // A compare-and-set from this backup's own IN_PROGRESS record: when another member already
    // ended it (this one was paused or cut off and declared dead), its FAILED stays, and the
    // event that went out with it stays the last word.
    boolean recorded = false;
    try {
      recorded = catalog.replace(record, finished);
      if (!recorded) {
        BackupRecord now = catalog.get(id).orElse(null);
        LOG.warning("backup " + id + " was already ended by another member ("
            + (now == null ? "record gone" : now.state() + ": " + now.shortError()) + "); this member's outcome, "
            + finished.state() + (finished.shortError().isEmpty() ? "" : " (" + finished.shortError() + ")")
            + ", is not recorded");
        if (now != null) {
          finished = now;
        }
      }
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "cannot record the end of backup " + id + ": " + e.getMessage());
    } finally {
      lease.release();
    }
    meter.finished(finished);
    if (result != null) {
      meter.frozen(result.frozenSeconds());
    }
    LOG.info("backup " + id + " " + finished.state()
        + (finished.shortError().isEmpty() ? "" : ": " + finished.shortError()));
    if (recorded) {
      ProgressEvent last = terminal.get();
      publisher.onEvent(last != null ? last : finished.terminalEvent());
    }
    return new Outcome(finished, recorded, result, failure);
  }
}
