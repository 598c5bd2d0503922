package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.ProgressEvent.Kind;
import io.mkebackup.common.progress.Step;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.DockerEngine.ContainerConfig;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole backup procedure in-process, without Docker or root: a container engine of the test's
 * own whose volumes are directories here, read by the real disk source into the real pipeline.
 * What the archive holds, in which order the steps report, and what a failing volume or a lost
 * lease leave behind (nothing, and the older file of the same name).
 */
class BackupProcedureTest {
  @TempDir
  Path volumes;
  @TempDir
  Path backups;
  @TempDir
  Path spool;
  FakeEngine docker;
  final List<ProgressEvent> events = new CopyOnWriteArrayList<>();

  /** Volumes and containers the test made; counts what the backup asked and whether it closed. */
  static class FakeEngine implements ContainerEngine {
    final List<VolumeInfo> volumes = new ArrayList<>();
    final List<ContainerConfig> containers = new ArrayList<>();
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public String host() {
      return "fake://engine";
    }

    @Override
    public String version() {
      return "20.10-test";
    }

    @Override
    public List<VolumeInfo> ucpVolumes(String prefix) {
      return volumes;
    }

    @Override
    public List<ContainerConfig> ucpContainers(String prefix) {
      return containers;
    }

    @Override
    public String createHelper(String image, String name, List<String> volumeNames, java.util.Set<String> apart,
        Map<String, String> labels) {
      throw new AssertionError("the disk source needs no helper");
    }

    @Override
    public InputStream archive(String containerId, String path) {
      throw new AssertionError("the disk source needs no archive API");
    }

