package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.BackupLease;
import io.mkebackup.common.cluster.InMemoryBackupCatalog;
import io.mkebackup.common.cluster.InMemoryBackupLock;
import io.mkebackup.common.cluster.InMemoryScheduleStore;
import io.mkebackup.common.cluster.ScheduleStore;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.schedule.Schedule;
import io.mkebackup.worker.backup.BackupConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Scheduler#look} on a clock the test sets, through the real {@link BackupService} and
 * {@link io.mkebackup.worker.run.BackupRun}, on the in-memory schedules, catalog and lock. The test
 * holds the backup lock, so every tick that fires is refused and recorded as a skipped FAILED
 * backup: no Docker engine is needed to see which ticks fire.
 */
class SchedulerLookTest {
  @TempDir
  Path backups;
  BackupCatalog catalog;
  ScheduleStore schedules;
  BackupService service;
  Scheduler scheduler;
  BackupLease running;
  final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");

  @BeforeEach
  void start() throws IOException {
    catalog = new InMemoryBackupCatalog();
    schedules = new InMemoryScheduleStore();
    InMemoryBackupLock lock = new InMemoryBackupLock();
    service = new BackupService(BackupConfig.defaults("n"), new JobRules(List.of(backups.toRealPath()),
        backups.toRealPath()), catalog, lock, () -> "m", e -> { });
    scheduler = new Scheduler(schedules, catalog, service);
    running = lock.acquire("a-backup-the-test-runs", "n");
  }

  @AfterEach
  void stop() {
    running.release();
    scheduler.close();
    service.close();
  }

  Schedule hourly(boolean paused) {
    Schedule s = new Schedule(UUID.randomUUID().toString(), "@every 1h", paused, backups.toString(), false, true,
        "nightly", null, null, null, t0, 0);
    schedules.put(s);
    return s;
  }

  List<String> fired(Schedule s) {
    return catalog.list().stream().filter(r -> r.origin().equals(s.origin()))
        .map(r -> Instant.ofEpochMilli(r.tick()) + " " + r.fileName() + " " + r.state()).toList();
  }

  @Test
  void aTickFiresOnceHoweverOftenItIsLookedAt() {
    Schedule s = hourly(false);
    scheduler.look(t0.plusSeconds(3600 + 1));
    scheduler.look(t0.plusSeconds(3600 + 2));

    assertThat(fired(s)).containsExactly("2026-01-01T01:00:00Z nightly-20260101T010000Z.tar FAILED");
    BackupRecord r = catalog.list().stream().filter(x -> x.origin().equals(s.origin())).findFirst().orElseThrow();
    assertThat(r.shortError()).startsWith("skipped: ").contains("a-backup-the-test-runs");
    assertThat(schedules.get(s.id()).orElseThrow().lastTick()).isEqualTo(t0.plusSeconds(3600).toEpochMilli());
  }

  @Test
  void aTickMissedByMoreThanLateIsClaimedButNotFired() {
    Schedule s = hourly(false);
    scheduler.look(t0.plusSeconds(3600).plus(Scheduler.LATE).plusSeconds(1));
    assertThat(fired(s)).isEmpty();
    assertThat(schedules.get(s.id()).orElseThrow().lastTick()).isEqualTo(t0.plusSeconds(3600).toEpochMilli());

    scheduler.look(t0.plusSeconds(2 * 3600 + 1));
    assertThat(fired(s)).containsExactly("2026-01-01T02:00:00Z nightly-20260101T020000Z.tar FAILED");
  }

  @Test
  void nothingFiresBeforeTheFirstTickNorForAPausedSchedule() {
    Schedule early = hourly(false);
    Schedule paused = hourly(true);
    scheduler.look(t0.plusSeconds(1800));
    assertThat(fired(early)).isEmpty();

    scheduler.look(t0.plusSeconds(3600 + 1));
    assertThat(fired(paused)).isEmpty();
    assertThat(schedules.get(paused.id()).orElseThrow().lastTick()).isZero();
    assertThat(fired(early)).hasSize(1);
  }
}
