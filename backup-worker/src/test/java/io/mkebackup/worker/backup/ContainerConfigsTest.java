package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.worker.source.DockerEngine.ContainerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The container configurations step on a container engine of the test's own. */
class ContainerConfigsTest {
  @TempDir
  Path dir;

  @Test
  void eachContainersInspectDocumentGoesInAsItsNameDotJsonAndIsNamed() throws Exception {
    StepFixture f = new StepFixture(dir);
    BackupProcedureTest.FakeEngine docker = new BackupProcedureTest.FakeEngine();
    docker.containers.add(new ContainerConfig("ucp-auth-api", "{\"Id\": \"a\"}".getBytes(StandardCharsets.UTF_8)));
    docker.containers.add(new ContainerConfig("ucp-controller", "{\"Id\": \"c\"}".getBytes(StandardCharsets.UTF_8)));

    assertThat(new ContainerConfigs(docker, "").write(f.archive)).containsExactly("ucp-auth-api", "ucp-controller");
    assertThat(f.entries()).containsExactly(java.util.Map.entry("./ucp-auth-api.json", "{\"Id\": \"a\"}"),
        java.util.Map.entry("./ucp-controller.json", "{\"Id\": \"c\"}"));
  }
}
