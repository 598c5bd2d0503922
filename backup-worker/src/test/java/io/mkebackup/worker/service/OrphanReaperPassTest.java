package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.cluster.InMemoryBackupCatalog;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One pass of {@link OrphanReaper#reap} on the in-memory catalog, the owners alive and the lock's
 * holder given by the test: which backups it marks FAILED, which it spares (and so looks at again),
 * what it publishes. No cluster; {@link OrphanReaperIT} follows real members and clients leaving.
 */
class OrphanReaperPassTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /**
   * One record and one pass: name, its state, whether its owner is alive, whether the lock is
   * held for it, whether this member sees a majority, whether it is marked FAILED, whether the
   * pass spared it only for the lock.
   */
  static Stream<Arguments> passes() {
    return Stream.of(
        Arguments.of("running, owner alive", BackupState.IN_PROGRESS, true, false, true, false, false),
        Arguments.of("running, owner gone", BackupState.IN_PROGRESS, false, false, true, true, false),
        Arguments.of("running, owner gone, lock still held for it", BackupState.IN_PROGRESS, false, true, true,
            false, true),
        Arguments.of("running, owner gone, no majority", BackupState.IN_PROGRESS, false, false, false, false, false),
        Arguments.of("finished, owner gone", BackupState.SUCCESS, false, false, true, false, false),
        Arguments.of("failed, owner gone", BackupState.FAILED, false, false, true, false, false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("passes")
  void aPassFailsOnlyTheBackupsOfOwnersThatAreGone(String name, BackupState state, boolean ownerAlive,
      boolean lockHeld, boolean majority, boolean failed, boolean spared) {
    InMemoryBackupCatalog catalog = new InMemoryBackupCatalog();
    BackupRecord r = new BackupRecord(UUID.randomUUID().toString(), false, "a.tar", "", "", state, "node-2",
        state == BackupState.FAILED ? "x" : "", T0, state == BackupState.IN_PROGRESS ? null : T0.plusSeconds(1),
        "owner", 0, 0, 0, "api", 0, null);
    catalog.put(r);
    List<ProgressEvent> published = new ArrayList<>();
    AtomicInteger thawed = new AtomicInteger();
    OrphanReaper reaper = new OrphanReaper(null, () -> ownerAlive ? Set.of("owner", "me") : Set.of("me"), catalog,
        published::add, () -> majority, id -> lockHeld && id.equals(r.id()), thawed::incrementAndGet);

    List<BackupRecord> changed = reaper.reap();

    BackupRecord now = catalog.get(r.id()).orElseThrow();
    assertThat(now.state()).isEqualTo(failed ? BackupState.FAILED : state);
    assertThat(changed).extracting(BackupRecord::id).isEqualTo(failed ? List.of(r.id()) : List.of());
    assertThat(published).hasSize(failed ? 1 : 0);
    if (failed) {
      assertThat(now.shortError()).startsWith("node node-2 left the cluster while the backup was running");
      assertThat(published.get(0)).satisfies(e -> {
        assertThat(e.backupId()).isEqualTo(r.id());
        assertThat(e.kind()).isEqualTo(ProgressEvent.Kind.FAILED);
        assertThat(e.message()).isEqualTo(now.shortError());
      });
    }
    assertThat(reaper.spared()).isEqualTo(spared);
    assertThat(thawed).as("this node's containers are thawed at every pass, majority or not").hasValue(1);
    assertThat(reaper.passes()).isEqualTo(1);
  }
}
