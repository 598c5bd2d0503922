package io.mkebackup.common.cluster;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.DataSerializable;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.Fence;
import java.io.IOException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * A holder's right to write for its backup, from {@link BackupLock#acquire}: its writer checks it
 * ({@link #check()}) and stops as soon as it is lost, and the thread that took the lock releases
 * it. {@link HazelcastBackupLease} is the cluster's (renewed every second, lost after a pause
 * longer than its term); {@link InMemoryBackupLock}'s is lost only when a test says so.
 */
public interface BackupLease extends Fence {
  /** Below the others' failure detection (8 s), with room for a renewal that takes a while. */
  Duration TERM = Duration.ofSeconds(5);
  /** The Hazelcast executor the lock's questions to other members run on. */
  String EXECUTOR = "mke-backup-lease";

  String backupId();

  /** Throws {@link ErrorCode#LEASE_LOST} once the lease ran out or was found lost. */
  @Override
  void check();

  /** Whether the lease still holds, without throwing. */
  boolean valid();

  /**
   * Stops renewing and frees the lock if it is still this backup's; called by the thread that took
   * it. Idempotent.
   */
  void release();

  /**
   * Run on another member: whether the asking member is one of its cluster and the lock still
   * names the asking backup. Plain {@link DataSerializable} (two strings), no Java serialization.
   * (Here, by its name {@code BackupLease$Confirm}, so that managers of the version before and
   * after the lease became an interface still understand each other.)
   */
  final class Confirm implements Callable<Boolean>, DataSerializable, HazelcastInstanceAware {
    private UUID requester;
    private String backupId;
    private transient HazelcastInstance hazelcast;

    public Confirm() {
      // for deserialization
    }

    Confirm(UUID requester, String backupId) {
      this.requester = requester;
      this.backupId = backupId;
    }

    @Override
    public void setHazelcastInstance(HazelcastInstance hazelcast) {
      this.hazelcast = hazelcast;
    }

    @Override
    public Boolean call() {
      HazelcastBackupLock here = new HazelcastBackupLock(hazelcast, 0);
      MemberProof proof = MemberProof.of(hazelcast);
      return here.isMember(requester) && (proof == null || proof.isProven(requester)) && here.heldBy(backupId);
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(requester.toString());
      out.writeString(backupId);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      requester = UUID.fromString(in.readString());
      backupId = in.readString();
    }
  }
}
