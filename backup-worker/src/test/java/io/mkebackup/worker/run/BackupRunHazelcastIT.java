package io.mkebackup.worker.run;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import io.mkebackup.common.cluster.HazelcastBackupCatalog;
import io.mkebackup.common.cluster.HazelcastBackupLock;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;

/** {@link BackupRunContract} on a real Hazelcast member holding the catalog and the lock. */
@Tag("integration")
class BackupRunHazelcastIT extends BackupRunContract {
  HazelcastInstance member;

  @Override
  void stores() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("run-" + UUID.randomUUID(), "127.0.0.1", port,
        List.of("127.0.0.1:" + port), "node-a").memberConfig(
        ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8),
            "test"))));
    catalog = new HazelcastBackupCatalog(member, null);
    lock = new HazelcastBackupLock(member);
  }

  @AfterEach
  void stop() {
    member.shutdown();
  }
}
