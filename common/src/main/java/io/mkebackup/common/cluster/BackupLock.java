package io.mkebackup.common.cluster;

import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.vertx.core.json.JsonObject;
import java.util.Optional;

/**
 * The cluster-wide "one backup at a time" lock: a Hazelcast map-entry lock, owned by the thread
 * that takes it and freed by Hazelcast when its member (or CLI client) leaves or dies, so a crash
 * never leaves it held. (vertx-hazelcast's SharedData locks are CP semaphores whose permits
 * outlive a crashed holder by the CP session TTL, five minutes by default.) Beside the lock it
 * keeps who holds it, so a refusal can say which backup is running and where.
 */
public final class BackupLock {
  static final String KEY = "backup";
  private final SealedMap map;

  public BackupLock(HazelcastInstance hazelcast) {
    this.map = SealedMap.of(hazelcast, ClusterSettings.LOCK_MAP);
  }

  /**
   * Takes the lock for the calling thread, which must later call {@link #release()}; refuses with
   * {@link ErrorCode#BACKUP_RUNNING} naming the running backup when it is held.
   */
  public void acquire(String backupId, String node) {
    if (!map.tryLock(KEY)) {
      throw running(awaitHolder());
    }
    map.set(KEY, new JsonObject().put("backupId", backupId).put("node", node).encode());
  }

  /** Frees the lock; called by the thread that took it. */
  public void release() {
    if (map.isLocked(KEY)) {
      map.delete(KEY);
      map.unlock(KEY);
    }
  }

  public boolean held() {
    return map.isLocked(KEY);
  }

  /** The running backup's id and node while the lock is held. */
  public Optional<JsonObject> holder() {
    if (!map.isLocked(KEY)) {
      return Optional.empty();
    }
    String v = map.get(KEY);
    return v == null ? Optional.of(new JsonObject()) : Optional.of(new JsonObject(v));
  }

  /**
   * The holder, waiting up to a second for it to be written: a refusal that races the winner's
   * first write should still name the backup.
   */
  private Optional<JsonObject> awaitHolder() {
    long deadline = System.nanoTime() + 1_000_000_000L;
    Optional<JsonObject> h = holder();
    while (h.isPresent() && !h.get().containsKey("backupId") && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
      h = holder();
    }
    return h;
  }

  /** The seed's refusal: another backup is running, naming it and its node when known. */
  public static BackupException running(Optional<JsonObject> holder) {
    String who = holder.filter(h -> h.containsKey("backupId"))
        .map(h -> " (backup " + h.getString("backupId") + " on node " + h.getString("node") + ")")
        .orElse("");
    return new BackupException(ErrorCode.BACKUP_RUNNING, "another backup is running" + who
        + "; only one backup runs at a time in the cluster, so try again when it has finished");
  }
}
