package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.BackupLease;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import io.mkebackup.common.cluster.HazelcastBackupCatalog;
import io.mkebackup.common.cluster.HazelcastBackupLock;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The reaper on a real Hazelcast member: a backup whose owner this member cannot see (a CLI
 * client connected to other members, or not yet to this one after a restart) is left alone while
 * the cluster's backup lock is held for it, and marked FAILED once the lock is free.
 */
@Tag("integration")
class OrphanReaperIT {
  HazelcastInstance member;
  BackupCatalog catalog;
  BackupLock lock;

  @BeforeEach
  void start() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("reaper-" + UUID.randomUUID(), "127.0.0.1", port,
        List.of("127.0.0.1:" + port), "node-a").memberConfig(
        ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"))));
    catalog = new HazelcastBackupCatalog(member, null);
    lock = new HazelcastBackupLock(member);
  }

  @AfterEach
  void stop() {
    member.shutdown();
  }

  @Test
  void aBackupIsNotReapedWhileItsLockIsHeld() {
    String id = UUID.randomUUID().toString();
    String unseenClient = UUID.randomUUID().toString();
    catalog.put(BackupRecord.inProgress(id, true, "cli.tar", "", "", "node-b", unseenClient, "cli"));
    OrphanReaper reaper = new OrphanReaper(member, catalog, ProgressListener.NONE, () -> true, lock::heldBy);
    try {
      BackupLease lease = lock.acquire(id, "node-b");
      try {
        assertThat(reaper.reap()).as("reaped while its lock is held").isEmpty();
        assertThat(catalog.get(id).orElseThrow().state()).isEqualTo(BackupState.IN_PROGRESS);
      } finally {
        lease.release();
      }
      assertThat(reaper.reap()).extracting(BackupRecord::id).containsExactly(id);
      assertThat(catalog.get(id).orElseThrow().state()).isEqualTo(BackupState.FAILED);
    } finally {
      reaper.close();
    }
  }

  @Test
  void theLockOfAnotherBackupDoesNotKeepAnOrphanAlive() {
    String orphan = UUID.randomUUID().toString();
    catalog.put(BackupRecord.inProgress(orphan, true, "gone.tar", "", "", "node-b", UUID.randomUUID().toString(),
        "api"));
    OrphanReaper reaper = new OrphanReaper(member, catalog, ProgressListener.NONE, () -> true, lock::heldBy);
    BackupLease other = lock.acquire(UUID.randomUUID().toString(), "node-a");
    try {
      assertThat(reaper.reap()).extracting(BackupRecord::id).containsExactly(orphan);
    } finally {
      other.release();
      reaper.close();
    }
  }

  /**
   * Running, the reaper does not need another departure to look again: a backup it spared because
   * its lock was held is marked FAILED by itself once the lock is free.
   */
  @Test
  void aSparedBackupIsReapedOnceItsLockIsFreedWithoutAnotherTrigger() throws Exception {
    String id = UUID.randomUUID().toString();
    catalog.put(BackupRecord.inProgress(id, true, "cli.tar", "", "", "node-b", UUID.randomUUID().toString(), "cli"));
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    OrphanReaper reaper = new OrphanReaper(member, catalog, ProgressListener.NONE, () -> true, lock::heldBy);
    BackupLease lease = lock.acquire(id, "node-b");
    try {
      reaper.start(vertx);
      // Its first pass, at start, spares it.
      org.awaitility.Awaitility.await("the first pass").atMost(java.time.Duration.ofSeconds(30))
          .until(() -> reaper.passes() >= 1);
      assertThat(catalog.get(id).orElseThrow().state()).isEqualTo(BackupState.IN_PROGRESS);
      assertThat(reaper.spared()).as("spared because its lock is held").isTrue();
      lease.release();
      lease = null;
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(OrphanReaper.RETRY_SECONDS + 10))
          .until(() -> catalog.get(id).orElseThrow().state() == BackupState.FAILED);
    } finally {
      if (lease != null) {
        lease.release();
      }
      reaper.close();
      vertx.close();
    }
  }
  /**
   * Started before it sees a majority (after a restart of every manager, peers prove they hold the
   * secret a moment after they join), the reaper looks again by itself once it sees one: no
   * membership change comes to trigger it.
   */
  @Test
  void aReaperStartedWithoutAMajorityReapsOnceItSeesOneWithoutAnotherTrigger() throws Exception {
    String id = UUID.randomUUID().toString();
    catalog.put(BackupRecord.inProgress(id, true, "api.tar", "", "", "node-b", UUID.randomUUID().toString(), "api"));
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    java.util.concurrent.atomic.AtomicBoolean majority = new java.util.concurrent.atomic.AtomicBoolean(false);
    OrphanReaper reaper = new OrphanReaper(member, catalog, ProgressListener.NONE, majority::get, lock::heldBy);
    try {
      reaper.start(vertx);
      org.awaitility.Awaitility.await("the first pass").atMost(java.time.Duration.ofSeconds(30))
          .until(() -> reaper.passes() >= 1);
      assertThat(catalog.get(id).orElseThrow().state()).as("reaped without a majority")
          .isEqualTo(BackupState.IN_PROGRESS);
      majority.set(true);
      org.awaitility.Awaitility.await("reaped once a majority is seen")
          .atMost(OrphanReaper.MAJORITY_RETRY.plusSeconds(20))
          .until(() -> catalog.get(id).orElseThrow().state() == BackupState.FAILED);
    } finally {
      reaper.close();
      vertx.close();
    }
  }
}
