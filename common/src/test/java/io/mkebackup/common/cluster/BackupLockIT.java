package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The backup lock on real Hazelcast members on loopback, three configured: a member that does not
 * see a majority cannot take it, a lease lives only while a majority confirms it, and a backup
 * frees only its own lock, only from its own thread.
 */
@Tag("integration")
class BackupLockIT {
  final String cluster = "lock-" + UUID.randomUUID();
  final List<Integer> ports = List.of(freePort(), freePort(), freePort());
  final List<HazelcastInstance> started = new ArrayList<>();
  final ExecutorService holder = Executors.newSingleThreadExecutor();
  final ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"));

  @AfterEach
  void stop() {
    holder.shutdownNow();
    started.forEach(HazelcastInstance::shutdown);
  }

  HazelcastInstance member(int i) {
    ClusterSettings s = new ClusterSettings(cluster, "127.0.0.1", ports.get(i),
        ports.stream().map(p -> "127.0.0.1:" + p).toList(), "node-" + i);
    HazelcastInstance h = Hazelcast.newHazelcastInstance(s.memberConfig(trust));
    started.add(h);
    return h;
  }

  /**
   * A member on its own loopback address (127.0.0.{i+2}), so that a test can cut it off without
   * cutting 127.0.0.1, which the other tests use.
   */
  HazelcastInstance memberAt(int i) {
    ClusterSettings s = new ClusterSettings(cluster, "127.0.0." + (i + 2), ports.get(i),
        java.util.stream.IntStream.range(0, 3).mapToObj(j -> "127.0.0." + (j + 2) + ":" + ports.get(j)).toList(),
        "node-" + i);
    HazelcastInstance h = Hazelcast.newHazelcastInstance(s.memberConfig(trust));
    started.add(h);
    return h;
  }

  /**
   * A manager cut off while another holds the lease (a host lost mid-backup), one that does not
   * own the lock key's partition: the two left are a majority, and the lease lives on. (A renewal
   * used to wait for the cut-off member's cancelled answer until the others dropped it, longer
   * than the lease's term.) The owner of the partition is another matter: every read of the lock
   * waits for it, so the lease runs out first (README, "How it behaves").
   */
  @Test
  void aLeaseOutlivesAManagerCutOffMidBackup() throws Exception {
    List<HazelcastInstance> m = List.of(memberAt(0), memberAt(1), memberAt(2));
    await().atMost(Duration.ofSeconds(30)).until(() -> MemberProof.provenMembers(m.get(0)).size() == 3
        && m.get(0).getPartitionService().isClusterSafe());
    java.util.function.Function<HazelcastInstance, String> address = h -> ((java.net.InetSocketAddress) h.getCluster()
        .getLocalMember().getSocketAddress()).getAddress().getHostAddress();
    String owner = ((java.net.InetSocketAddress) m.get(0).getPartitionService().getPartition(HazelcastBackupLock.KEY)
        .getOwner().getSocketAddress()).getAddress().getHostAddress();
    List<HazelcastInstance> others = m.stream().filter(h -> !address.apply(h).equals(owner)).toList();
    HazelcastInstance holder = others.get(0);
    String cutOff = address.apply(others.get(1));
    HazelcastBackupLock lock = new HazelcastBackupLock(holder, 3);
    BackupLease lease = onHolder(() -> lock.acquire("b1", "node-0"));
    assertThat(((java.net.InetSocketAddress) holder.getPartitionService().getPartition(HazelcastBackupLock.KEY)
        .getOwner().getSocketAddress()).getAddress().getHostAddress()).as("the owner has not moved").isEqualTo(owner);
    try (LoopbackCut cut = LoopbackCut.off(cutOff)) {
      long cutAt = System.nanoTime();
      await("the others drop the cut-off member").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
          .until(() -> !lease.valid() || holder.getCluster().getMembers().size() == 2);
      assertThat(lease.valid()).as("valid until the cut-off member (%s) was dropped, %.1f s after the cut", cutOff,
          (System.nanoTime() - cutAt) / 1e9).isTrue();
      await().during(BackupLease.TERM.plusSeconds(2)).atMost(BackupLease.TERM.plusSeconds(4)).until(lease::valid);
    }
    onHolder(() -> {
      lease.release();
      return null;
    });
  }

