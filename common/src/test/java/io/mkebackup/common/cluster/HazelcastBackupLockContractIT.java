package io.mkebackup.common.cluster;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;

/**
 * The {@link BackupLock} contract on {@link HazelcastBackupLock}, on one real member configured
 * alone (its majority is itself; "without a majority" is the same member counted as one of three):
 * what shows the in-memory lock keeps the cluster's contract. Each test frees what it takes.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HazelcastBackupLockContractIT extends BackupLockContract {
  HazelcastInstance member;

  @BeforeAll
  void startMember() {
    int port = BackupLockIT.freePort();
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("lock-contract-" + UUID.randomUUID(), "127.0.0.1",
        port, List.of("127.0.0.1:" + port), "node").memberConfig(
        ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"))));
  }

  @AfterAll
  void stopMember() {
    member.shutdown();
  }

  @Override
  BackupLock lock() {
    return new HazelcastBackupLock(member, 1);
  }

  @Override
  BackupLock withoutMajority() {
    return new HazelcastBackupLock(member, 3);
  }
}
