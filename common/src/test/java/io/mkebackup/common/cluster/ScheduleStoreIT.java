package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.schedule.Schedule;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schedules on two real Hazelcast members on loopback, each mirroring them to a directory of its
 * own: a schedule deleted while a member is down stays deleted when that member comes back, also
 * when the cluster restarts and the stale member starts first.
 */
@Tag("integration")
class ScheduleStoreIT {
  @TempDir
  Path dirA;
  @TempDir
  Path dirB;
  final String cluster = "schedules-" + UUID.randomUUID();
  final ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"));
  final int portA = freePort();
  final int portB = freePort();
  final List<HazelcastInstance> started = new ArrayList<>();

  @AfterEach
  void stop() {
    started.forEach(HazelcastInstance::shutdown);
  }

  @Test
  void aScheduleDeletedWhileAMemberIsDownStaysDeleted() throws IOException {
    Schedule kept = schedule();
    Schedule doomed = schedule();
    ScheduleStore storeA = twoMembersThenBStops(kept, doomed);
    assertThat(storeA.delete(doomed.id())).isTrue();
    assertThat(storeA.delete(doomed.id())).as("a second delete finds nothing").isFalse();
    // The mirror follows the map through an entry listener, so its file goes shortly after.
    await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dirA.resolve(doomed.id() + ".json")));
    assertThat(Files.exists(dirB.resolve(doomed.id() + ".json"))).as("b was down: its stale copy").isTrue();

    // b comes back to the running cluster: its stale copy is not merged and is removed from its disk.
    HazelcastInstance b2 = member("b", portB);
    ScheduleStore storeB = store(b2, dirB);
    assertThat(storeB.get(doomed.id())).isEmpty();
    assertThat(storeB.list()).extracting(Schedule::id).containsExactly(kept.id());
    assertThat(Files.exists(dirB.resolve(doomed.id() + ".json"))).isFalse();
    assertThat(Files.exists(dirB.resolve(doomed.id() + ".deleted"))).isTrue();
  }

  @Test
  void aStaleMemberStartingFirstAfterAWholeClusterRestartLosesToTheTombstone() throws IOException {
    Schedule doomed = schedule();
    ScheduleStore storeA = twoMembersThenBStops(doomed);
    storeA.delete(doomed.id());
    stopMember(started.get(0));

    // The whole cluster restarts; b, which never heard of the delete, starts first and brings it back...
    HazelcastInstance b2 = member("b", portB);
    ScheduleStore storeB = store(b2, dirB);
    assertThat(storeB.get(doomed.id())).isPresent();
    // ...until a, which holds the tombstone, joins.
    HazelcastInstance a2 = member("a", portA);
    store(a2, dirA);
    assertThat(storeB.get(doomed.id())).isEmpty();
    await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dirB.resolve(doomed.id() + ".json")));
  }

  /**
   * The member that deletes has the tombstone on its disk when the delete returns: stopped right
   * after (the last member up, before a whole-cluster restart), it still knows of the delete.
   * Before, only the tombstone map's listener wrote it, a moment later, and a member stopped in
   * that moment brought the schedule back.
   */
  @Test
  void aDeleteIsOnTheDeletingMembersDiskWhenItReturns() throws Exception {
    HazelcastInstance a = member("a", portA);
    // Listeners of one key run one after another on one event thread: this one, added first,
    // holds up the mirror's own tombstone listener, as a busy member's event threads would.
    CountDownLatch release = new CountDownLatch(1);
    a.getMap(ClusterSettings.DELETED_SCHEDULE_MAP).addEntryListener(
        (com.hazelcast.map.listener.EntryAddedListener<Object, Object>) e -> {
          try {
            release.await(20, TimeUnit.SECONDS);
          } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
          }
        }, false);
    ScheduleStore storeA = store(a, dirA);
    Schedule doomed = schedule();
    storeA.put(doomed);
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(dirA.resolve(doomed.id() + ".json")));
    try {
      assertThat(storeA.delete(doomed.id())).isTrue();
      assertThat(dirA.resolve(doomed.id() + MapMirror.TOMBSTONE)).exists();
      assertThat(dirA.resolve(doomed.id() + ".json")).doesNotExist();
    } finally {
      release.countDown();
    }
  }

  /** Members a and b, each mirroring to its directory, hold the schedules; then b stops. */
  ScheduleStore twoMembersThenBStops(Schedule... schedules) throws IOException {
    HazelcastInstance a = member("a", portA);
    HazelcastInstance b = member("b", portB);
    ScheduleStore storeA = store(a, dirA);
    store(b, dirB);
    for (Schedule s : schedules) {
      storeA.put(s);
    }
    await().atMost(Duration.ofSeconds(10)).until(() ->
        java.util.Arrays.stream(schedules).allMatch(s -> Files.exists(dirB.resolve(s.id() + ".json"))));
    stopMember(b);
    return storeA;
  }

  HazelcastInstance member(String node, int port) {
    ClusterSettings s = new ClusterSettings(cluster, "127.0.0.1", port,
        List.of("127.0.0.1:" + portA, "127.0.0.1:" + portB), node + "-" + UUID.randomUUID());
    HazelcastInstance h = Hazelcast.newHazelcastInstance(s.memberConfig(trust));
    started.add(h);
    return h;
  }

  void stopMember(HazelcastInstance h) {
    h.shutdown();
    started.remove(h);
  }

  static ScheduleStore store(HazelcastInstance h, Path dir) throws IOException {
    HazelcastScheduleStore s = new HazelcastScheduleStore(h, dir);
    s.startMirroring();
    return s;
  }

  static Schedule schedule() {
    return new Schedule(UUID.randomUUID().toString(), "@every 1h", true, "/tmp", false, true, null, null, 2, null,
        Instant.now(), 0);
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
