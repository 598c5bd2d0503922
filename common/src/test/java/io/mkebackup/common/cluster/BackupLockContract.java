package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link BackupLock} promises backup runs, run on each implementation
 * ({@link InMemoryBackupLockTest}, {@link HazelcastBackupLockContractIT}), so the in-memory
 * lock the runs are unit-tested on keeps the cluster's contract. The holder takes and frees the
 * lock on one thread and the others ask from another, as Hazelcast's locks belong to a thread.
 */
abstract class BackupLockContract {
  ExecutorService holderThread;
  ExecutorService otherThread;

  /** A lock whose member sees a majority, not held. */
  abstract BackupLock lock();

  /** A lock whose member does not see a majority of the configured managers. */
  abstract BackupLock withoutMajority();

  @BeforeEach
  void startThreads() {
    holderThread = Executors.newSingleThreadExecutor();
    otherThread = Executors.newSingleThreadExecutor();
  }

  @AfterEach
  void stopThreads() {
    holderThread.shutdownNow();
    otherThread.shutdownNow();
  }

  static <T> T on(ExecutorService thread, Callable<T> call) {
    try {
      return CompletableFuture.supplyAsync(() -> {
        try {
          return call.call();
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      }, thread).join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  @Test
  void whileOneBackupHoldsTheLockAnotherIsRefusedNamingIt() {
    BackupLock lock = lock();
    BackupLease lease = on(holderThread, () -> lock.acquire("backup-1", "node-1"));
    assertThat(lease.backupId()).isEqualTo("backup-1");
    assertThat(lease.valid()).isTrue();
    assertThat(lock.held()).isTrue();
    assertThat(lock.heldBy("backup-1")).isTrue();
    assertThat(lock.heldBy("backup-2")).isFalse();
    assertThat(lock.holder()).hasValueSatisfying(h -> {
      assertThat(h.getString("backupId")).isEqualTo("backup-1");
      assertThat(h.getString("node")).isEqualTo("node-1");
    });

    assertThatThrownBy(() -> on(otherThread, () -> lock.acquire("backup-2", "node-2")))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.BACKUP_RUNNING);
          assertThat(e.getMessage()).contains("(backup backup-1 on node node-1)");
        });
    assertThat(lock.heldBy("backup-1")).as("the refusal took nothing").isTrue();

    on(holderThread, () -> {
      lease.release();
      return null;
    });
  }

  @Test
  void aReleasedLockIsFreeForTheNextBackupAndItsLeaseIsNoLongerValid() {
    BackupLock lock = lock();
    BackupLease first = on(holderThread, () -> lock.acquire("backup-1", "node-1"));
    on(holderThread, () -> {
      first.release();
      first.release(); // idempotent
      return null;
    });
    assertThat(lock.held()).isFalse();
    assertThat(lock.holder()).isEmpty();
    assertThat(first.valid()).isFalse();
    assertThatThrownBy(first::check).isInstanceOfSatisfying(BackupException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.LEASE_LOST));

    BackupLease second = on(otherThread, () -> lock.acquire("backup-2", "node-2"));
    assertThat(lock.heldBy("backup-2")).isTrue();
    on(holderThread, () -> {
      first.release(); // a stale lease's release leaves the new holder alone
      return null;
    });
    assertThat(lock.heldBy("backup-2")).isTrue();
    on(otherThread, () -> {
      second.release();
      return null;
    });
    assertThat(lock.held()).isFalse();
  }

  @Test
  void withoutAMajorityNothingIsTaken() {
    BackupLock lock = withoutMajority();
    assertThat(lock.hasMajority()).isFalse();
    assertThatThrownBy(() -> on(holderThread, () -> lock.acquire("backup-1", "node-1")))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.NO_MAJORITY);
          assertThat(e.getMessage()).startsWith("the cluster has no majority: this manager sees ");
        });
    assertThat(lock.held()).isFalse();
  }
}
