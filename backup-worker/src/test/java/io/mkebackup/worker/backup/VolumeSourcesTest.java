package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.freeze.Freezer;
import io.mkebackup.worker.source.ContainerEngine.Mounter;
import io.mkebackup.worker.source.DiskVolumeSource;
import io.mkebackup.worker.source.DockerArchiveVolumeSource;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which source reads each volume, and the helper container a plan that needs one gets. */
class VolumeSourcesTest {
  @TempDir
  Path dir;

  /** Records the helper it is asked for; the auth store has a running writer. */
  static final class HelperEngine extends BackupProcedureTest.FakeEngine {
    final List<String> helpers = new ArrayList<>();

    @Override
    public String createHelper(String image, String name, List<String> volumeNames, Set<String> apart,
        Map<String, String> labels) {
      helpers.add(name + " " + volumeNames + " apart " + new java.util.TreeSet<>(apart) + " " + labels);
      return "helper-1";
    }

    @Override
    public List<Mounter> mounters(String volumeFullName) {
      return volumeFullName.equals("ucp-auth-api-certs") ? List.of(new Mounter("c1", "ucp-auth-api", true, true, false))
          : List.of();
    }
  }

  BackupPlan plan(StepFixture f, HelperEngine docker, boolean fromDisk) throws Exception {
    List<VolumeInfo> volumes = List.of(f.volume("ucp-auth-api-certs", Map.of()), f.volume("ucp-auth-store-data",
        Map.of()), f.volume("ucp-client-root-ca", Map.of()));
    VolumePlan volumePlan = VolumePlan.of(volumes, Set.of(), v -> fromDisk, p -> 0);
    return new BackupPlan(docker, "20.10-test", volumePlan, v -> fromDisk, null, null, 0, "t", List.of());
  }

  @Test
  void volumesReadFromDiskNeedNoHelper() throws Exception {
    StepFixture f = new StepFixture(dir);
    HelperEngine docker = new HelperEngine();
    BackupPlan plan = plan(f, docker, true);
    RunResources opened = new RunResources();

    VolumeSources sources = VolumeSources.open(plan, null, f.config(SourceMode.DISK, null), "run-1", w -> {}, opened);

    assertThat(sources.of(plan.volumes().plain().get(0))).isInstanceOf(DiskVolumeSource.class);
    assertThat(docker.helpers).isEmpty();
    assertThat(opened.helperId).isNull();
  }

  @Test
  void throughTheEngineOneHelperMountsEveryVolumeAndAVolumeWithAWriterApartWhenFreezing() throws Exception {
    StepFixture f = new StepFixture(dir);
    HelperEngine docker = new HelperEngine();
    BackupPlan plan = plan(f, docker, false);
    RunResources opened = new RunResources();
    Freezer freezer = new Freezer(docker, "fake", dir, dir.resolve("run-1"), false);

    VolumeSources sources = VolumeSources.open(plan, freezer, f.config(SourceMode.DOCKER, null), "run-1", w -> {},
        opened);

    assertThat(docker.helpers).containsExactly("mke-backup-helper-run-1 [ucp-auth-api-certs, ucp-client-root-ca,"
        + " ucp-auth-store-data] apart [ucp-auth-api-certs, ucp-auth-store-data] {io.mkebackup.helper=run-1}");
    assertThat(opened.helperId).isEqualTo("helper-1");
    assertThat(sources.of(plan.volumes().plain().get(0))).isSameAs(opened.helperSource)
        .isInstanceOf(DockerArchiveVolumeSource.class);
  }
}
