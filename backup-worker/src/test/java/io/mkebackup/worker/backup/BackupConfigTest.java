package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.worker.source.EtcdEndpoint;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What a configuration derives for the readiness checks. */
class BackupConfigTest {
  @Test
  void readinessGivesEtcdAtMostItsOwnTimeAndKeepsTheRest() {
    BackupConfig c = BackupConfig.defaults("n1");
    assertThat(c.etcd().timeout()).isEqualTo(EtcdEndpoint.DEFAULT_TIMEOUT);
    BackupConfig capped = c.withEtcdTimeoutAtMost(Duration.ofSeconds(5));
    assertThat(capped.etcd().timeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(capped.etcd().url()).isEqualTo(c.etcd().url());
    assertThat(capped.withDockerHost(c.dockerHost())).isEqualTo(capped);
    assertThat(capped.withEtcdTimeoutAtMost(Duration.ofSeconds(10)).etcd().timeout())
        .as("a shorter time-out is kept").isEqualTo(Duration.ofSeconds(5));
    assertThat(c.withEtcdTimeoutAtMost(Duration.ofSeconds(5))).isEqualTo(capped);
  }
}
