package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.archive.ArchiveMetadata;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The etcd step on an etcd of the test's own, into an archive written to memory. */
class EtcdSnapshotStepTest {
  @TempDir
  Path dir;

  @Test
  void theSnapshotGoesInUnderUcpBackupIsRecordedAndLeavesNothingInTheSpool() throws Exception {
    StepFixture f = new StepFixture(dir);
    BackupProcedureTest.FakeEtcd etcd = new BackupProcedureTest.FakeEtcd(8);
    Path spool = Files.createDirectory(dir.resolve("run"));

    ArchiveMetadata.Etcd recorded = new EtcdSnapshotStep(etcd, etcd.status()).write(f.archive, f.progress, spool);

    Map<String, String> entries = f.entries();
    assertThat(recorded.entry()).matches("\\./ucp-backup/\\d{13}/etcd\\.backup\\.db");
    String at = recorded.entry().split("/")[2];
    assertThat(entries.keySet()).containsExactly("./ucp-backup/", "./ucp-backup/" + at + "/", recorded.entry());
    assertThat(entries.get(recorded.entry()).getBytes(StandardCharsets.ISO_8859_1)).isEqualTo(etcd.snapshot);
    assertThat(recorded).isEqualTo(new ArchiveMetadata.Etcd("https://fake-etcd:2379", "3.4.99", 4242L,
        recorded.entry(), (long) etcd.snapshot.length,
        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(etcd.snapshot))));
    assertThat(f.said()).containsExactly(
        "started etcd ucp-kv: taking a snapshot from https://fake-etcd:2379",
        "done etcd ucp-kv: snapshot of 4.0 KiB at revision 4242, SHA-256 trailer checked");
    try (var left = Files.list(spool)) {
      assertThat(left.toList()).as("the clear snapshot is gone from the spool").isEqualTo(List.of());
    }
  }
}
