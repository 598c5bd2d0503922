package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.cluster.InMemoryBackupCatalog;
import io.mkebackup.common.cluster.InMemoryScheduleStore;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.mkebackup.common.schedule.Schedule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention against records that name files it must not touch (the records are genuine, as a
 * compromised manager would write them; the in-memory catalog holds them, the scheduler's
 * service is a stand-in that only gives this member's rules): only files in the schedule's
 * checked hostPath whose names are the schedule's own are removed.
 */
class SchedulerRetentionTest {
  @TempDir
  Path base;
  InMemoryBackupCatalog catalog;
  Scheduler scheduler;
  Path backups;
  Path canary;
  final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");

  @BeforeEach
  void start() throws IOException {
    backups = Files.createDirectories(base.resolve("backups")).toRealPath();
    canary = Files.createDirectories(base.resolve("canary")).toRealPath();
    catalog = new InMemoryBackupCatalog();
    scheduler = new Scheduler(new InMemoryScheduleStore(), catalog,
        new StandInBackups(new JobRules(List.of(backups), backups)));
  }

  Schedule schedule(Path hostPath) {
    return new Schedule(UUID.randomUUID().toString(), "@every 1h", false, hostPath.toString(), true, true, "nightly",
        null, 1, null, t0, 0);
  }

  /** A successful backup of the schedule, minutes after t0, its file (and log) created. */
  BackupRecord backup(Schedule s, int minutes, Path dir, String fileName, String logFileName) throws IOException {
    Files.writeString(dir.resolve(fileName), "archive");
    if (!logFileName.isEmpty() && !logFileName.contains("/")) {
      Files.writeString(dir.resolve(logFileName), "log");
    }
    Instant at = t0.plusSeconds(60L * minutes);
    BackupRecord r = new BackupRecord(UUID.randomUUID().toString(), false, fileName, logFileName, dir.toString(),
        BackupState.SUCCESS, "n", "", at, at.plusSeconds(5), "m", 7, 1, 7, s.origin(), at.toEpochMilli(), null);
    catalog.put(r);
    return r;
  }

  @Test
  void onlyTheSchedulesOwnNamesInItsOwnDirectoryAreRemoved() throws IOException {
    Schedule s = schedule(backups);
    Files.writeString(canary.resolve("victim.log"), "keep");
    BackupRecord outsideName = backup(s, 1, backups, "precious.tar", "");
    BackupRecord otherDir = backup(s, 2, canary, "nightly-20260101T000200Z.tar", "nightly-20260101T000200Z.log");
    BackupRecord badLog = backup(s, 3, backups, "nightly-20260101T000300Z.tar", "../canary/victim.log");
    BackupRecord old = backup(s, 4, backups, "nightly-20260101T000400Z.tar", "nightly-20260101T000400Z.log");
    BackupRecord newest = backup(s, 5, backups, "nightly-20260101T000500Z.tar", "nightly-20260101T000500Z.log");

    List<BackupRecord> pruned = scheduler.retention(s);

    assertThat(pruned).extracting(BackupRecord::id).containsExactly(old.id());
    assertThat(backups.resolve(old.fileName())).doesNotExist();
    assertThat(backups.resolve(old.logFileName())).doesNotExist();
    assertThat(backups.resolve(newest.fileName())).exists();
    assertThat(backups.resolve(outsideName.fileName())).exists();
    assertThat(canary.resolve(otherDir.fileName())).exists();
    assertThat(canary.resolve(otherDir.logFileName())).exists();
    assertThat(backups.resolve(badLog.fileName())).exists();
    assertThat(canary.resolve("victim.log")).exists();
  }

  @Test
  void aScheduleWhoseDirectoryIsOutsideTheAllowedRootsRemovesNothing() throws IOException {
    Schedule s = schedule(canary);
    BackupRecord old = backup(s, 1, canary, "nightly-20260101T000100Z.tar", "");
    backup(s, 2, canary, "nightly-20260101T000200Z.tar", "");
    assertThat(scheduler.retention(s)).isEmpty();
    assertThat(canary.resolve(old.fileName())).exists();
  }
}
