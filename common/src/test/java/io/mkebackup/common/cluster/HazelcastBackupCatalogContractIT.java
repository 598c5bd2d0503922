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
 * The {@link BackupCatalog} contract on {@link HazelcastBackupCatalog}, on one real member (its
 * maps emptied before each test): what shows the in-memory catalog keeps the cluster's contract.
 * The member's view, which follows the map through entry events, is {@link CatalogViewIT}'s.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HazelcastBackupCatalogContractIT extends BackupCatalogContract {
  HazelcastInstance member;

  @BeforeAll
  void startMember() {
    int port = BackupLockIT.freePort();
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("catalog-contract-" + UUID.randomUUID(), "127.0.0.1",
        port, List.of("127.0.0.1:" + port), "node").memberConfig(
        ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"))));
  }

  @BeforeEach
  void empty() {
    for (String map : List.of(ClusterSettings.CATALOG_MAP, ClusterSettings.CONTENTS_MAP,
        ClusterSettings.DELETED_CATALOG_MAP)) {
      member.getMap(map).clear();
    }
  }

  @AfterAll
  void stopMember() {
    member.shutdown();
  }

  @Override
  BackupCatalog catalog() {
    return new HazelcastBackupCatalog(member, null);
  }

  @Override
  void plant(String id, String stored) {
    SealedMap.of(member, ClusterSettings.CATALOG_MAP).set(id, stored);
  }
}
