package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The member configuration's copies of the lock: as many as the members a majority can lose. */
class ClusterSettingsTest {
  @Test
  void theLockMapKeepsACopyForEachMemberAMajorityCanLose() {
    assertThat(List.of(1, 2, 3, 4, 5, 7, 9, 15).stream().map(ClusterSettings::lockBackups).toList())
        .containsExactly(1, 1, 1, 1, 2, 3, 4, 6);
    ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"));
    com.hazelcast.config.Config five = new ClusterSettings("c", "127.0.0.1", 5701, List.of("127.0.0.1:5701"), "n", 5)
        .memberConfig(trust);
    assertThat(five.getMapConfig(ClusterSettings.LOCK_MAP).getBackupCount()).isEqualTo(2);
  }
}
