package io.mkebackup.worker.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Where a path in a container comes from on the host ({@link SelfContainer#hostPath}), for a
 * SelfContainer made from the real engine's account of a created (never started) container: the
 * socket a sibling container is given must be the host's own, also when it reaches this container
 * inside a mounted directory, and is never guessed.
 */
@Tag("integration")
class SelfContainerHostPathIT {
  static final String IMAGE = "mke-backup-host-path-test:" + UUID.randomUUID().toString().substring(0, 8);
  static final String NAME = "mke-backup-host-path-" + UUID.randomUUID().toString().substring(0, 8);
  static String id;

  static String sh(String command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor()).as(command + ": " + out).isZero();
    return out;
  }

  @BeforeAll
  static void createContainer() throws Exception {
    sh("tar cf - --files-from /dev/null | docker import - " + IMAGE);
    // /h from /tmp, and /h/run (deeper, so it holds /h/run/...) from /var/run.
    id = sh("docker create --name " + NAME + " -v /tmp:/h -v /var/run:/h/run -v /var/run/docker.sock:/sock/docker.sock "
        + IMAGE + " /none");
  }

  @AfterAll
  static void remove() throws Exception {
    sh("docker rm -f " + NAME + " >/dev/null; docker rmi " + IMAGE + " >/dev/null");
  }

  @Test
  void theMountHoldingThePathGivesItsHostPath() throws IOException {
    SelfContainer self;
    try (DockerEngine docker = DockerEngine.connect("unix:///var/run/docker.sock")) {
      self = SelfContainer.of(docker.client().inspectContainerCmd(id).exec());
    }
    assertThat(self.hostPath(Path.of("/sock/docker.sock"))).isEqualTo("/var/run/docker.sock");
    assertThat(self.hostPath(Path.of("/h/run/docker.sock"))).as("the deepest mount holding it")
        .isEqualTo("/var/run/docker.sock");
    assertThat(self.hostPath(Path.of("/h/other/docker.sock"))).isEqualTo("/tmp/other/docker.sock");
    assertThatThrownBy(() -> self.hostPath(Path.of("/var/run/docker.sock"))).as("in no mount: not guessed")
        .isInstanceOf(IOException.class)
        .hasMessage("/var/run/docker.sock is in no mount of container " + NAME + ", so its path on the host is unknown");
  }
}
