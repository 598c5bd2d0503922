package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.schedule.Schedule;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * What every {@link ScheduleStore} promises the scheduler and the API, run on each implementation
 * ({@link InMemoryScheduleStoreTest}, {@link HazelcastScheduleStoreContractIT}), so the
 * in-memory store the logic is unit-tested on keeps the cluster's contract.
 */
abstract class ScheduleStoreContract {
  final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");

  /** An empty store. */
  abstract ScheduleStore store();

  /** Stores a value as it is, bypassing {@link ScheduleStore#put} (what another version or a bad mirror left). */
  abstract void plant(String id, String stored);

  Schedule schedule(Instant createdAt) {
    return new Schedule(UUID.randomUUID().toString(), "@every 1h", false, "/backups", false, true, "nightly", null,
        null, null, createdAt, 0);
  }

  @Test
  void aTickIsClaimedOnceAndTheNextTickFromTheClaimedValue() {
    ScheduleStore store = store();
    Schedule s = schedule(t0);
    store.put(s);
    long tick = t0.plusSeconds(3600).toEpochMilli();

    assertThat(store.claim(s, tick)).isTrue();
    assertThat(store.claim(s, tick)).as("the same look again: its value is stale").isFalse();
    Schedule claimed = store.get(s.id()).orElseThrow();
    assertThat(claimed.lastTick()).isEqualTo(tick);
    assertThat(store.claim(claimed, tick + 3_600_000)).isTrue();
  }

  @Test
  void manyCallersRacingForOneTickWinItOnce() throws Exception {
    ScheduleStore store = store();
    Schedule s = schedule(t0);
    store.put(s);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<Boolean>> claims = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        claims.add(() -> store.claim(s, 42));
      }
      int won = 0;
      for (Future<Boolean> f : pool.invokeAll(claims)) {
        won += f.get() ? 1 : 0;
      }
      assertThat(won).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aClaimFailsWhenTheScheduleChangedOrWentSinceItWasRead() {
    ScheduleStore store = store();
    Schedule s = schedule(t0);
    store.put(s);
    Schedule paused = new Schedule(s.id(), s.cron(), true, s.hostPath(), s.includeLogs(), s.noPassphrase(),
        s.fileNamePrefix(), null, null, null, s.createdAt(), 0);
    store.put(paused);
    assertThat(store.claim(s, 1)).as("paused meanwhile").isFalse();
    assertThat(store.get(s.id()).orElseThrow()).isEqualTo(paused);

    assertThat(store.delete(s.id())).isTrue();
    assertThat(store.claim(paused, 1)).as("deleted meanwhile").isFalse();
    assertThat(store.get(s.id())).isEmpty();
  }

  @Test
  void deleteSaysWhetherThereWasOne() {
    ScheduleStore store = store();
    Schedule s = schedule(t0);
    store.put(s);
    assertThat(store.delete(s.id())).isTrue();
    assertThat(store.delete(s.id())).isFalse();
    assertThat(store.delete(UUID.randomUUID().toString())).isFalse();
    assertThat(store.list()).isEmpty();
  }

  @Test
  void listIsOldestFirstAndSkipsAndCountsWhatCannotBeRead() {
    ScheduleStore store = store();
    Schedule newer = schedule(t0.plusSeconds(60));
    Schedule older = schedule(t0);
    store.put(newer);
    store.put(older);
    String notJson = UUID.randomUUID().toString();
    plant(notJson, "not json");
    String badCadence = UUID.randomUUID().toString();
    plant(badCadence, schedule(t0).toJson().put("id", badCadence).put("cron", "every tuesday").encode());
    String otherId = UUID.randomUUID().toString();
    plant(otherId, schedule(t0).toJson().encode());

    assertThat(store.list()).containsExactly(older, newer);
    assertThat(store.unreadable()).isEqualTo(3);
    assertThat(store.get(notJson)).isEmpty();
    assertThat(store.get(badCadence)).isEmpty();
    assertThat(store.get(otherId)).as("a value naming another id").isEmpty();
  }
}
