package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import org.junit.jupiter.api.Test;

/** The {@link BackupLock} contract on {@link InMemoryBackupLock}: a unit test, no cluster. */
class InMemoryBackupLockTest extends BackupLockContract {
  @Override
  BackupLock lock() {
    return new InMemoryBackupLock();
  }

  @Override
  BackupLock withoutMajority() {
    InMemoryBackupLock lock = new InMemoryBackupLock();
    lock.majority(false);
    return lock;
  }

  @Test
  void aLostLeaseFailsItsChecksAndStillFreesTheLockOnRelease() {
    InMemoryBackupLock lock = new InMemoryBackupLock();
    BackupLease lease = lock.acquire("backup-1", "node-1");
    lock.loseLease("paused for 9 s");
    assertThat(lease.valid()).isFalse();
    assertThatThrownBy(lease::check).isInstanceOfSatisfying(BackupException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.LEASE_LOST);
      assertThat(e.getMessage()).contains("(paused for 9 s)");
    });
    lease.release();
    assertThat(lock.held()).isFalse();
  }
}
