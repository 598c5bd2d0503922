package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Members whose list names hosts join through {@link DnsMembers}, on real Hazelcast members on loopback. */
@Tag("integration")
class DnsMembersIT {
  final List<HazelcastInstance> started = new ArrayList<>();

  @AfterEach
  void stop() {
    started.forEach(HazelcastInstance::shutdown);
  }

  @Test
  void membersNamedByHostFormOneCluster() throws IOException {
    String cluster = "dns-" + UUID.randomUUID();
    ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"));
    List<Integer> ports = List.of(freePort(), freePort());
    for (int i = 0; i < 2; i++) {
      ClusterSettings s = new ClusterSettings(cluster, "127.0.0.1", ports.get(i),
          ports.stream().map(p -> "localhost:" + p).toList(), "node-" + i);
      assertThat(s.memberConfig(trust).getNetworkConfig().getJoin().getTcpIpConfig().isEnabled()).isFalse();
      started.add(Hazelcast.newHazelcastInstance(s.memberConfig(trust)));
    }
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
        assertThat(started).allSatisfy(h -> assertThat(h.getCluster().getMembers()).hasSize(2)));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
