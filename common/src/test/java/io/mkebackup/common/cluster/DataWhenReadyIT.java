package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.partition.Partition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Managers on real Hazelcast members on loopback take a share of the cluster's data only once they
 * are ready, except when no member holds any.
 */
@Tag("integration")
class DataWhenReadyIT {
  final String cluster = "data-" + UUID.randomUUID();
  final List<Integer> ports = List.of(BackupLockIT.freePort(), BackupLockIT.freePort(), BackupLockIT.freePort());
  final List<HazelcastInstance> started = new ArrayList<>();
  final ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"));

  @AfterEach
  void stop() {
    started.forEach(HazelcastInstance::shutdown);
  }

  record Manager(HazelcastInstance hazelcast, DataWhenReady data) {
    long partitionsOwned() {
      return hazelcast.getPartitionService().getPartitions().stream().map(Partition::getOwner)
          .filter(o -> o != null && o.getUuid().equals(hazelcast.getCluster().getLocalMember().getUuid())).count();
    }
  }

  Manager manager(int i) {
    ClusterSettings s = new ClusterSettings(cluster, "127.0.0.1", ports.get(i),
        ports.stream().map(p -> "127.0.0.1:" + p).toList(), "node-" + i);
    Config c = s.memberConfig(trust);
    DataWhenReady data = DataWhenReady.configure(c);
    HazelcastInstance h = Hazelcast.newHazelcastInstance(c);
    started.add(h);
    return new Manager(h, data);
  }

  @Test
  void aJoiningManagerHoldsNoPartitionUntilItIsReady() {
    Manager first = manager(0);
    // Alone, it holds the data at once: its own start reads and writes maps.
    assertThat(first.data().holdsData()).isTrue();
    first.hazelcast().getMap("m").put("k", "v");

    Manager second = manager(1);
    await().atMost(Duration.ofSeconds(30)).until(() -> second.hazelcast().getCluster().getMembers().size() == 2);
    assertThat(second.data().holdsData()).isFalse();
    assertThat(second.hazelcast().getMap("m").get("k")).isEqualTo("v"); // a lite member reads and writes all the same
    // Given time, it still takes nothing.
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
        .until(() -> second.partitionsOwned() == 0 && !second.data().holdsData());

    second.data().ready();
    await().atMost(Duration.ofSeconds(30)).until(() -> second.data().holdsData() && second.partitionsOwned() > 0
        && first.hazelcast().getPartitionService().isClusterSafe());
    assertThat(second.hazelcast().getMap("m").get("k")).isEqualTo("v");
  }

  /**
   * The lock map's split-brain protection counts data members only; the lock's own count agrees,
   * and says why a starting manager does not count.
   */
  @Test
  void aStartingManagerCountsTowardNoMajorityUntilItHoldsData() {
    Manager first = manager(0);
    Manager second = manager(1);
    await().atMost(Duration.ofSeconds(30)).until(() -> second.hazelcast().getCluster().getMembers().size() == 2);
    HazelcastBackupLock lock = new HazelcastBackupLock(first.hazelcast(), 3);
    assertThat(lock.hasMajority()).isFalse();
    assertThat(lock.membership()).isEqualTo("1 of 3 configured managers (and 1 starting, counted once it holds data)");
    HazelcastBackupLock secondsLock = new HazelcastBackupLock(second.hazelcast(), 3);
    assertThat(secondsLock.holdsData()).isFalse(); // what readiness reads: not ready yet
    assertThat(lock.holdsData()).isTrue();
    second.data().ready();
    await().atMost(Duration.ofSeconds(30)).until(lock::hasMajority);
    assertThat(lock.membership()).isEqualTo("2 of 3 configured managers");
    assertThat(secondsLock.holdsData()).isTrue();
  }

  @Test
  void aManagerNotReadyYetTakesTheDataWhenTheLastMemberHoldingItLeaves() {
    Manager first = manager(0);
    first.hazelcast().getMap("m").put("k", "v");
    Manager second = manager(1);
    await().atMost(Duration.ofSeconds(30)).until(() -> second.hazelcast().getCluster().getMembers().size() == 2);
    assertThat(second.data().holdsData()).isFalse();

    first.hazelcast().shutdown(); // graceful: what it held has no member to go to
    await().atMost(Duration.ofSeconds(30)).until(() -> second.data().holdsData());
    second.hazelcast().getMap("m").put("k2", "v2");
    assertThat(second.hazelcast().getMap("m").get("k2")).isEqualTo("v2");
    assertThat(second.partitionsOwned()).isEqualTo(second.hazelcast().getPartitionService().getPartitions().size());
  }
}
