package io.mkebackup.common.cluster;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.vertx.core.json.JsonObject;
import java.util.Optional;

/**
 * The backup lock in this process's memory, with the contracts of {@link HazelcastBackupLock} that
 * the logic above it relies on: one holder at a time; a refusal while it is held is
 * {@link ErrorCode#BACKUP_RUNNING} naming the running backup and its node
 * ({@link BackupLock#running}); without a majority ({@link #majority(boolean)}, which a test sets)
 * it is {@link ErrorCode#NO_MAJORITY} and nothing is taken; a lease's release frees the lock only
 * while it names that lease's backup, and is idempotent; a lost lease's {@link BackupLease#check}
 * throws {@link ErrorCode#LEASE_LOST}. Thread-safe. For unit tests of backup runs and the chores.
 *
 * <p>What it does not model: Hazelcast itself (the lock owned by the thread that took it, freed
 * when its member or client leaves or dies, split-brain protection), the holder entry's
 * {@code until} and its renewals, honouring or freeing a lock taken by a stranger, asking other
 * members, the lease's term on the monotonic clock: here a lease is lost only when
 * {@link #loseLease} says so.
 */
public final class InMemoryBackupLock implements BackupLock {
  private JsonObject holder;
  private Lease lease;
  private boolean majority = true;

  /** Whether this "member" sees a majority of the managers from now on (true at first). */
  public synchronized void majority(boolean seen) {
    this.majority = seen;
  }

  @Override
  public synchronized BackupLease acquire(String backupId, String node) {
    if (!majority) {
      throw new BackupException(ErrorCode.NO_MAJORITY, "the cluster has no majority: this manager sees "
          + membership() + ", so that two sides of a network partition never back up at once");
    }
    if (holder != null) {
      throw BackupLock.running(Optional.of(holder.copy()));
    }
    holder = new JsonObject().put("backupId", backupId).put("node", node);
    lease = new Lease(backupId);
    return lease;
  }

  /** Loses the running backup's lease, as a pause longer than its term or a partition would. */
  public synchronized void loseLease(String why) {
    if (lease != null) {
      lease.lost = why;
    }
  }

  @Override
  public synchronized boolean hasMajority() {
    return majority;
  }

  @Override
  public synchronized String membership() {
    return majority ? "a majority of the configured managers (in memory)" : "a minority of the configured managers"
        + " (in memory)";
  }

  @Override
  public synchronized boolean heldBy(String backupId) {
    return holder != null && backupId.equals(holder.getString("backupId"));
  }

  @Override
  public synchronized boolean held() {
    return holder != null;
  }

  @Override
  public synchronized Optional<JsonObject> holder() {
    return Optional.ofNullable(holder).map(JsonObject::copy);
  }

  private synchronized void release(Lease l) {
    if (lease == l) {
      holder = null;
      lease = null;
    }
  }

  /** A lease of this lock: valid until released or lost. */
  private final class Lease implements BackupLease {
    private final String backupId;
    private volatile String lost;
    private boolean released;

    Lease(String backupId) {
      this.backupId = backupId;
    }

    @Override
    public String backupId() {
      return backupId;
    }

    @Override
    public void check() {
      String why = lost;
      if (why != null) {
        throw new BackupException(ErrorCode.LEASE_LOST, "this manager lost the cluster's backup lock (" + why
            + "), so it stopped writing and removed its temporary file; the backup did not complete, run it again");
      }
    }

    @Override
    public boolean valid() {
      return lost == null;
    }

    @Override
    public synchronized void release() {
      if (released) {
        return;
      }
      released = true;
      if (lost == null) {
        lost = "released";
      }
      InMemoryBackupLock.this.release(this);
    }
  }
}
