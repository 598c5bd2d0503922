package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan a run makes before it writes anything, on a container engine and an etcd of the test's own. */
class ValidationTest {
  @TempDir
  Path dir;

  BackupRequest request() {
    return new BackupRequest("run-1", null, dir.resolve("b.tar"), null, null, "hostPath");
  }

  BackupProcedureTest.FakeEngine engine(StepFixture f) throws Exception {
    BackupProcedureTest.FakeEngine docker = new BackupProcedureTest.FakeEngine();
    docker.volumes.add(f.volume("ucp-auth-store-data", Map.of("db", "12345")));
    docker.volumes.add(f.volume("ucp-controller-server-certs", Map.of("key.pem", "key")));
    docker.volumes.add(f.volume("ucp-kv", Map.of("member", "not copied")));
    docker.volumes.add(f.volume("ucp-metrics-data", Map.of("tsdb", "excluded")));
    return docker;
  }

  @Test
  void withoutEtcdThePlanCopiesTheVolumesEstimatesTheirBytesAndWarnsThatUcpKvIsLeftOut() throws Exception {
    StepFixture f = new StepFixture(dir);
    BackupProcedureTest.FakeEngine docker = engine(f);
    RunResources opened = new RunResources();

    BackupPlan plan = new Validation(f.config(SourceMode.DISK, null), host -> docker, c -> {
      throw new AssertionError("no etcd is configured");
    }).plan(request(), opened, f.progress);

    assertThat(plan.volumes().toCopy()).extracting(VolumeInfo::name)
        .containsExactly("ucp-controller-server-certs", "ucp-auth-store-data");
    assertThat(plan.estimate()).isEqualTo(8);
    assertThat(plan.etcd()).isNull();
    assertThat(plan.warnings()).singleElement().asString().contains("ucp-kv", "NOT in this backup");
    assertThat(plan.summary(false)).startsWith("ok: Docker 20.10-test at fake://engine, 2 volumes, about 8 B to write to "
        + dir.resolve("b.tar") + " (").endsWith(" free), NOT encrypted");
    assertThat(opened.docker).isSameAs(docker);
    assertThat(f.said()).containsExactly("started validation : checking the target, the Docker engine and etcd");
  }

  @Test
  void withEtcdTheEstimateCountsItsDatabaseAndTheRunHoldsTheConnection() throws Exception {
    StepFixture f = new StepFixture(dir);
    BackupProcedureTest.FakeEngine docker = engine(f);
    BackupProcedureTest.FakeEtcd etcd = new BackupProcedureTest.FakeEtcd(2);
    RunResources opened = new RunResources();

    BackupPlan plan = new Validation(f.config(SourceMode.DISK, EtcdEndpoint.auto()), host -> docker, c -> etcd)
        .plan(request(), opened, f.progress);

    assertThat(plan.estimate()).isEqualTo(8 + etcd.snapshot.length);
    assertThat(plan.warnings()).isEmpty();
    assertThat(plan.etcd()).isSameAs(etcd);
    assertThat(opened.etcd).isSameAs(etcd);
    assertThat(plan.summary(true)).contains(", etcd 3.4.99 at https://fake-etcd:2379, 2 volumes")
        .endsWith(", encrypted (AES-256)");
  }

  @Test
  void aTargetWithoutRoomForTheEstimateIsRefusedNamingItsFieldAndTheEngineIsLeftToTheRunToClose() throws Exception {
    StepFixture f = new StepFixture(dir);
    BackupProcedureTest.FakeEngine docker = engine(f);
    // A sparse file: 4 TiB to read, no room taken.
    try (RandomAccessFile huge = new RandomAccessFile(
        Files.createFile(f.root.resolve("volumes/ucp-auth-store-data/huge")).toFile(), "rw")) {
      huge.setLength(4L << 40);
    }
    RunResources opened = new RunResources();

    assertThatThrownBy(() -> new Validation(f.config(SourceMode.DISK, null), host -> docker, c -> null)
        .plan(request(), opened, f.progress)).isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.TARGET_FULL);
          assertThat(e.field()).isEqualTo("hostPath");
        }).hasMessageContaining("hostPath: " + dir + " has ").hasMessageContaining("needs about 4.2 TiB");
    assertThat(opened.docker).isSameAs(docker);
    opened.close();
    assertThat(docker.closed).isTrue();
  }

  @Test
  void anEngineWithoutUcpVolumesIsNoMkeState() throws Exception {
    StepFixture f = new StepFixture(dir);
    BackupProcedureTest.FakeEngine docker = new BackupProcedureTest.FakeEngine();
    assertThatThrownBy(() -> new Validation(f.config(SourceMode.DISK, null), host -> docker, c -> null)
        .plan(request(), new RunResources(), f.progress)).isInstanceOfSatisfying(BackupException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.NO_MKE_STATE)).hasMessageContaining("fake://engine");
  }
}
