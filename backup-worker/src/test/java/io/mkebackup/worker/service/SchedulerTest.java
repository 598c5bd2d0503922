package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.bus.BackupJob;
import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.cluster.InMemoryBackupCatalog;
import io.mkebackup.common.cluster.InMemoryScheduleStore;
import io.mkebackup.common.cluster.ScheduleStore;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.mkebackup.common.schedule.Schedule;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Scheduler#look} on the in-memory stores, at instants the test sets, with a stand-in for
 * the backup service ({@link StandInBackups}): which ticks fire, which are claimed, and what a
 * tick that cannot run leaves in the history. No cluster, no Docker engine; {@link
 * SchedulerLookTest} runs the same looks through the real service and lock on a Hazelcast member.
 */
class SchedulerTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final long HOUR = 3600;

  @TempDir
  Path base;
  Path backups;
  InMemoryScheduleStore schedules;
  InMemoryBackupCatalog catalog;
  StandInBackups service;
  Scheduler scheduler;

  @BeforeEach
  void stores() throws IOException {
    backups = base.toRealPath();
    schedules = new InMemoryScheduleStore();
    catalog = new InMemoryBackupCatalog();
    service = standIn();
    scheduler = new Scheduler(schedules, catalog, service);
  }

  StandInBackups standIn() {
    return new StandInBackups(new JobRules(List.of(backups), backups));
  }

  Schedule hourly(boolean paused, long lastTick) {
    Schedule s = new Schedule(UUID.randomUUID().toString(), "@every 1h", paused, backups.toString(), false, true,
        "nightly", null, null, null, T0, lastTick);
    schedules.put(s);
    return s;
  }

  static Instant at(long seconds) {
    return T0.plusSeconds(seconds);
  }

  static List<Instant> ticks(StandInBackups service) {
    return service.started.stream().map(j -> Instant.ofEpochMilli(j.tick())).toList();
  }

  /**
   * One look at one hourly schedule created at T0: name, paused, its lastTick (seconds after T0,
   * or -1 for none), whether this member sees a majority, when it looks (seconds after T0), the
   * tick that fires (or null), the lastTick the store holds after (seconds after T0, or -1).
   */
  static Stream<Arguments> looks() {
    long late = Scheduler.LATE.toSeconds();
    return Stream.of(
        Arguments.of("before the first tick", false, -1, true, HOUR / 2, null, -1),
        Arguments.of("just after the first tick", false, -1, true, HOUR + 1, HOUR, HOUR),
        Arguments.of("LATE after the tick: still fired", false, -1, true, HOUR + late, HOUR, HOUR),
        Arguments.of("later than LATE: claimed, skipped", false, -1, true, HOUR + late + 1, null, HOUR),
        Arguments.of("the tick fired already", false, HOUR, true, HOUR + 1, null, HOUR),
        Arguments.of("ticks missed: only the latest fires", false, HOUR, true, 3 * HOUR + 5, 3 * HOUR, 3 * HOUR),
        Arguments.of("paused", true, -1, true, HOUR + 1, null, -1),
        Arguments.of("no majority: nothing fired, nothing claimed", false, -1, false, HOUR + 1, null, -1));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("looks")
  void aLookFiresTheTickItShould(String name, boolean paused, long lastTick, boolean majority, long now, Long fires,
      long lastTickAfter) {
    Schedule s = hourly(paused, lastTick < 0 ? 0 : at(lastTick).toEpochMilli());
    service.majority = majority;

    scheduler.look(at(now));

    assertThat(ticks(service)).isEqualTo(fires == null ? List.of() : List.of(at(fires)));
    assertThat(schedules.get(s.id()).orElseThrow().lastTick())
        .isEqualTo(lastTickAfter < 0 ? 0 : at(lastTickAfter).toEpochMilli());
    if (fires != null) {
      BackupJob job = service.started.get(0);
      String stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(at(fires));
      assertThat(job.fileName()).isEqualTo("nightly-" + stamp + ".tar").matches(Scheduler.names(s));
      assertThat(job.origin()).isEqualTo(s.origin());
      assertThat(job.hostPath()).isEqualTo(backups);
      assertThat(job.passphrase()).isNull();
    }
  }

  @Test
  void twoSchedulersLookingAtOneStoreFireATickOnce() {
    Schedule s = hourly(false, 0);
    StandInBackups other = standIn();
    // The other member read the schedules before this one claimed the tick: only the claim can stop it.
    List<Schedule> readBefore = schedules.list();
    Scheduler late = new Scheduler(new ListedBefore(schedules, readBefore), catalog, other);

    scheduler.look(at(HOUR + 1));
    late.look(at(HOUR + 1));
    late.look(at(HOUR + 2));
    scheduler.look(at(HOUR + 2));

    assertThat(ticks(service)).containsExactly(at(HOUR));
    assertThat(ticks(other)).isEmpty();
    assertThat(schedules.get(s.id()).orElseThrow().lastTick()).isEqualTo(at(HOUR).toEpochMilli());
  }

  @Test
  void aTickThatFindsAnotherBackupRunningIsRecordedFailedAsSkipped() {
    Schedule s = hourly(false, 0);
    service.answer = job -> CompletableFuture.failedFuture(BackupLock.running(Optional.of(
        new JsonObject().put("backupId", "a-backup-the-test-runs").put("node", "node-2"))));

    scheduler.look(at(HOUR + 1));
    scheduler.look(at(HOUR + 2));

    assertThat(service.started).hasSize(1);
    BackupRecord r = catalog.list().get(0);
    assertThat(catalog.list()).hasSize(1);
    assertThat(r.state()).isEqualTo(BackupState.FAILED);
    assertThat(r.shortError()).startsWith("skipped: another backup is running").contains("a-backup-the-test-runs");
    assertThat(r.id()).isEqualTo(service.started.get(0).id());
    assertThat(r.origin()).isEqualTo(s.origin());
    assertThat(r.tick()).isEqualTo(at(HOUR).toEpochMilli());
    assertThat(r.fileName()).isEqualTo("nightly-20260101T010000Z.tar");
    assertThat(r.backupPath()).isEqualTo(backups.toString());
    assertThat(r.nodeLocation()).isEqualTo("node-1");
    assertThat(r.ownerMember()).isEqualTo("member-1");
  }

  /**
   * A manager stopping closes its scheduler, then stops taking jobs: close waits for the pass in
   * progress, so the tick it claimed has started its backup; no pass runs after.
   */
  @Test
  void closeWaitsForThePassInProgressAndNoPassRunsAfter() throws Exception {
    hourly(false, 0);
    java.util.concurrent.CountDownLatch starting = new java.util.concurrent.CountDownLatch(1);
    CompletableFuture<BackupRecord> accepted = new CompletableFuture<>();
    service.answer = job -> {
      starting.countDown();
      return accepted;
    };
    CompletableFuture<Void> pass = CompletableFuture.runAsync(() -> scheduler.pass(at(HOUR + 1)));
    assertThat(starting.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    CompletableFuture<Void> closing = CompletableFuture.runAsync(scheduler::close);
    org.awaitility.Awaitility.await().during(java.time.Duration.ofMillis(300))
        .atMost(java.time.Duration.ofSeconds(5)).until(() -> !closing.isDone());
    accepted.complete(service.running(service.started.get(0)));
    closing.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(pass).isDone();
    hourly(false, 0);
    scheduler.pass(at(HOUR + 2));
    assertThat(service.started).as("nothing claimed after close").hasSize(1);
  }

  @Test
  void aTickRefusedForAnotherReasonIsRecordedFailedWithThatReason() {
    hourly(false, 0);
    service.answer = job -> CompletableFuture.failedFuture(
        BackupException.invalid("hostPath", "hostPath is not under an allowed directory"));

    scheduler.look(at(HOUR + 1));

    assertThat(catalog.list()).singleElement().satisfies(r -> {
      assertThat(r.state()).isEqualTo(BackupState.FAILED);
      assertThat(r.shortError()).isEqualTo("hostPath is not under an allowed directory");
    });
  }

  @Test
  void aTickWithoutItsPassphraseFileIsRecordedFailedAndNoBackupStarts() {
    Schedule s = new Schedule(UUID.randomUUID().toString(), "@every 1h", false, backups.toString(), true, false,
        "nightly", null, null, null, T0, 0);
    schedules.put(s);

    scheduler.look(at(HOUR + 1));

    assertThat(service.started).isEmpty();
    assertThat(catalog.list()).singleElement().satisfies(r -> {
      assertThat(r.state()).isEqualTo(BackupState.FAILED);
      assertThat(r.shortError()).contains("passphraseFile");
      assertThat(r.encrypted()).isTrue();
      assertThat(r.logFileName()).isEqualTo("nightly-20260101T010000Z.log");
    });
    assertThat(schedules.get(s.id()).orElseThrow().lastTick()).as("claimed all the same").isEqualTo(
        at(HOUR).toEpochMilli());
  }

  @Test
  void oneSchedulesTroubleNeverStopsTheOthers() {
    schedules.putStored(UUID.randomUUID().toString(), "not json");
    Schedule broken = hourly(false, 0);
    Schedule fine = hourly(false, 0);
    service.answer = job -> {
      if (job.origin().equals(broken.origin())) {
        throw new IllegalStateException("the service broke");
      }
      return CompletableFuture.completedFuture(service.running(job));
    };

    scheduler.look(at(HOUR + 1));

    assertThat(service.started).extracting(BackupJob::origin).containsExactlyInAnyOrder(broken.origin(),
        fine.origin());
    assertThat(schedules.unreadable()).isEqualTo(1);
  }

  @Test
  void aSuccessfulTickPrunesTheSchedulesOlderBackupsAndAFailedOneDoesNot() throws IOException {
    Schedule s = new Schedule(UUID.randomUUID().toString(), "@every 1h", false, backups.toString(), false, true,
        "nightly", null, 1, null, T0, 0);
    schedules.put(s);
    BackupRecord older = success(s, "nightly-20260101T000000Z.tar", T0);
    service.ends = r -> r.failed("it broke");

    scheduler.look(at(HOUR + 1));
    assertThat(backups.resolve(older.fileName())).as("a failed run prunes nothing").exists();

    // Its successful run: the stand-in has not written it, the catalog holds it as BackupRun would.
    service.ends = r -> {
      BackupRecord done = r.succeeded(1, 1, 1);
      catalog.put(done);
      return done;
    };
    scheduler.look(at(2 * HOUR + 1));

    assertThat(backups.resolve(older.fileName())).doesNotExist();
    assertThat(catalog.get(older.id()).orElseThrow().prunedAt()).isNotNull();
  }

  BackupRecord success(Schedule s, String fileName, Instant at) throws IOException {
    Files.writeString(backups.resolve(fileName), "archive");
    BackupRecord r = new BackupRecord(UUID.randomUUID().toString(), false, fileName, "", backups.toString(),
        BackupState.SUCCESS, "node-1", "", at, at.plusSeconds(5), "m", 7, 1, 7, s.origin(), at.toEpochMilli(), null);
    catalog.put(r);
    return r;
  }

  /** A store whose list is the one read earlier (another member's look that began first). */
  record ListedBefore(ScheduleStore store, List<Schedule> listed) implements ScheduleStore {
    @Override
    public void put(Schedule s) {
      store.put(s);
    }

    @Override
    public Optional<Schedule> get(String id) {
      return store.get(id);
    }

    @Override
    public int unreadable() {
      return store.unreadable();
    }

    @Override
    public boolean delete(String id) {
      return store.delete(id);
    }

    @Override
    public List<Schedule> list() {
      return listed;
    }

    @Override
    public boolean claim(Schedule current, long tick) {
      return store.claim(current, tick);
    }
  }
}
