package io.mkebackup.common.cluster;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;

/**
 * The {@link ScheduleStore} contract on {@link HazelcastScheduleStore}, on one real member (its
 * maps emptied before each test): what shows the in-memory store keeps the cluster's contract.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HazelcastScheduleStoreContractIT extends ScheduleStoreContract {
  HazelcastInstance member;

  @BeforeAll
  void startMember() {
    int port = BackupLockIT.freePort();
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("schedule-contract-" + UUID.randomUUID(), "127.0.0.1",
        port, List.of("127.0.0.1:" + port), "node").memberConfig(
        ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"))));
  }

  @BeforeEach
  void empty() {
    member.getMap(ClusterSettings.SCHEDULE_MAP).clear();
    member.getMap(ClusterSettings.DELETED_SCHEDULE_MAP).clear();
  }

  @AfterAll
  void stopMember() {
    member.shutdown();
  }

  @Override
  ScheduleStore store() {
    return new HazelcastScheduleStore(member, null);
  }

  @Override
  void plant(String id, String stored) {
    SealedMap.of(member, ClusterSettings.SCHEDULE_MAP).set(id, stored);
  }
}
