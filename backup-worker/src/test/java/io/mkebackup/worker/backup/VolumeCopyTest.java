package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.progress.Step;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.freeze.Freezer;
import io.mkebackup.worker.source.ContainerEngine.Mounter;
import io.mkebackup.worker.source.DiskVolumeSource;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One volume into the archive, read by the real disk source, on a container engine of the test's
 * own whose containers "pause" by being recorded.
 */
class VolumeCopyTest {
  @TempDir
  Path dir;

  /** An engine whose volume has the given mounters, and which records pauses and unpauses. */
  static final class Mounted extends BackupProcedureTest.FakeEngine {
    final List<Mounter> mounters;
    final List<String> calls = new ArrayList<>();

    Mounted(Mounter... mounters) {
      this.mounters = List.of(mounters);
    }

    @Override
    public List<Mounter> mounters(String volumeFullName) {
      return mounters;
    }

    @Override
    public void pause(String containerId) {
      calls.add("pause " + containerId);
    }

    @Override
    public boolean unpause(String containerId) {
      calls.add("unpause " + containerId);
      return true;
    }
  }

  ArchiveMetadata.Volume copy(StepFixture f, Mounted docker, boolean freezing, List<String> warnings)
      throws Exception {
    VolumeInfo v = f.volume("ucp-auth-store-data", Map.of("a", "123", "b", "45"));
    Path spool = Files.createDirectories(f.root.resolve("spool/run-1"));
    Freezer freezer = freezing ? new Freezer(docker, "fake", spool.getParent(), spool, false) : null;
    return new VolumeCopy(f.config(SourceMode.DISK, null), docker, freezer, spool, f.archive, f.progress, warnings)
        .copy(Step.AUTH_STORE, v, new DiskVolumeSource(warnings::add));
  }

  @Test
  void withoutAFreezerTheVolumeIsCopiedAndRecordedWithNoOnePaused() throws Exception {
    StepFixture f = new StepFixture(dir);
    Mounted docker = new Mounted(new Mounter("c1", "ucp-auth-store", true, true, false));

    ArchiveMetadata.Volume recorded = copy(f, docker, false, new ArrayList<>());

    assertThat(recorded).isEqualTo(new ArchiveMetadata.Volume("ucp-auth-store-data", 2, 5, "disk"));
    assertThat(f.entries()).containsEntry("./ucp-auth-store-data/a", "123").containsEntry("./ucp-auth-store-data/b", "45");
    assertThat(docker.calls).isEmpty();
    assertThat(f.said()).containsExactly("started auth-store ucp-auth-store-data: copying volume ucp-auth-store-data",
        "done auth-store ucp-auth-store-data: 2 files, 5 B (via disk)");
  }

  @Test
  void aRunningWriterIsPausedForTheCopyOnlyAndTheFreezeIsRecorded() throws Exception {
    StepFixture f = new StepFixture(dir);
    Mounted docker = new Mounted(new Mounter("c1", "ucp-auth-store", true, true, false),
        new Mounter("c2", "ucp-reader", false, true, false));

    ArchiveMetadata.Volume recorded = copy(f, docker, true, new ArrayList<>());

    assertThat(docker.calls).containsExactly("pause c1", "unpause c1");
    assertThat(recorded.frozen()).containsExactly("ucp-auth-store");
    assertThat(recorded.frozenSeconds()).isNotNull().isGreaterThanOrEqualTo(0.0);
    // Files this new may look changed (mtime granularity): read again while paused, or not.
    assertThat(recorded.frozenBytes()).isBetween(0L, 5L);
    assertThat(recorded.files()).isEqualTo(2L);
    assertThat(f.entries()).containsEntry("./ucp-auth-store-data/a", "123");
    assertThat(f.said()).anyMatch(s -> s.startsWith("frozen auth-store ucp-auth-store-data: ucp-auth-store paused ")
        && s.contains("that changed since an unpaused copy of 5 B"));
  }

  @Test
  void theFreezeLineIsLoggedUnderTheNameTheLogHasAlwaysShown() throws Exception {
    // The manager's log prints the logger's last name ("BackupEngine: auth-store ...: ... paused"):
    // the class was renamed, the line users grep for was not.
    Logger logger = Logger.getLogger("io.mkebackup.worker.engine.BackupEngine");
    List<LogRecord> logged = new ArrayList<>();
    Handler keep = new Handler() {
      @Override
      public void publish(LogRecord r) {
        logged.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    logger.addHandler(keep);
    try {
      StepFixture f = new StepFixture(dir);
      copy(f, new Mounted(new Mounter("c1", "ucp-auth-store", true, true, false)), true, new ArrayList<>());
    } finally {
      logger.removeHandler(keep);
    }
    assertThat(logged).singleElement().satisfies(r -> {
      assertThat(r.getLoggerName()).isEqualTo("io.mkebackup.worker.engine.BackupEngine");
      assertThat(r.getMessage()).startsWith("auth-store ucp-auth-store-data: ucp-auth-store paused ");
    });
  }

  @Test
  void aWriterPausedBySomeoneElseIsLeftAsItIsAndNamed() throws Exception {
    StepFixture f = new StepFixture(dir);
    Mounted docker = new Mounted(new Mounter("c1", "theirs", true, true, true));

    ArchiveMetadata.Volume recorded = copy(f, docker, true, new ArrayList<>());

    assertThat(docker.calls).isEmpty();
    assertThat(recorded).isEqualTo(new ArchiveMetadata.Volume("ucp-auth-store-data", 2L, 5L, "disk", List.of("theirs"),
        null, null));
    assertThat(f.said()).contains(
        "frozen auth-store ucp-auth-store-data: theirs already paused by someone else; copied as it is, left paused");
  }
}
