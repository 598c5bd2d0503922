package io.mkebackup.worker.run;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.progress.ProgressEvent.Kind;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.common.progress.Step;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.mkebackup.worker.backup.BackupResult;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A run's life with the work in the test's hands: what the catalog says while the work runs and
 * after it, which events go out in which order, and what a refused or overtaken run leaves. Run on
 * the in-memory lock and catalog ({@link BackupRunTest}) and on a real Hazelcast member's
 * ({@link BackupRunHazelcastIT}).
 */
abstract class BackupRunContract {
  BackupCatalog catalog;
  BackupLock lock;
  /** Each event with the state the catalog held for its backup when it went out. */
  final List<String> published = new CopyOnWriteArrayList<>();
  final List<String> metered = new CopyOnWriteArrayList<>();
  BackupRun run;

  /** Sets {@link #lock} and {@link #catalog}, empty. */
  abstract void stores() throws Exception;

  @BeforeEach
  void start() throws Exception {
    stores();
    ProgressListener publisher = e -> published.add(e.kind().id() + " with record "
        + catalog.get(e.backupId()).map(r -> r.state().name()).orElse("none"));
    run = new BackupRun(lock, catalog, publisher, new BackupRun.Meter() {
      @Override
      public void started(BackupRecord r) {
        metered.add("started " + r.state());
      }

      @Override
      public void finished(BackupRecord r) {
        metered.add("finished " + r.state());
      }
    });
  }

  static BackupRecord inProgress(String id) {
    return BackupRecord.inProgress(id, true, "b.tar", "", "/backups", "node-a", "member-a", "api");
  }

  static ProgressEvent event(String id, Kind kind) {
    return new ProgressEvent(id, kind, Step.FINALIZE, "", "", 0, 0, 0, 0, 0, Instant.now());
  }

  static BackupResult result(String id) {
    return new BackupResult(id, Path.of("/backups/b.tar"), null, 4096, 30, 20, 2048, Instant.now(), Instant.now(),
        List.of());
  }

  @Test
  void aSuccessIsRecordedBeforeItsTerminalEventGoesOut() {
    String id = UUID.randomUUID().toString();
    List<String> seenByWork = new CopyOnWriteArrayList<>();
    CompletableFuture<BackupRecord> accepted = new CompletableFuture<>();
    BackupRun.Outcome outcome = run.run(id, "node-a", () -> inProgress(id), accepted::complete, (fence, progress) -> {
      seenByWork.add("record " + catalog.get(id).orElseThrow().state() + ", lock held " + lock.heldBy(id)
          + ", accepted " + accepted.isDone());
      fence.check();
      progress.onEvent(event(id, Kind.DONE));
      progress.onEvent(event(id, Kind.SUCCEEDED));
      return result(id);
    });

    assertThat(seenByWork).containsExactly("record IN_PROGRESS, lock held true, accepted true");
    assertThat(published).containsExactly("done with record IN_PROGRESS", "succeeded with record SUCCESS");
    assertThat(metered).containsExactly("started IN_PROGRESS", "finished SUCCESS");
    assertThat(outcome.recorded()).isTrue();
    assertThat(outcome.failure()).isNull();
    BackupRecord saved = catalog.get(id).orElseThrow();
    assertThat(outcome.record().state()).isEqualTo(BackupState.SUCCESS);
    assertThat(saved.state()).isEqualTo(BackupState.SUCCESS);
    assertThat(saved.archiveBytes()).isEqualTo(4096);
    assertThat(saved.files()).isEqualTo(20);
    assertThat(lock.held()).as("lock freed").isFalse();
  }

  @Test
  void aFailingWorkIsRecordedFailedWithItsMessageAndTheRecordsTerminalEvent() {
    String id = UUID.randomUUID().toString();
    BackupException boom = new BackupException(ErrorCode.TARGET_FULL, "no space left in /backups", null);
    BackupRun.Outcome outcome = run.run(id, "node-a", () -> inProgress(id), r -> {}, (fence, progress) -> {
      progress.onEvent(event(id, Kind.STARTED));
      throw boom;
    });

    assertThat(outcome.failure()).isSameAs(boom);
    assertThat(outcome.record().state()).isEqualTo(BackupState.FAILED);
    assertThat(catalog.get(id).orElseThrow().shortError()).isEqualTo("no space left in /backups");
    assertThat(published).containsExactly("started with record IN_PROGRESS", "failed with record FAILED");
    assertThat(metered).containsExactly("started IN_PROGRESS", "finished FAILED");
    assertThat(lock.held()).isFalse();
  }

  @Test
  void anUnexpectedErrorIsRecordedAsAnInternalError() {
    String id = UUID.randomUUID().toString();
    BackupRun.Outcome outcome = run.run(id, "node-a", () -> inProgress(id), r -> {}, (fence, progress) -> {
      throw new IllegalStateException("stream closed");
    });

    assertThat(outcome.failure()).isInstanceOf(IllegalStateException.class);
    assertThat(catalog.get(id).orElseThrow().shortError())
        .isEqualTo("internal error: IllegalStateException: stream closed");
    assertThat(lock.held()).isFalse();
  }

  @Test
  void aSecondRunIsRefusedWhileOneRunsAndLeavesNoRecord() throws Exception {
    String first = UUID.randomUUID().toString();
    String second = UUID.randomUUID().toString();
    List<String> refusals = new CopyOnWriteArrayList<>();
    run.run(first, "node-a", () -> inProgress(first), r -> {}, (fence, progress) -> {
      // The lock belongs to the thread that runs the backup: another thread asks.
      CompletableFuture.runAsync(() -> {
        try {
          run.run(second, "node-b", () -> inProgress(second), r -> refusals.add("accepted"),
              (f, p) -> {
                refusals.add("work ran");
                return result(second);
              });
        } catch (BackupException e) {
          refusals.add(e.code() + ": " + e.getMessage());
        }
      }).join();
      return result(first);
    });

    assertThat(refusals).singleElement().asString().startsWith(ErrorCode.BACKUP_RUNNING.name()).contains(first);
    assertThat(catalog.get(second)).isEmpty();
    assertThat(catalog.get(first).orElseThrow().state()).isEqualTo(BackupState.SUCCESS);
  }

  @Test
  void aRunAnotherMemberAlreadyEndedKeepsTheirFailedAndPublishesNothingMore() {
    String id = UUID.randomUUID().toString();
    BackupRun.Outcome outcome = run.run(id, "node-a", () -> inProgress(id), r -> {}, (fence, progress) -> {
      // What the reaper of another member does to a run it believes dead.
      BackupRecord mine = catalog.get(id).orElseThrow();
      assertThat(catalog.replace(mine, mine.failed("its manager left the cluster"))).isTrue();
      progress.onEvent(event(id, Kind.SUCCEEDED));
      return result(id);
    });

    assertThat(outcome.recorded()).isFalse();
    assertThat(outcome.record().shortError()).isEqualTo("its manager left the cluster");
    assertThat(catalog.get(id).orElseThrow().state()).isEqualTo(BackupState.FAILED);
    assertThat(published).isEmpty();
    assertThat(lock.held()).isFalse();
  }
}