    @Override
    public void removeContainer(String id) {
      throw new AssertionError("no helper to remove");
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  @BeforeEach
  void state() throws IOException {
    docker = new FakeEngine();
    volume("ucp-controller-server-certs", Map.of("key.pem", "-----BEGIN KEY-----", "cert.pem", "-----BEGIN CERT-----"));
    volume("ucp-auth-store-data", Map.of("db/table", "rethink"));
    volume("ucp-metrics-data", Map.of("prometheus", "not backed up"));
    docker.containers.add(new ContainerConfig("ucp-controller", "{\"Id\": \"c1\"}".getBytes(StandardCharsets.UTF_8)));
  }

  void volume(String name, Map<String, String> files) throws IOException {
    Path root = Files.createDirectories(volumes.resolve(name));
    for (Map.Entry<String, String> f : files.entrySet()) {
      Path p = root.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      Files.writeString(p, f.getValue());
    }
    docker.volumes.add(new VolumeInfo(name, name, root));
    docker.volumes.sort(java.util.Comparator.comparing(VolumeInfo::name));
  }

  BackupProcedure procedure(Fence fence) {
    BackupConfig config = new BackupConfig("node-a", "fake://engine", "", BackupConfig.DEFAULT_EXCLUDED,
        SourceMode.DISK, null, BackupConfig.DEFAULT_HELPER_IMAGE, spool, 0);
    return new BackupProcedure(config, fence, host -> docker);
  }

  BackupResult run(Fence fence, Path file) {
    return procedure(fence).run(new BackupRequest(UUID.randomUUID().toString(), null, file, null, null, "hostPath"),
        events::add);
  }

  List<String> entries(Path archive) throws IOException {
    List<String> names = new ArrayList<>();
    try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(archive))) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        names.add(e.getName());
      }
    }
    return names;
  }

  List<String> leftovers() throws IOException {
    try (Stream<Path> files = Files.list(backups)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> !n.equals("b.tar")).toList();
    }
  }

  List<String> steps() {
    return events.stream().filter(e -> e.kind() != Kind.PROGRESS)
        .map(e -> e.kind().id() + " " + (e.step() == null ? "" : e.step().id()) + " " + e.target()).toList();
  }

  @Test
  void aBackupHoldsEveryVolumeButTheExcludedOnesThenTheContainersThenTheMetadata() throws IOException {
    Path file = backups.resolve("b.tar");
    BackupResult result = run(Fence.NONE, file);

    List<String> names = entries(file);
    assertThat(names).contains("./ucp-controller-server-certs/key.pem", "./ucp-auth-store-data/db/table",
        "./ucp-controller.json").noneMatch(n -> n.startsWith("./ucp-metrics-data"));
    assertThat(names.get(names.size() - 1)).isEqualTo("./backup-metadata.json");
    assertThat(names.indexOf("./ucp-auth-store-data/db/table"))
        .as("the auth store after the other volumes").isGreaterThan(names.indexOf("./ucp-controller-server-certs/key.pem"));
    assertThat(result.archiveBytes()).isEqualTo(Files.size(file));
    assertThat(result.warnings()).isEmpty();
    assertThat(steps()).startsWith("started validation ", "done validation ")
        .containsSubsequence("started volume ucp-controller-server-certs", "done volume ucp-controller-server-certs",
            "started auth-store ucp-auth-store-data", "done auth-store ucp-auth-store-data", "started finalize ",
            "done finalize ", "succeeded finalize ");
    assertThat(steps().get(steps().size() - 1)).startsWith("succeeded");
    assertThat(leftovers()).isEmpty();
    assertThat(docker.closed).isTrue();
  }

  @Test
  void aVolumeThatCannotBeReadFailsTheRunAndLeavesTheOlderFile() throws IOException {
    Path file = Files.writeString(backups.resolve("b.tar"), "last night's backup");
    docker.volumes.add(new VolumeInfo("ucp-gone", "ucp-gone", volumes.resolve("ucp-gone")));

    assertThatThrownBy(() -> run(Fence.NONE, file)).isInstanceOfSatisfying(BackupException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.VOLUME_READ_FAILED)).hasMessageContaining("ucp-gone");

    assertThat(Files.readString(file)).isEqualTo("last night's backup");
    assertThat(leftovers()).isEmpty();
    assertThat(events.get(events.size() - 1).kind()).isEqualTo(Kind.FAILED);
    assertThat(docker.closed).isTrue();
  }

  @Test
  void aLeaseLostMidRunStopsItAndLeavesTheOlderFile() throws IOException {
    Path file = Files.writeString(backups.resolve("b.tar"), "last night's backup");
    AtomicBoolean lost = new AtomicBoolean();
    Fence fence = () -> {
      if (lost.get()) {
        throw new BackupException(ErrorCode.LEASE_LOST, "this manager lost the cluster's backup lock");
      }
    };
    BackupProcedure procedure = procedure(fence);
    assertThatThrownBy(() -> procedure.run(new BackupRequest(UUID.randomUUID().toString(), null, file, null, null,
        "hostPath"), e -> {
          events.add(e);
          if (e.kind() == Kind.DONE && e.step() == Step.VOLUME) {
            lost.set(true);
          }
        })).isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEASE_LOST));

    assertThat(Files.readString(file)).isEqualTo("last night's backup");
    assertThat(leftovers()).isEmpty();
    assertThat(steps()).noneMatch(s -> s.startsWith("succeeded"));
    assertThat(docker.closed).isTrue();
  }

  @Test
  void anEngineWithoutUcpVolumesIsRefusedBeforeAnythingIsWritten() throws IOException {
    docker.volumes.clear();
    Path file = backups.resolve("b.tar");
    assertThatThrownBy(() -> run(Fence.NONE, file)).isInstanceOfSatisfying(BackupException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.NO_MKE_STATE)).hasMessageContaining("fake://engine");
    assertThat(file).doesNotExist();
    assertThat(leftovers()).isEmpty();
    assertThat(Set.copyOf(steps())).noneMatch(s -> s.startsWith("started volume"));
  }

  @Test
  void anEtcdThatRefusesFailsValidationBeforeAnythingIsWrittenAndIsClosed() throws Exception {
    Path file = Files.writeString(backups.resolve("b.tar"), "last night's backup");
    FakeEtcd refusing = new FakeEtcd(1) {
      @Override
      public io.etcd.jetcd.api.StatusResponse status() {
        throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd (ucp-kv) does not answer at " + url());
      }
    };
    BackupConfig config = new BackupConfig("node-a", "fake://engine", "", BackupConfig.DEFAULT_EXCLUDED,
        SourceMode.DISK, EtcdEndpoint.auto(), BackupConfig.DEFAULT_HELPER_IMAGE, spool, 0);

    assertThatThrownBy(() -> new BackupProcedure(config, Fence.NONE, host -> docker, c -> refusing).run(
        new BackupRequest(UUID.randomUUID().toString(), null, file, null, null, "hostPath"), events::add))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ETCD_UNAVAILABLE);
          assertThat(e.getMessage()).contains("https://fake-etcd:2379");
        });

    assertThat(steps()).noneMatch(s -> s.startsWith("started volume") || s.startsWith("done validation"))
        .anyMatch(s -> s.startsWith("failed validation"));
    assertThat(Files.readString(file)).isEqualTo("last night's backup");
    assertThat(leftovers()).isEmpty();
    assertThat(refusing.closed).isTrue();
    try (Stream<Path> left = Files.list(spool)) {
      assertThat(left).as("no run's spool is left").noneMatch(p -> p.getFileName().toString().startsWith("run-"));
    }
  }

  /** An etcd of the test's own: a snapshot of random bytes with the SHA-256 trailer etcd writes. */
  static class FakeEtcd implements io.mkebackup.worker.source.EtcdSource {
    final byte[] snapshot;
    final AtomicBoolean closed = new AtomicBoolean();

    FakeEtcd(int blocks) throws Exception {
      byte[] body = new byte[512 * blocks];
      new java.util.Random(7).nextBytes(body);
      byte[] trailer = java.security.MessageDigest.getInstance("SHA-256").digest(body);
      snapshot = java.util.Arrays.copyOf(body, body.length + trailer.length);
      System.arraycopy(trailer, 0, snapshot, body.length, trailer.length);
    }

    @Override
    public String url() {
      return "https://fake-etcd:2379";
    }

    @Override
    public io.etcd.jetcd.api.StatusResponse status() {
      return io.etcd.jetcd.api.StatusResponse.newBuilder().setVersion("3.4.99").setDbSize(snapshot.length)
          .setHeader(io.etcd.jetcd.api.ResponseHeader.newBuilder().setRevision(4242)).build();
    }

    @Override
    public long snapshotTo(Path spool) throws IOException {
      Files.write(spool, snapshot, java.nio.file.StandardOpenOption.CREATE_NEW);
      return snapshot.length;
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  @Test
  void theEtcdSnapshotGoesInAfterTheVolumesAndBeforeTheAuthStoreAndIsRecorded() throws Exception {
    FakeEtcd etcd = new FakeEtcd(40);
    BackupConfig config = new BackupConfig("node-a", "fake://engine", "", BackupConfig.DEFAULT_EXCLUDED,
        SourceMode.DISK, EtcdEndpoint.auto(), BackupConfig.DEFAULT_HELPER_IMAGE, spool, 0);
    Path file = backups.resolve("b.tar");

    new BackupProcedure(config, Fence.NONE, host -> docker, c -> etcd)
        .run(new BackupRequest(UUID.randomUUID().toString(), null, file, null, null, "hostPath"), events::add);

    List<String> names = entries(file);
    String snapshot = names.stream().filter(n -> n.startsWith("./ucp-backup/") && n.endsWith("/etcd.backup.db"))
        .findFirst().orElseThrow();
    assertThat(names.indexOf(snapshot)).isGreaterThan(names.indexOf("./ucp-controller-server-certs/key.pem"))
        .isLessThan(names.indexOf("./ucp-auth-store-data/db/table"));
    byte[] snapshotBytes = null;
    String metadata = null;
    try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(file))) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        if (e.getName().equals(snapshot)) {
          snapshotBytes = tar.readAllBytes();
        }
        if (e.getName().equals("./backup-metadata.json")) {
          metadata = new String(tar.readAllBytes(), StandardCharsets.UTF_8);
        }
      }
    }
    assertThat(snapshotBytes).isEqualTo(etcd.snapshot);
    assertThat(metadata).as("./backup-metadata.json").isNotNull()
        .contains("\"endpoint\" : \"https://fake-etcd:2379\"", "\"version\" : \"3.4.99\"", "\"revision\" : 4242");
    assertThat(steps()).containsSubsequence("done volume ucp-controller-server-certs", "started etcd ucp-kv",
        "done etcd ucp-kv", "started auth-store ucp-auth-store-data");
    assertThat(etcd.closed).isTrue();
    assertThat(leftovers()).isEmpty();
  }
}
