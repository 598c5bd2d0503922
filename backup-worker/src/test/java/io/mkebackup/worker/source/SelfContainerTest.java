package io.mkebackup.worker.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SelfContainerTest {
  static final String ID = "80a762b5353c557e5a7775d17d2692749e1902330b84916b8904d9363cc7dc12";
  static final String OTHER = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

  /** Lines of /proc/self/mountinfo in a container of Docker 20.10 on Debian, as read here. */
  static final String IN_CONTAINER = String.join("\n",
      "71 47 0:38 / / rw,relatime master:2 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X",
      "77 76 0:28 /docker/" + ID + " /sys/fs/cgroup/cpu ro,nosuid - cgroup cgroup rw,cpu",
      "88 71 254:0 /var/lib/docker/containers/" + ID + "/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw",
      "89 71 254:0 /var/lib/docker/containers/" + ID + "/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw",
      "90 71 254:0 /var/lib/docker/containers/" + ID + "/hosts /etc/hosts rw,relatime - ext4 /dev/vda rw");

  /** The host's own table lists other containers' shm mounts: none of them is this process's. */
  static final String ON_HOST = String.join("\n",
      "25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
      "300 25 0:55 / /var/lib/docker/containers/" + OTHER + "/mounts/shm rw - tmpfs shm rw,size=65536k",
      "301 25 254:0 /var/lib/docker/containers/" + OTHER + "/hostname /srv/copy-of-hostname rw - ext4 /dev/vda rw");

  @Test
  void aContainerIsKnownByTheFilesDockerMountsIntoIt() {
    assertThat(SelfContainer.candidateIds(IN_CONTAINER, "")).containsExactly(ID);
    assertThat(SelfContainer.candidateIds("", "0::/docker/" + ID + "\n1:cpu:/docker/" + ID)).containsExactly(ID);
    assertThat(SelfContainer.candidateIds("", "0::/system.slice/docker-" + ID + ".scope")).containsExactly(ID);
  }

  @Test
  void theHostIsNoContainer() {
    assertThat(SelfContainer.candidateIds(ON_HOST, "0::/user.slice/user-0.slice/session-3.scope")).isEmpty();
  }

  @Test
  void aFileOutlivesTheContainerOnlyOnAMountThatDoes() {
    SelfContainer self = new SelfContainer(ID, "ucp", List.of(
        new SelfContainer.Mount("/var/run/docker.sock", "bind", null, "/var/run/docker.sock"),
        new SelfContainer.Mount("/backup", "bind", null, "/srv/backups"),
        new SelfContainer.Mount("/backup/scratch", "tmpfs", null, null),
        new SelfContainer.Mount("/var/lib/mke-backup", "volume", OTHER, "/var/lib/docker/volumes/" + OTHER + "/_data"),
        new SelfContainer.Mount("/named", "volume", "backups", "/var/lib/docker/volumes/backups/_data")),
        Map.of(), Map.of(), true, false);
    assertThat(self.mountHolding(Path.of("/backup/sub")).orElseThrow().destination()).isEqualTo("/backup");
    assertThat(self.mountHolding(Path.of("/backup/scratch")).orElseThrow().outlivesContainer(true)).isFalse();
    assertThat(self.mountHolding(Path.of("/backupx"))).isEmpty();
    assertThat(self.mountHolding(Path.of("/var/lib/mke-backup")).orElseThrow().outlivesContainer(true)).isFalse();
    assertThat(self.mountHolding(Path.of("/var/lib/mke-backup")).orElseThrow().outlivesContainer(false)).isTrue();
    assertThat(self.mountHolding(Path.of("/named")).orElseThrow().outlivesContainer(true)).isTrue();
  }
}
