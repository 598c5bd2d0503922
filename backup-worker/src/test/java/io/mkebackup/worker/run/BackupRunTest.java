package io.mkebackup.worker.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.cluster.BackupLease;
import io.mkebackup.common.cluster.InMemoryBackupCatalog;
import io.mkebackup.common.cluster.InMemoryBackupLock;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link BackupRunContract} on the in-memory lock and catalog (a unit test), and what only they
 * let a test arrange: a lease lost during the work, a member without a majority.
 */
class BackupRunTest extends BackupRunContract {
  InMemoryBackupLock memoryLock;

  @Override
  void stores() {
    memoryLock = new InMemoryBackupLock();
    lock = memoryLock;
    catalog = new InMemoryBackupCatalog();
  }

  /** How the work ends. */
  enum Ending { SUCCEEDS, FAILS, LOSES_ITS_LEASE, BREAKS, OVERTAKEN }

  /**
   * How the work ends, the state recorded, the start of its short error, whether this run
   * recorded it, the events published.
   */
  static Stream<Arguments> endings() {
    return Stream.of(
        Arguments.of(Ending.SUCCEEDS, BackupState.SUCCESS, "", true, List.of("succeeded with record SUCCESS")),
        Arguments.of(Ending.FAILS, BackupState.FAILED, "no space left", true, List.of("failed with record FAILED")),
        Arguments.of(Ending.LOSES_ITS_LEASE, BackupState.FAILED, "this manager lost the cluster's backup lock (paused",
            true, List.of("failed with record FAILED")),
        Arguments.of(Ending.BREAKS, BackupState.FAILED, "internal error: IllegalStateException", true,
            List.of("failed with record FAILED")),
        Arguments.of(Ending.OVERTAKEN, BackupState.FAILED, "its manager left", false, List.of()));
  }

  @ParameterizedTest(name = "the work {0}")
  @MethodSource("endings")
  void aRunRecordsHowItsWorkEndedAndFreesTheLock(Ending ending, BackupState state, String error, boolean recorded,
      List<String> events) {
    String id = UUID.randomUUID().toString();
    BackupRun.Outcome outcome = run.run(id, "node-a", () -> inProgress(id), r -> {}, (fence, progress) -> {
      switch (ending) {
        case FAILS -> throw new BackupException(ErrorCode.TARGET_FULL, "no space left in /backups");
        case LOSES_ITS_LEASE -> memoryLock.loseLease("paused for 9 s");
        case BREAKS -> throw new IllegalStateException("stream closed");
        case OVERTAKEN -> {
          BackupRecord mine = catalog.get(id).orElseThrow();
          catalog.replace(mine, mine.failed("its manager left the cluster"));
        }
        default -> { }
      }
      fence.check(); // what the archive's writer asks before its rename
      return result(id);
    });

    BackupRecord saved = catalog.get(id).orElseThrow();
    assertThat(saved.state()).isEqualTo(state);
    assertThat(saved.shortError()).startsWith(error);
    assertThat(outcome.record().state()).isEqualTo(state);
    assertThat(outcome.recorded()).isEqualTo(recorded);
    assertThat(published).isEqualTo(events);
    assertThat(metered).containsExactly("started IN_PROGRESS", "finished " + state);
    assertThat(lock.held()).as("lock freed").isFalse();
  }

  /** What refuses a run before it starts: nothing recorded, nothing run, nothing published. */
  enum Refusal { NO_MAJORITY, ANOTHER_BACKUP_RUNS, THE_RECORD_CANNOT_BE_MADE }

  static Stream<Arguments> refusals() {
    return Stream.of(
        Arguments.of(Refusal.NO_MAJORITY, ErrorCode.NO_MAJORITY, "the cluster has no majority", false),
        Arguments.of(Refusal.ANOTHER_BACKUP_RUNS, ErrorCode.BACKUP_RUNNING,
            "another backup is running (backup the-other on node node-b)", true),
        Arguments.of(Refusal.THE_RECORD_CANNOT_BE_MADE, ErrorCode.INTERNAL,
            "cannot record the backup in the cluster catalog: the catalog is down", false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusals")
  void aRefusedRunLeavesNothingBehind(Refusal refusal, ErrorCode code, String message, boolean stillHeld) {
    String id = UUID.randomUUID().toString();
    BackupLease other = null;
    switch (refusal) {
      case NO_MAJORITY -> memoryLock.majority(false);
      case ANOTHER_BACKUP_RUNS -> other = lock.acquire("the-other", "node-b");
      default -> { }
    }
    AtomicBoolean accepted = new AtomicBoolean();
    AtomicBoolean worked = new AtomicBoolean();

    assertThatThrownBy(() -> run.run(id, "node-a", () -> {
      if (refusal == Refusal.THE_RECORD_CANNOT_BE_MADE) {
        throw new IllegalStateException("the catalog is down");
      }
      return inProgress(id);
    }, r -> accepted.set(true), (fence, progress) -> {
      worked.set(true);
      return result(id);
    })).isInstanceOfSatisfying(BackupException.class, e -> {
      assertThat(e.code()).isEqualTo(code);
      assertThat(e.getMessage()).startsWith(message);
    });

    assertThat(catalog.get(id)).isEmpty();
    assertThat(accepted).isFalse();
    assertThat(worked).isFalse();
    assertThat(published).isEmpty();
    assertThat(metered).isEmpty();
    assertThat(lock.held()).isEqualTo(stillHeld);
    if (other != null) {
      assertThat(lock.heldBy("the-other")).as("the other's lock untouched").isTrue();
      other.release();
    }
    assertThat(lock.held()).isFalse();
  }
}
