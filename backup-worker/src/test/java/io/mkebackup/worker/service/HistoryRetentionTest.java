package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.InMemoryBackupCatalog;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link HistoryRetention#prune} on the in-memory catalog at an instant the test sets: which
 * records go (with their contents) and which stay. The catalog's removal on the cluster is
 * {@code HazelcastBackupCatalogContractIT}'s.
 */
class HistoryRetentionTest {
  static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");

  @TempDir
  Path backups;
  final BackupCatalog catalog = new InMemoryBackupCatalog();

  /** A record created {@code ago} before NOW, in this state; its archive written when asked. */
  BackupRecord record(String file, Duration ago, BackupState state, boolean archive) throws IOException {
    BackupRecord r = new BackupRecord(UUID.randomUUID().toString(), false, file, "", backups.toString(), state, "node",
        state == BackupState.FAILED ? "x" : "", NOW.minus(ago), state == BackupState.IN_PROGRESS ? null : NOW, "m",
        0, 0, 0, "api", 0, null);
    if (archive) {
      Files.writeString(backups.resolve(file), "an archive still on disk");
    }
    catalog.put(r);
    catalog.putContents(r.id(), new JsonObject().put("entries", List.of()));
    return r;
  }

  /**
   * One record under the policy "90 days, the newest 2": name, its state, how old (days), how
   * many newer records there are, whether its archive is on disk, whether the policy drops
   * records whose archive exists, whether it goes.
   */
  static Stream<Arguments> records() {
    return Stream.of(
        Arguments.of("recent", BackupState.SUCCESS, 1, 0, false, false, false),
        Arguments.of("older than maxAge", BackupState.SUCCESS, 100, 0, false, false, true),
        Arguments.of("exactly maxAge old", BackupState.SUCCESS, 90, 0, false, false, false),
        Arguments.of("old, its archive on disk", BackupState.SUCCESS, 100, 0, true, false, false),
        Arguments.of("old, its archive on disk, policy says even so", BackupState.SUCCESS, 100, 0, true, true, true),
        Arguments.of("old and FAILED, a file of its name on disk", BackupState.FAILED, 100, 0, true, false, true),
        Arguments.of("old and running", BackupState.IN_PROGRESS, 200, 0, false, true, false),
        Arguments.of("running, beyond the newest 2", BackupState.IN_PROGRESS, 1, 3, false, true, false),
        Arguments.of("the 2nd newest", BackupState.SUCCESS, 1, 1, false, false, false),
        Arguments.of("beyond the newest 2", BackupState.FAILED, 1, 2, false, false, true),
        Arguments.of("beyond the newest 2, its archive on disk", BackupState.SUCCESS, 1, 2, true, false, false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("records")
  void aRecordGoesWithItsContentsOnlyWhenThePolicySays(String name, BackupState state, int days, int newer,
      boolean archive, boolean evenWithArchive, boolean goes) throws IOException {
    BackupRecord r = record("subject.tar", Duration.ofDays(days), state, archive);
    for (int i = 0; i < newer; i++) {
      record("newer-" + i + ".tar", Duration.ofDays(days).minusMinutes(i + 1), BackupState.FAILED, false);
    }

    List<BackupRecord> removed = new HistoryRetention(catalog, new HistoryRetention.Policy(Duration.ofDays(90), 2,
        evenWithArchive), () -> true).prune(NOW);

    assertThat(removed.stream().anyMatch(x -> x.id().equals(r.id()))).isEqualTo(goes);
    assertThat(catalog.get(r.id()).isPresent()).isNotEqualTo(goes);
    assertThat(catalog.contents(r.id()).isPresent()).isNotEqualTo(goes);
  }

  @Test
  void aRecordWhoseArchiveItsScheduleRemovedGoesAtItsAge() throws IOException {
    BackupRecord r = record("pruned.tar", Duration.ofDays(100), BackupState.SUCCESS, true);
    catalog.put(r.pruned(NOW.minus(Duration.ofDays(99))));

    assertThat(new HistoryRetention(catalog, HistoryRetention.Policy.DEFAULT, () -> true).prune(NOW))
        .extracting(BackupRecord::id).containsExactly(r.id());
  }

  @Test
  void oldAndSurplusRecordsGoButNotWhileTheirArchiveExists() throws IOException {
    BackupRecord oldGone = record("old-gone.tar", Duration.ofDays(100), BackupState.SUCCESS, false);
    BackupRecord oldKept = record("old-kept.tar", Duration.ofDays(100), BackupState.SUCCESS, true);
    BackupRecord oldFailed = record("old-failed.tar", Duration.ofDays(95), BackupState.FAILED, false);
    BackupRecord recent1 = record("r1.tar", Duration.ofDays(3), BackupState.SUCCESS, false);
    BackupRecord recent2 = record("r2.tar", Duration.ofDays(2), BackupState.FAILED, false);
    BackupRecord recent3 = record("r3.tar", Duration.ofDays(1), BackupState.SUCCESS, false);
    BackupRecord running = record("run.tar", Duration.ofDays(200), BackupState.IN_PROGRESS, false);

    List<BackupRecord> removed = new HistoryRetention(catalog, new HistoryRetention.Policy(Duration.ofDays(90), 2,
        false), () -> true).prune(NOW);

    // Newest first: r3, r2, then r1 beyond the newest 2, then the old ones; the running one stays.
    assertThat(removed).extracting(BackupRecord::id).containsExactly(recent1.id(), oldFailed.id(), oldGone.id());
    assertThat(catalog.list()).extracting(BackupRecord::id)
        .containsExactly(recent3.id(), recent2.id(), oldKept.id(), running.id());

    // Asked to, it drops records whose archive exists too.
    new HistoryRetention(catalog, new HistoryRetention.Policy(Duration.ofDays(90), 2, true), () -> true).prune(NOW);
    assertThat(catalog.list()).extracting(BackupRecord::id).containsExactly(recent3.id(), recent2.id(), running.id());
    assertThat(catalog.contents(oldKept.id())).isEmpty();
  }
}
