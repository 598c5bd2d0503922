package io.mkebackup.common.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionException;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The cluster's {@link BackupLock}, "one backup at a time": a Hazelcast map-entry lock, owned by the thread
 * that takes it and freed by Hazelcast when its member (or CLI client) leaves or dies, so a crash
 * never leaves it held. (vertx-hazelcast's SharedData locks are CP semaphores whose permits
 * outlive a crashed holder by the CP session TTL, five minutes by default.) Beside the lock it
 * keeps who holds it, so a refusal can say which backup is running and where.
 *
 * <p>With three or more configured managers, only a member that sees a majority of them may take
 * it: the lock map has Hazelcast split-brain protection (which Hazelcast applies to its entry
 * locks as well, and which also guards CLI clients, since their members decide), and the member
 * count is checked before and after the lock is taken, for a refusal that says why. A holder gets
 * a {@link BackupLease}, which on a member the other managers confirm once before it is handed
 * out (a member cut off a moment ago still counts a majority and may own the key; a CLI client's
 * lease cannot be confirmed that way): its writer stops as soon as the lease is not renewed in time.
 *
 * <p>Anything that knows the cluster's derived name (a Hazelcast member or client without the
 * secret) can take the entry lock and put back a sealed holder entry it read earlier, so a held
 * lock is honoured only when its holder entry says who holds it and until when: the entry carries
 * the holder's member or client id and an {@code until} (epoch ms, sealed with the rest, so only
 * holders of the secret write it) that the holder's lease pushes forward every second
 * ({@link #renewHolder}). A proven manager named as holder is asked whether it holds the lock for
 * that backup (a live answer, no clock involved); for a CLI client, which cannot be asked, and
 * for a manager that does not answer in time, the {@code until} decides. A replayed entry
 * therefore blocks backups for {@link #HOLD_FOR} at most.
 */
public final class HazelcastBackupLock implements BackupLock {
  // The name it logged under before the lock became an interface: log lines and filters keep it.
  private static final Logger LOG = Logger.getLogger(BackupLock.class.getName());
  static final String KEY = "backup";
  /**
   * The holder's renewals of its {@code until}: a separate key, because the lease renews on its
   * own thread and Hazelcast lets only the lock's owning thread write the locked key.
   */
  static final String RENEWED_KEY = "backup-renewed";
  /**
   * How long a taker keeps trying to write its holder entry after it took the lock (a member that
   * just joined may not have updated its split-brain protection yet); a refusal waits a little
   * longer than this for the entry before it calls the lock abandoned.
   */
  static final Duration WRITE_HOLDER_WITHIN = Duration.ofSeconds(3);

  private final HazelcastInstance hazelcast;
  private final SealedMap map;
  private final int configuredMembers;
  private final java.time.Clock clock;

  /** A CLI client's view: the members enforce the majority (split-brain protection). */
  public HazelcastBackupLock(HazelcastInstance hazelcast) {
    this(hazelcast, 0);
  }

  /**
   * @param configuredMembers how many managers the cluster is configured with (its members list),
   *     or 0 for a Hazelcast client
   */
  public HazelcastBackupLock(HazelcastInstance hazelcast, int configuredMembers) {
    this(hazelcast, configuredMembers, java.time.Clock.systemUTC());
  }

  /** @param clock the wall clock of holder entries' {@code until} (tests move it) */
  HazelcastBackupLock(HazelcastInstance hazelcast, int configuredMembers, java.time.Clock clock) {
    this.hazelcast = hazelcast;
    this.map = SealedMap.of(hazelcast, ClusterSettings.LOCK_MAP);
    this.configuredMembers = configuredMembers;
    this.clock = clock;
  }

  /**
   * Whether this member's cluster holds a majority of the configured managers (clients: true),
   * counting only members that proved they hold the cluster secret ({@link MemberProof}) and hold
   * data: a manager that is starting is a lite member until it is ready ({@link DataWhenReady}),
   * and the lock map's split-brain protection, which Hazelcast gives data members only, does not
   * count it either.
   */
  @Override
  public boolean hasMajority() {
    return configuredMembers == 0 || counted() >= BackupLock.majority(configuredMembers);
  }

  @Override
  public boolean holdsData() {
    return !hazelcast.getCluster().getLocalMember().isLiteMember();
  }

  private long counted() {
    return MemberProof.provenMembers(hazelcast).stream().filter(m -> !m.isLiteMember()).count();
  }

  /**
   * "2 of 3 configured managers" for messages and readiness, and the members that do not count:
   * those starting (not holding data yet) and those unproven.
   */
  @Override
  public String membership() {
    long n = counted();
    long starting = MemberProof.provenMembers(hazelcast).stream().filter(Member::isLiteMember).count();
    List<Member> unproven = MemberProof.unprovenMembers(hazelcast);
    String others = (starting == 0 ? "" : " (and " + starting + " starting, counted once it holds data)")
        + (unproven.isEmpty() ? "" : " (and " + unproven.size() + " unproven Hazelcast member"
        + (unproven.size() == 1 ? "" : "s") + " that do not count: " + unproven.stream()
            .map(m -> m.getAddress().toString()).collect(java.util.stream.Collectors.joining(", ")) + ")");
    return (configuredMembers == 0 ? n + " members" : n + " of " + configuredMembers + " configured managers") + others;
  }

  int configuredMembers() {
    return configuredMembers;
  }

  HazelcastInstance hazelcast() {
    return hazelcast;
  }

  @Override
  public BackupLease acquire(String backupId, String node) {
    try {
      return take(backupId, node);
    } catch (SplitBrainProtectionException e) {
      // The lock map's own protection refused a call (tryLock, the holder's read) while this
      // member's count still said majority: it was cut off and did not know it yet (seen on the
      // Swarm lab, where this reached the API as 500 INTERNAL).
      throw noMajority();
    } catch (com.hazelcast.core.OperationTimeoutException e) {
      throw new BackupException(ErrorCode.CLUSTER_UNAVAILABLE, "the cluster did not answer within "
          + ClusterSettings.CALL_TIMEOUT_MILLIS / 1000 + " s while this manager took the backup lock: a member holding"
          + " part of the cluster's state is stalled (readiness names Hazelcast members that are not managers);"
          + " nothing was started, try again");
    }
  }

  private BackupLease take(String backupId, String node) {
    requireMajority();
    if (!map.tryLock(KEY)) {
      Optional<JsonObject> holder = awaitHolder();
      if (honoured(holder)) {
        throw BackupLock.running(holder);
      }
      // Held, but not for a backup a manager or CLI is running: a member or client that knows
      // only the cluster's name took it (or replayed an old holder entry). Not a reason to stop backups.
      LOG.warning("freeing the backup lock: it is held" + holder.filter(h -> h.containsKey("backupId"))
          .map(h -> " under the name of backup " + h.getString("backupId") + ", which no manager or CLI is running"
              + " (its holder entry is not renewed, or names no holder that says it runs it)")
          .orElse(" with no holder entry a manager wrote") + "; a Hazelcast member or client without the cluster"
          + " secret took it");
      map.forceUnlock(KEY);
      if (!map.tryLock(KEY)) {
        throw BackupLock.running(awaitHolder());
      }
    }
    TAKING.add(backupId);
    try {
      String holder = new JsonObject().put("backupId", backupId).put("node", node)
          .put("member", hazelcast.getLocalEndpoint().getUuid().toString())
          .put("until", clock.millis() + HOLD_FOR.toMillis()).encode();
      // A member that joined a moment ago may not have updated its split-brain protection yet:
      // while the member count says majority, try again for a little while.
      long until = System.nanoTime() + WRITE_HOLDER_WITHIN.toNanos();
      while (true) {
        try {
          map.set(KEY, holder);
          break;
        } catch (SplitBrainProtectionException e) {
          if (!hasMajority() || System.nanoTime() - until > 0) {
            throw e;
          }
          java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
        }
      }
      // The member list may have shrunk while the lock was taken.
      requireMajority();
    } catch (SplitBrainProtectionException e) {
      TAKING.remove(backupId);
      unlockQuietly();
      throw noMajority();
    } catch (RuntimeException e) {
      TAKING.remove(backupId);
      unlockQuietly();
      throw e;
    }
    HazelcastBackupLease lease = new HazelcastBackupLease(this, backupId);
    lease.confirmFirst();
    return lease;
  }

  /**
   * Whether a held lock is honoured: its holder entry is genuine (sealed, so written by a holder
   * of the secret), names the backup and its holder's member or client id, and either that
   * holder, a proven manager, says it is taking or holding the lock for that backup now, or (a
   * CLI client, which cannot be asked, or a manager that does not answer) its {@code until} has
   * not passed. An entry copied from an earlier backup names one that no longer runs, and its
   * {@code until} runs out.
   */
  private boolean honoured(Optional<JsonObject> holder) {
    if (holder.isEmpty()) {
      return true; // freed meanwhile: the retry says so
    }
    JsonObject h = holder.get();
    String backupId = h.getString("backupId");
    UUID id;
    try {
      id = UUID.fromString(h.getString("member"));
    } catch (RuntimeException e) {
      return false; // no holder named (an entry of an earlier version, or replayed): nobody renews it
    }
    if (backupId == null || !(h.getValue("until") instanceof Number)) {
      return false;
    }
    boolean fresh = clock.millis() <= until(h);
    if (id.equals(hazelcast.getLocalEndpoint().getUuid())) {
      return TAKING.contains(backupId);
    }
    MemberProof proof = MemberProof.of(hazelcast);
    for (Member m : hazelcast.getCluster().getMembers()) {
      if (m.getUuid().equals(id)) {
        if (proof != null && !proof.isProven(m)) {
          return false; // it may have taken the id of the member that wrote the entry
        }
        return holds(m, backupId, fresh);
      }
    }
    if (!(hazelcast instanceof com.hazelcast.client.impl.clientside.HazelcastClientProxy)) {
      // A member sees the CLI clients connected to it (a CLI connects to every member). A client
      // can connect under any id, so the id alone proves nothing: the renewed until decides.
      for (com.hazelcast.client.Client c : hazelcast.getClientService().getConnectedClients()) {
        if (c.getUuid().equals(id)) {
          return fresh;
        }
      }
      return false;
    }
    return fresh; // a CLI cannot see other clients or ask them: the holder's renewals decide
  }

  /**
   * Asks a proven manager whether it holds the lock for the backup. It answers within
   * {@link HazelcastBackupLease.ANSWER_WITHIN} unless busy or cut off: then its entry's {@code until}
   * decides (a manager that holds the lock keeps renewing it); a member that left holds nothing.
   */
  private boolean holds(Member m, String backupId, boolean fresh) {
    try {
      return hazelcast.getExecutorService(BackupLease.EXECUTOR).submitToMember(new BackupLock.Holds(backupId), m)
          .get(HazelcastBackupLease.ANSWER_WITHIN.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fresh;
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof com.hazelcast.core.MemberLeftException
          || cause instanceof com.hazelcast.spi.exception.TargetNotMemberException) {
        return false; // gone: Hazelcast frees its locks (the retry takes it)
      }
      LOG.fine("member " + m.getAddress() + " could not say whether it holds the backup lock (" + cause + ")");
      return fresh;
    } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
      return fresh;
    }
  }

  /** The holder entry's until, or its holder's later renewal of it (same backup, same holder). */
  private long until(JsonObject holder) {
    long until = ((Number) holder.getValue("until")).longValue();
    String renewed = map.get(RENEWED_KEY);
    if (renewed != null) {
      try {
        JsonObject r = new JsonObject(renewed);
        if (holder.getString("backupId").equals(r.getString("backupId"))
            && holder.getString("member").equals(r.getString("member")) && r.getValue("until") instanceof Number n) {
          until = Math.max(until, n.longValue());
        }
      } catch (RuntimeException e) {
        // not a renewal a holder wrote: the entry's own until stands
      }
    }
    return until;
  }

  /**
   * Pushes the holder entry's {@code until} forward: called by the holder's lease at each renewal,
   * once it has checked that the lock still names its backup. A CLI client waits for the write:
   * the until is all that keeps its lock honoured. A manager does not: it answers "do you hold
   * it?" itself, and the write waits for the member owning the renewal's key and for its copies,
   * one of which may be a manager that was just lost (the renewal would then outlast the lease's
   * term, and the backup fail though a majority remains). One write at a time.
   */
  void renewHolder(String backupId) {
    String renewal = new JsonObject().put("backupId", backupId)
        .put("member", hazelcast.getLocalEndpoint().getUuid().toString())
        .put("until", clock.millis() + HOLD_FOR.toMillis()).encode();
    if (configuredMembers == 0) {
      map.set(RENEWED_KEY, renewal);
      return;
    }
    java.util.concurrent.CompletableFuture<Void> last = renewing;
    if (last == null || last.isDone()) {
      renewing = map.setAsync(RENEWED_KEY, renewal).toCompletableFuture();
    }
  }

  private volatile java.util.concurrent.CompletableFuture<Void> renewing;

  /** Backups this process is taking or holding the lock for, as {@link Holds} answers. */
  static final java.util.Set<String> TAKING = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private void requireMajority() {
    if (!hasMajority()) {
      throw noMajority();
    }
  }

  private BackupException noMajority() {
    return new BackupException(ErrorCode.NO_MAJORITY, "the cluster has no majority: this manager sees "
        + membership() + " and a backup needs " + BackupLock.majority(configuredMembers) + " of them, so that two sides of a"
        + " network partition never back up at once; check the network between the managers, or start the backup"
        + " on a manager that sees the others");
  }

  void unlockQuietly() {
    try {
      map.unlock(KEY);
    } catch (RuntimeException ignored) {
      // not ours after all: nothing to give back
    }
  }

  /**
   * Frees the lock if, and only if, it is this backup's and this thread's: the holder entry must
   * name the backup, and Hazelcast refuses to unlock for any other thread. A lock that is someone
   * else's is left alone (and said so in the log).
   */
  void release(String backupId) {
    String held = map.get(KEY);
    String holderId = held == null ? null : new JsonObject(held).getString("backupId");
    if (!backupId.equals(holderId)) {
      TAKING.remove(backupId);
      LOG.warning("backup " + backupId + " does not hold the backup lock any more"
          + (holderId == null ? "" : " (backup " + holderId + " does)") + "; leaving it alone");
      return;
    }
    try {
      // Removing the entry fails at once when another thread or member holds the key's lock.
      if (map.tryRemove(KEY, 0, TimeUnit.MILLISECONDS)) {
        map.delete(RENEWED_KEY);
        map.unlock(KEY);
        TAKING.remove(backupId);
      } else {
        LOG.warning("backup " + backupId + ": the backup lock is held by another thread or member; leaving it alone");
      }
    } catch (IllegalMonitorStateException e) {
      LOG.warning("backup " + backupId + ": the backup lock was no longer this thread's (" + e.getMessage() + ")");
    }
  }

  /** Whether the lock is held and its entry names this backup; blocking (one or two round trips). */
  @Override
  public boolean heldBy(String backupId) {
    String held = map.get(KEY);
    return held != null && backupId.equals(new JsonObject(held).getString("backupId")) && map.isLocked(KEY);
  }

  /** Whether this member's cluster lists the member (or client) with this UUID as a member. */
  boolean isMember(java.util.UUID uuid) {
    for (Member m : hazelcast.getCluster().getMembers()) {
      if (m.getUuid().equals(uuid)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean held() {
    return map.isLocked(KEY);
  }

  @Override
  public Optional<JsonObject> holder() {
    if (!map.isLocked(KEY)) {
      return Optional.empty();
    }
    String v = map.get(KEY);
    return v == null ? Optional.of(new JsonObject()) : Optional.of(new JsonObject(v));
  }

  /**
   * The holder, waiting for it to be written as long as its taker may keep trying
   * ({@link #WRITE_HOLDER_WITHIN}) and a second more: a refusal that races the winner's first
   * write should still name the backup, and a lock whose holder is still writing its entry must
   * not be taken for an abandoned one.
   */
  private Optional<JsonObject> awaitHolder() {
    long deadline = System.nanoTime() + WRITE_HOLDER_WITHIN.plusSeconds(1).toNanos();
    Optional<JsonObject> h = holder();
    while (h.isPresent() && !h.get().containsKey("backupId") && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
      h = holder();
    }
    return h;
  }
}
