package io.mkebackup.common.cluster;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Optional;

/**
 * The cluster-wide "one backup at a time" lock, as backup runs, the chores, readiness and the
 * metrics use it. Two implementations: {@link HazelcastBackupLock} (the cluster's: a map-entry
 * lock Hazelcast frees when its holder leaves, a holder entry that names the running backup,
 * split-brain protection) and {@link InMemoryBackupLock} (one process, for unit tests of the logic
 * above it). A holder gets a {@link BackupLease}, its right to write for the backup.
 */
public interface BackupLock {
  /**
   * How far ahead of the writer's clock a holder entry's {@code until} lies: long enough that the
   * managers' clocks may differ by most of it (NTP keeps them within a second) and a renewal may
   * miss a few beats; the longest a replayed holder entry can stop backups.
   */
  Duration HOLD_FOR = Duration.ofSeconds(30);

  /**
   * Members needed to take the lock: a majority of three or more configured managers; with one or
   * two, one (a partition can then let both sides take it, see the README).
   */
  static int majority(int configuredMembers) {
    return configuredMembers >= 3 ? configuredMembers / 2 + 1 : 1;
  }

  /** The seed's refusal: another backup is running, naming it and its node when known. */
  static BackupException running(Optional<JsonObject> holder) {
    String who = holder.filter(h -> h.containsKey("backupId"))
        .map(h -> " (backup " + h.getString("backupId") + " on node " + h.getString("node") + ")")
        .orElse("");
    return new BackupException(ErrorCode.BACKUP_RUNNING, "another backup is running" + who
        + "; only one backup runs at a time in the cluster, so try again when it has finished");
  }

  /**
   * Takes the lock for the calling thread, which must later call {@link BackupLease#release()};
   * refuses with {@link ErrorCode#BACKUP_RUNNING} naming the running backup when it is held, and
   * with {@link ErrorCode#NO_MAJORITY} when this member is on the minority side of a partition.
   */
  BackupLease acquire(String backupId, String node);

  /** Whether this member sees a majority of the configured managers (a client: true). */
  boolean hasMajority();

  /** "2 of 3 configured managers" for messages and readiness. */
  String membership();

  /**
   * Whether this member holds its share of the cluster's data (a manager that is starting holds
   * none until it is ready: {@link DataWhenReady}).
   */
  default boolean holdsData() {
    return true;
  }

  /** Whether the lock is held and names this backup. */
  boolean heldBy(String backupId);

  /** Whether the lock is held. */
  boolean held();

  /** The running backup's id and node while the lock is held. */
  Optional<JsonObject> holder();

  /**
   * Run on the member a holder entry names: whether it is taking or holding the lock for that
   * backup. A plain {@link com.hazelcast.nio.serialization.DataSerializable} of one string. (Here,
   * by its name {@code BackupLock$Holds}, so that managers of the version before and after the
   * lock became an interface still understand each other.)
   */
  final class Holds implements java.util.concurrent.Callable<Boolean>,
      com.hazelcast.nio.serialization.DataSerializable {
    private String backupId;

    public Holds() {
      // for deserialization
    }

    Holds(String backupId) {
      this.backupId = backupId;
    }

    @Override
    public Boolean call() {
      return HazelcastBackupLock.TAKING.contains(backupId);
    }

    @Override
    public void writeData(com.hazelcast.nio.ObjectDataOutput out) throws java.io.IOException {
      out.writeString(backupId);
    }

    @Override
    public void readData(com.hazelcast.nio.ObjectDataInput in) throws java.io.IOException {
      backupId = in.readString();
    }
  }
}
