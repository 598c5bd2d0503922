package io.mkebackup.common.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Threads;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
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
  private static final long ANSWER_POLL_NANOS = 5_000_000L;
  /** How long the first confirmation may be asked for again (each ask waits {@link #ANSWER_WITHIN}). */
  static final Duration CONFIRM_FIRST_WITHIN = Duration.ofSeconds(4);

  private final HazelcastBackupLock lock;
  private final String backupId;
  private volatile long deadline;
  private volatile String lost;
  /** Renews every second once the first confirmation came ({@link #confirmFirst}); null before. */
  private volatile ScheduledFuture<?> renewal;
  private boolean released;
  /** Renewals refused in a row, and the last one's reason: only the renewal thread writes them. */
  private volatile int refusals;
  private volatile String lastRefusal;

  HazelcastBackupLease(HazelcastBackupLock lock, String backupId) {
    this.lock = lock;
    this.backupId = backupId;
    this.deadline = System.nanoTime() + TERM.toNanos();
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
    String refused = attempt();
    long tookMillis = (System.nanoTime() - start) / 1_000_000;
    if (refused == null) {
      if (System.nanoTime() - deadline < 0) {
        deadline = start + TERM.toNanos();
      }
      if (refusals > 0) {
        LOG.info("backup " + backupId + ": lease renewed again after " + refusals + " refused renewal(s)");
        refusals = 0;
        lastRefusal = null;
      }
      return;
    }
    // The first refusal of a run, and why, said once: a lease lost later says what led to it.
    if (refusals++ == 0) {
      LOG.info("backup " + backupId + ": lease not renewed (the try took " + tookMillis + " ms; "
          + Math.max(0, (deadline - System.nanoTime()) / 1_000_000) + " ms of its term left): "
          + (refused.startsWith("!") ? refused.substring(1) : refused));
    }
    lastRefusal = (refused.startsWith("!") ? refused.substring(1) : refused) + " (" + tookMillis + " ms)";
    if (refused.startsWith("!")) {
      lose(refused.substring(1));
    }
  }

  /**
   * The first renewal, made before the backup starts, on the thread that took the lock: a member cut
   * off a moment ago still counts a majority until it drops the others (several seconds), and if it
   * owns the lock key's partition it takes the lock locally. Its term must then start from a round
   * trip the others answered, as every renewal's does, or it could outlast the moment they take the
   * lock themselves. Asked again for up to {@link #CONFIRM_FIRST_WITHIN} while this member still
   * counts a majority (a manager that joined a moment ago may not have proved itself to the others
   * yet). Refused: the lock is freed and the backup is refused with {@link ErrorCode#NO_MAJORITY};
   * confirmed: the term runs from the confirmed round trip, and renewals start.
   */
  void confirmFirst() {
    long giveUp = System.nanoTime() + CONFIRM_FIRST_WITHIN.toNanos();
    String refused;
    while (true) {
      long start = System.nanoTime();
      refused = attempt();
      if (refused == null) {
        deadline = start + TERM.toNanos();
        renewal = Threads.scheduler("mke-backup-lease").scheduleWithFixedDelay(this::renew, RENEW_EVERY.toMillis(),
            RENEW_EVERY.toMillis(), TimeUnit.MILLISECONDS);
        return;
      }
      if (refused.startsWith("!") || System.nanoTime() - giveUp >= 0 || !lock.hasMajority()) {
        break;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(250_000_000L);
      if (Thread.currentThread().isInterrupted()) {
        refused = "interrupted";
        break;
      }
    }
    abandon();
    throw new BackupException(ErrorCode.NO_MAJORITY, "the cluster has no majority: the other managers did not"
        + " confirm within " + CONFIRM_FIRST_WITHIN.toSeconds() + " s that this manager holds the backup lock as one"
        + " of theirs (" + (refused.startsWith("!") ? refused.substring(1) : refused) + "), so this manager may be"
        + " cut off from them without knowing it yet; nothing was started; check the network between the managers,"
        + " or start the backup on another manager");
  }

  /**
   * Frees a lock whose first confirmation failed, on the taking thread: its release, else a bare
   * unlock; either way this process stops saying it holds the backup.
   */
  private void abandon() {
    released = true;
    lost = "not confirmed by the other managers";
    try {
      lock.release(backupId);
    } catch (RuntimeException e) {
      LOG.warning("backup " + backupId + ": cannot free the unconfirmed backup lock (" + e.getClass().getSimpleName()
          + "); unlocking it, else Hazelcast frees it when this member leaves");
    } finally {
      // Whatever release did (it leaves a lock whose entry names another backup alone): this
      // thread took the lock a moment ago and must not keep it (Hazelcast's locks are reentrant).
      lock.unlockQuietly();
      HazelcastBackupLock.TAKING.remove(backupId);
    }
  }

  private synchronized void lose(String why) {
    if (lost == null) {
      lost = why;
      String last = lastRefusal;
      LOG.warning("backup " + backupId + " lost its lease on the backup lock: " + why
          + (last == null ? "" : "; " + refusals + " renewal(s) refused, the last: " + last));
    }
    ScheduledFuture<?> r = renewal;
    if (r != null) {
      r.cancel(false);
    }
  }

  /** {@link #confirm()}, a call that failed counted as a refusal (not final). */
  private String attempt() {
    try {
      return confirm();
    } catch (RuntimeException e) {
      return "the cluster did not answer (" + e.getClass().getSimpleName() + ")";
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
    // Answers counted as they come, until enough said yes: a member that does not answer (paused,
    // cut off) costs nothing while the others suffice. Unanswered asks are left to end on their
    // own, not cancelled: Hazelcast's cancel waits for the member to answer the cancellation, which
    // a cut-off member never does, and a renewal that waited for it outlived the lease's term.
    long until = System.nanoTime() + ANSWER_WITHIN.toNanos();
    List<Future<Boolean>> pending = new ArrayList<>(answers.values());
    int yes = 0;
    while (true) {
      for (Iterator<Future<Boolean>> it = pending.iterator(); it.hasNext();) {
        Future<Boolean> f = it.next();
        if (f.isDone()) {
          it.remove();
          if (Boolean.TRUE.equals(answered(f))) {
            yes++;
          }
        }
      }
      if (yes >= needed || pending.isEmpty() || System.nanoTime() - until >= 0
          || Thread.currentThread().isInterrupted()) {
        break;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(ANSWER_POLL_NANOS);
    }
    return yes >= needed ? null : yes + " of the " + needed + " other managers needed confirmed it";
  }

  /** A finished ask's answer; null when it failed (the member left, refused the task, ...). */
  private static Boolean answered(Future<Boolean> done) {
    try {
      return done.get(0, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
        | java.util.concurrent.CancellationException e) {
      return null;
    }
  }

  @Override
  public void release() {
    if (released) {
      return;
    }
    released = true;
    ScheduledFuture<?> r = renewal;
    if (r != null) {
      r.cancel(false);
    }
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
