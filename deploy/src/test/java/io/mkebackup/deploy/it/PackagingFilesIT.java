package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The files for running it for real, checked by their own tools: systemd's unit verifier and
 * Docker's stack loader (the image itself is run by ContainerImageIT).
 */
@Tag("integration")
class PackagingFilesIT {
  static final Path DEPLOY = Cli.JAR.toAbsolutePath().getParent().getParent();

  @Test
  void systemdAcceptsTheUnit() throws Exception {
    Tools.Out r = Tools.sh("systemd-analyze verify " + DEPLOY.resolve("systemd/mke-backup.service"));
    assertThat(r.exit()).as(r.text()).isZero();
    assertThat(r.text()).isEmpty();
  }

  @Test
  void dockerLoadsTheStackAsAGlobalServiceOnManagers() throws Exception {
    Tools.Out r = Tools.sh("docker stack config -c " + DEPLOY.resolve("swarm/mke-backup-stack.yml"));
    assertThat(r.exit()).as(r.text()).isZero();
    assertThat(r.text()).contains("mode: global").contains("node.role == manager")
        .contains("MKE_BACKUP_CLUSTER_MEMBERS: tasks.manager:5701")
        .contains("/var/run/docker.sock")
        .contains("MKE_BACKUP_CLUSTER_SECRET_FILE: /run/secrets/mke_backup_cluster_secret");
  }
}