  /** Runs on the holder thread, the one that owns the lock (Hazelcast's locks belong to a thread). */
  <T> T onHolder(java.util.concurrent.Callable<T> call) throws Exception {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return call.call();
      } catch (Exception e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, holder).get();
  }

  @Test
  void oneMemberOfThreeConfiguredCannotTakeTheLockTwoCan() throws Exception {
    HazelcastInstance a = member(0);
    HazelcastBackupLock lock = new HazelcastBackupLock(a, 3);
    assertThat(lock.hasMajority()).isFalse();
    assertThatThrownBy(() -> onHolder(() -> lock.acquire("b1", "node-0")))
        .hasRootCauseInstanceOf(BackupException.class)
        .rootCause().satisfies(e -> assertThat(((BackupException) e).code()).isEqualTo(ErrorCode.NO_MAJORITY))
        .hasMessageContaining("1 of 3 configured managers");

    member(1);
    await().atMost(Duration.ofSeconds(30)).until(lock::hasMajority);
    BackupLease lease = onHolder(() -> lock.acquire("b1", "node-0"));
    await("split-brain protection sees the second member").atMost(Duration.ofSeconds(10)).ignoreExceptions()
        .until(() -> a.getMap(ClusterSettings.LOCK_MAP).get(HazelcastBackupLock.KEY) != null);
    assertThat(lock.holder()).hasValueSatisfying(h -> assertThat(h.getString("backupId")).isEqualTo("b1"));
    onHolder(() -> {
      lease.release();
      return null;
    });
    assertThat(lock.held()).isFalse();
  }

  @Test
  void hazelcastAppliesTheMapsSplitBrainProtectionToItsEntryLocks() {
    HazelcastInstance a = member(0);
    com.hazelcast.map.IMap<String, String> map = a.getMap(ClusterSettings.LOCK_MAP);
    assertThatThrownBy(() -> map.tryLock(HazelcastBackupLock.KEY))
        .isInstanceOf(com.hazelcast.splitbrainprotection.SplitBrainProtectionException.class);
    assertThatThrownBy(() -> map.isLocked(HazelcastBackupLock.KEY))
        .isInstanceOf(com.hazelcast.splitbrainprotection.SplitBrainProtectionException.class);
  }

  /**
   * The member's count says majority but the lock map's own protection refuses (as for a member cut
   * off a moment ago that does not know it yet; here, a lock told of one manager on a member
   * configured for three): NO_MAJORITY, not Hazelcast's exception.
   */
  @Test
  void theMapsOwnRefusalIsNoMajority() {
    HazelcastInstance a = member(0);
    HazelcastBackupLock lock = new HazelcastBackupLock(a, 1);
    assertThat(lock.hasMajority()).isTrue();
    assertThatThrownBy(() -> onHolder(() -> lock.acquire("b1", "node-0")))
        .hasRootCauseInstanceOf(BackupException.class)
        .rootCause().satisfies(e -> assertThat(((BackupException) e).code()).isEqualTo(ErrorCode.NO_MAJORITY))
        .hasMessageContaining("the cluster has no majority");
  }

  @Test
  void aLeaseLastsWhileAMajorityConfirmsItAndIsLostForGoodWhenNot() throws Exception {
    HazelcastInstance a = member(0);
    HazelcastInstance b = member(1);
    HazelcastBackupLock lock = new HazelcastBackupLock(a, 3);
    await().atMost(Duration.ofSeconds(30)).until(lock::hasMajority);
    BackupLease lease = onHolder(() -> lock.acquire("b1", "node-0"));
    // Renewed past its term by the other member's answers: valid all along.
    await().during(BackupLease.TERM.plusSeconds(2)).atMost(BackupLease.TERM.plusSeconds(4)).until(lease::valid);

    b.shutdown();
    started.remove(b);
    await("the lease is lost").atMost(BackupLease.TERM.plusSeconds(5)).until(() -> !lease.valid());
    assertThatThrownBy(lease::check).isInstanceOf(BackupException.class)
        .satisfies(e -> assertThat(((BackupException) e).code()).isEqualTo(ErrorCode.LEASE_LOST))
        .hasMessageContaining("stopped writing");
    // A majority again does not bring a lost lease back.
    member(1);
    await().atMost(Duration.ofSeconds(30)).until(lock::hasMajority);
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> !lease.valid());
  }

  /**
   * A member that counts a majority but whose lease the others do not confirm (as one cut off a
   * moment ago that owns the lock key): refused with NO_MAJORITY before the backup starts, the
   * lock freed. Here the other member's lease executor is kept busy, so its answer never comes.
   */
  @Test
  void aLockTheOthersDoNotConfirmIsFreedAndTheBackupRefused() throws Exception {
    HazelcastInstance a = member(0);
    HazelcastInstance b = member(1);
    HazelcastBackupLock lock = new HazelcastBackupLock(a, 3);
    await().atMost(Duration.ofSeconds(30)).until(lock::hasMajority);
    try (BusyLeaseExecutor busy = BusyLeaseExecutor.on(a, b.getCluster().getLocalMember())) {
      long start = System.nanoTime();
      assertThatThrownBy(() -> onHolder(() -> lock.acquire("b1", "node-0")))
          .rootCause().isInstanceOf(BackupException.class)
          .satisfies(e -> assertThat(((BackupException) e).code()).isEqualTo(ErrorCode.NO_MAJORITY))
          .hasMessageContaining("did not confirm")
          .hasMessageContaining("0 of the 1 other managers needed confirmed it");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
      assertThat(lock.held()).as("the unconfirmed lock was freed").isFalse();
    }
    // Answered again: the same backup takes the lock.
    BackupLease lease = onHolder(() -> lock.acquire("b1", "node-0"));
    assertThat(lease.valid()).isTrue();
    onHolder(() -> {
      lease.release();
      return null;
    });
    assertThat(lock.held()).isFalse();
  }

  @Test
  void aBackupFreesOnlyItsOwnLockAndOnlyFromItsOwnThread() throws Exception {
    HazelcastInstance a = member(0);
    member(1);
    HazelcastBackupLock lock = new HazelcastBackupLock(a, 3);
    await().atMost(Duration.ofSeconds(30)).until(lock::hasMajority);
    BackupLease mine = onHolder(() -> lock.acquire("mine", "node-0"));

    // Another backup's release, and this backup's release from another thread, leave it held.
    new HazelcastBackupLease(lock, "someone-else").release();
    assertThat(lock.holder()).hasValueSatisfying(h -> assertThat(h.getString("backupId")).isEqualTo("mine"));
    CompletableFuture.runAsync(mine::release).get();
    assertThat(lock.holder()).hasValueSatisfying(h -> assertThat(h.getString("backupId")).isEqualTo("mine"));
    // (From another thread: Hazelcast's locks are reentrant for the thread that holds them.)
    assertThatThrownBy(() -> CompletableFuture.supplyAsync(() -> lock.acquire("other", "node-0")).get())
        .rootCause().hasMessageContaining("another backup is running (backup mine on node node-0)");
  }

  @Test
  void aLeaseWhoseLockNamesAnotherBackupIsLost() throws Exception {
    HazelcastInstance a = member(0);
    member(1);
    HazelcastBackupLock lock = new HazelcastBackupLock(a, 3);
    await().atMost(Duration.ofSeconds(30)).until(lock::hasMajority);
    BackupLease lease = onHolder(() -> lock.acquire("b1", "node-0"));
    // As if the others had failed it and another backup had taken the lock.
    onHolder(() -> {
      SealedMap.of(a, ClusterSettings.LOCK_MAP).set(HazelcastBackupLock.KEY, "{\"backupId\": \"b2\", \"node\": \"x\"}");
      return null;
    });
    await().atMost(Duration.ofSeconds(5)).until(() -> !lease.valid());
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
