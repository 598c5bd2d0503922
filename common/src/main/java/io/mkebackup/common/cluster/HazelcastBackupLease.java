package io.mkebackup.common.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Threads;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The cluster's {@link BackupLease}: a holder's right to write for its backup, with a deadline on this process's monotonic clock
 * shorter than the time the other members take to declare it dead
 * ({@link ClusterSettings#MAX_NO_HEARTBEAT_SECONDS}). A thread renews it every second, and only
 * when the lock still names this backup, this member still sees a majority of the configured
 * managers, and enough other members answer (a round trip, not this member's possibly stale view)
 * that this member is one of theirs. A lease that ran out is lost for good: after a pause (GC,
 * SIGSTOP, a stalled VM) longer than its term the others may already have failed the backup,
 * removed its file and started another, so its writer must stop ({@link #check()}), delete its own
 * temporary file and never rename it into place.
 */
public final class HazelcastBackupLease implements BackupLease {
  // The name it logged under before the lease became an interface: log lines and filters keep it.
  private static final Logger LOG = Logger.getLogger(BackupLease.class.getName());
  static final Duration RENEW_EVERY = Duration.ofSeconds(1);
  /** How long a renewal waits for the other members' answers. */
  static final Duration ANSWER_WITHIN = Duration.ofSeconds(2);

  private final HazelcastBackupLock lock;
  private final String backupId;
  private volatile long deadline;
  private volatile String lost;
  private final ScheduledFuture<?> renewal;
  private boolean released;

  HazelcastBackupLease(HazelcastBackupLock lock, String backupId) {
    this.lock = lock;
    this.backupId = backupId;
    this.deadline = System.nanoTime() + TERM.toNanos();
    this.renewal = Threads.scheduler("mke-backup-lease").scheduleWithFixedDelay(this::renew, RENEW_EVERY.toMillis(), RENEW_EVERY.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  @Override
  public String backupId() {
    return backupId;
  }

  /** Throws {@link ErrorCode#LEASE_LOST} once the lease ran out or was found lost; never renews again. */
  @Override
  public void check() {
    if (lost == null && System.nanoTime() - deadline >= 0) {
      lose(expired());
    }
    String why = lost;
    if (why != null) {
      throw new BackupException(ErrorCode.LEASE_LOST, "this manager lost the cluster's backup lock (" + why
          + "), so it stopped writing and removed its temporary file; the backup did not complete, run it again");
    }
  }

  @Override
  public boolean valid() {
    try {
      check();
      return true;
    } catch (BackupException e) {
      return false;
    }
  }

  private String expired() {
    return "not renewed for " + TERM.toSeconds() + " s: the process was paused or cut off from the other managers";
  }

  void renew() {
    if (lost != null) {
      return;
    }
    long start = System.nanoTime();
    if (start - deadline >= 0) {
      lose(expired());
      return;
    }
    String refused;
    try {
      refused = confirm();
    } catch (RuntimeException e) {
      refused = "the cluster did not answer (" + e.getClass().getSimpleName() + ")";
    }
    if (refused == null) {
      if (System.nanoTime() - deadline < 0) {
        deadline = start + TERM.toNanos();
      }
      return;
    }
    LOG.fine("backup " + backupId + ": lease not renewed: " + refused);
    if (refused.startsWith("!")) {
      lose(refused.substring(1));
    }
  }

  /**
   * The first renewal, made before the backup starts, on the thread that took the lock: a member cut
   * off a moment ago still counts a majority until it drops the others (several seconds), and if it
   * owns the lock key's partition it takes the lock locally. Its term must then start from a round
   * trip the others answered, as every renewal's does, or it could outlast the moment they take the
   * lock themselves. Refused: the lock is freed and the backup is refused with
   * {@link ErrorCode#NO_MAJORITY}.
   */
  void confirmFirst() {
    long start = System.nanoTime();
    String refused;
    try {
      refused = confirm();
    } catch (RuntimeException e) {
      refused = "the cluster did not answer (" + e.getClass().getSimpleName() + ")";
    }
    if (refused == null) {
      deadline = start + TERM.toNanos();
      return;
    }
    release();
    throw new BackupException(ErrorCode.NO_MAJORITY, "the cluster has no majority: the other managers did not"
        + " confirm within " + ANSWER_WITHIN.toSeconds() + " s that this manager is one of theirs ("
        + (refused.startsWith("!") ? refused.substring(1) : refused) + "), so this manager may be cut off from them"
        + " without knowing it yet; nothing was started; check the network between the managers, or start the backup"
        + " on another manager");
  }

  private synchronized void lose(String why) {
    if (lost == null) {
      lost = why;
      LOG.warning("backup " + backupId + " lost its lease on the backup lock: " + why);
    }
    if (renewal != null) {
      renewal.cancel(false);
    }
  }

  /**
   * Null when the lease may be renewed, else why not; a reason starting with "!" is final (the
   * lock names another backup).
   */
  private String confirm() {
    if (!lock.hasMajority()) {
      return "this manager sees " + lock.membership() + ", not a majority";
    }
    if (!lock.heldBy(backupId)) {
      return "!the lock is no longer this backup's";
    }
    // Push the holder entry's until forward: others honour the lock only while it is renewed.
    lock.renewHolder(backupId);
    int configured = lock.configuredMembers();
    if (configured == 0) {
      return null; // a client: the two reads above went to the members, which enforce the majority
    }
    HazelcastInstance hz = lock.hazelcast();
    Member self = hz.getCluster().getLocalMember();
    // Only proven members' confirmations count: an unproven member would confirm anything.
    Set<Member> others = new HashSet<>(MemberProof.provenMembers(hz));
    others.remove(self);
    int needed = configured >= 3 ? BackupLock.majority(configured) - 1 : others.size();
    if (needed <= 0) {
      return null;
    }
    IExecutorService exec = hz.getExecutorService(EXECUTOR);
    Map<Member, Future<Boolean>> answers = exec.submitToMembers(new Confirm(self.getUuid(), backupId), others);
    long until = System.nanoTime() + ANSWER_WITHIN.toNanos();
    int yes = 0;
    for (Future<Boolean> f : answers.values()) {
      if (yes >= needed) {
        break; // enough: a member that is slow to answer (paused, cut off) delays nothing
      }
      try {
        if (Boolean.TRUE.equals(f.get(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS))) {
          yes++;
        }
      } catch (Exception e) {
        f.cancel(true);
      }
    }
    return yes >= needed ? null : yes + " of the " + needed + " other managers needed confirmed it";
  }

  @Override
  public void release() {
    if (released) {
      return;
    }
    released = true;
    renewal.cancel(false);
    if (lost == null) {
      lost = "released";
    }
    try {
      lock.release(backupId);
    } catch (RuntimeException e) {
      LOG.warning("backup " + backupId + ": cannot free the backup lock (" + e.getMessage()
          + "); Hazelcast frees it when this member leaves");
    }
  }
}
