package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.splitbrainprotection.SplitBrainProtectionException;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** What a job's failure becomes for the gateway that sent it. */
class BackupWorkerVerticleTest {
  @Test
  void aClusterCallRefusedForWantOfAMajorityIsNoMajorityNotInternal() {
    // As the cut-off Swarm node's worker failed a job it took before it knew it was cut off.
    BackupException e = BackupWorkerVerticle.asBackupError(new CompletionException(
        new SplitBrainProtectionException("Split brain protection exception: mke-backup-majority has failed!")));
    assertThat(e.code()).isEqualTo(ErrorCode.NO_MAJORITY);
    assertThat(e.getMessage()).startsWith("the cluster has no majority");
  }

  @Test
  void aBackupErrorStaysWhatItIsAndAnythingElseIsInternal() {
    BackupException running = new BackupException(ErrorCode.BACKUP_RUNNING, "another backup is running");
    assertThat(BackupWorkerVerticle.asBackupError(new CompletionException(running))).isSameAs(running);
    BackupException other = BackupWorkerVerticle.asBackupError(new IllegalStateException("boom"));
    assertThat(other.code()).isEqualTo(ErrorCode.INTERNAL);
    assertThat(other.getMessage()).isEqualTo("the worker failed: boom");
  }
}
