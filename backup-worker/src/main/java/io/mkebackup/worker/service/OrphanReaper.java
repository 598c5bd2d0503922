package io.mkebackup.worker.service;

import com.hazelcast.client.Client;
import com.hazelcast.client.ClientListener;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.HazelcastBackupCatalog;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.common.record.BackupRecord;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Marks FAILED the backups whose member (or CLI client) is gone: when one leaves or dies, and at
 * start-up for backups that were running when the cluster stopped. Every member does it; the
 * catalog's compare-and-set makes one of them win. Removes the dead backup's temporary files.
 */
public final class OrphanReaper implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(OrphanReaper.class.getName());

  private final HazelcastInstance hazelcast;
  private final Supplier<Set<String>> alive;
  private final BackupCatalog catalog;
  private final ProgressListener publisher;
  private final BooleanSupplier hasMajority;
  private final java.util.function.Predicate<String> lockHeldFor;
  private final Runnable thaw;
  /** After the client cleanup timeout set in ClusterSettings (5 s), with a margin. */
  static final long CLIENT_LOCK_FREED_AFTER_SECONDS = 8;
  private volatile Chore chore;
  /** Whether the last pass left a record of an owner it cannot see because the lock names it. */
  private volatile boolean spared;
  private final java.util.concurrent.atomic.AtomicLong passes = new java.util.concurrent.atomic.AtomicLong();
  static final long RETRY_SECONDS = 10;
  /** How soon a pass that found no majority looks again. */
  static final Duration MAJORITY_RETRY = Duration.ofSeconds(2);
  /** Whether the last pass found no majority (it is then repeated until one is seen). */
  private volatile boolean waitingForMajority;

  /**
   * @param hasMajority whether this member sees a majority of the configured managers: on the
   *     minority side of a partition the "dead" members are alive on the other side, running
   *     their backups into the shared directory, so nothing is reaped there
   * @param lockHeldFor whether the cluster's backup lock is held for this backup id: a CLI client
   *     is connected to some members only (or not yet again to one that restarted), so a backup
   *     whose owner this member does not see is still alive while its lock is held; Hazelcast
   *     frees a departed client's lock a few seconds after it goes, and the reaper looks again then
   */
  public OrphanReaper(HazelcastInstance hazelcast, BackupCatalog catalog, ProgressListener publisher,
      BooleanSupplier hasMajority, java.util.function.Predicate<String> lockHeldFor) {
    this(hazelcast, catalog, publisher, hasMajority, lockHeldFor, () -> {});
  }

  /**
   * @param thaw run at each pass, before the catalog: unpauses what a backup of this manager that
   *     died left paused (its dead man's switch should have already)
   */
  public OrphanReaper(HazelcastInstance hazelcast, BackupCatalog catalog, ProgressListener publisher,
      BooleanSupplier hasMajority, java.util.function.Predicate<String> lockHeldFor, Runnable thaw) {
    this(hazelcast, () -> alive(hazelcast), catalog, publisher, hasMajority, lockHeldFor, thaw);
  }

  /**
   * @param hazelcast whose departures {@link #start} follows; null when the reaper is only asked
   *     for passes ({@link #reap}), as in unit tests
   * @param alive the owners (member and client UUIDs) alive now, asked at each pass
   */
  OrphanReaper(HazelcastInstance hazelcast, Supplier<Set<String>> alive, BackupCatalog catalog,
      ProgressListener publisher, BooleanSupplier hasMajority, java.util.function.Predicate<String> lockHeldFor,
      Runnable thaw) {
    this.thaw = thaw;
    this.hazelcast = hazelcast;
    this.alive = alive;
    this.catalog = catalog;
    this.publisher = publisher;
    this.hasMajority = hasMajority;
    this.lockHeldFor = lockHeldFor;
  }

  /** Listens for departures and reaps what is already orphaned, on a worker pool of its own. */
  public void start(Vertx vertx) {
    chore = new Chore(vertx, "mke-backup-reaper", () -> {
      try {
        reap();
        if (waitingForMajority) {
          // No majority yet (at start-up, peers prove they hold the secret a moment after joining;
          // in a partition, until it heals): no membership change may come to look again.
          chore.runAfter(MAJORITY_RETRY);
        } else if (spared) {
          // A record was spared only because the lock still named it: look again until the lock
          // is freed or its backup ends (Hazelcast frees a departed client's lock after ~5-6 s).
          chore.runAfter(Duration.ofSeconds(RETRY_SECONDS));
        }
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "cannot check for abandoned backups: " + e.getMessage() + "; trying again in "
            + RETRY_SECONDS + " s", e);
        chore.runAfter(Duration.ofSeconds(RETRY_SECONDS));
      }
    });
    hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {
        LOG.info("member " + e.getMember().getAttribute(ClusterSettings.NODE_ATTRIBUTE) + " joined; " + members(e));
      }

      @Override
      public void memberRemoved(MembershipEvent e) {
        LOG.info("member " + e.getMember().getAttribute(ClusterSettings.NODE_ATTRIBUTE) + " (" + e.getMember().getUuid()
            + ") left the cluster; " + members(e));
        chore.runSoon();
        // In case the departed member's lock was not yet freed at the first look.
        chore.runAfter(Duration.ofSeconds(CLIENT_LOCK_FREED_AFTER_SECONDS));
      }
    });
    hazelcast.getClientService().addClientListener(new ClientListener() {
      @Override
      public void clientConnected(Client client) {
        // nothing to reap
      }

      @Override
      public void clientDisconnected(Client client) {
        chore.runSoon();
        // Its lock is freed once the client cleanup timeout (5 s) has passed.
        chore.runAfter(Duration.ofSeconds(CLIENT_LOCK_FREED_AFTER_SECONDS));
      }
    });
    chore.runSoon();
  }

  /** The proven members' and the connected clients' UUIDs: the owners whose backups are alive. */
  static Set<String> alive(HazelcastInstance hazelcast) {
    Set<String> alive = new HashSet<>(HazelcastBackupCatalog.memberIds(hazelcast));
    hazelcast.getClientService().getConnectedClients().forEach(c -> alive.add(c.getUuid().toString()));
    return alive;
  }

  /** "cluster members: 3 [a, b, c]", as logged on every change. */
  static String members(MembershipEvent e) {
    return "cluster members: " + e.getMembers().size() + " " + e.getMembers().stream()
        .map(m -> String.valueOf(m.getAttribute(ClusterSettings.NODE_ATTRIBUTE))).sorted().toList();
  }

  /** One pass; returns the records it marked FAILED. */
  public List<BackupRecord> reap() {
    thaw.run(); // this node's own containers: whatever the cluster's majority
    if (!hasMajority.getAsBoolean()) {
      if (!waitingForMajority) {
        LOG.info("not checking for abandoned backups: this member does not see a majority of the managers;"
            + " looking again every " + MAJORITY_RETRY.toSeconds() + " s");
      }
      waitingForMajority = true;
      passes.incrementAndGet();
      return List.of();
    }
    waitingForMajority = false;
    Set<String> alive = this.alive.get();
    boolean[] sparedNow = {false};
    List<BackupRecord> failed = catalog.failOrphans(r -> {
      if (alive.contains(r.ownerMember())) {
        return true;
      }
      boolean held = lockHeldFor.test(r.id());
      sparedNow[0] |= held;
      return held;
    },
        r -> "node " + r.nodeLocation()
        + " left the cluster while the backup was running (its process stopped or lost contact);"
        + " the backup is incomplete and its temporary file was removed");
    spared = sparedNow[0];
    for (BackupRecord r : failed) {
      publisher.onEvent(r.terminalEvent());
    }
    passes.incrementAndGet();
    return failed;
  }

  /** Passes completed so far (what a test waits on instead of a time window). */
  long passes() {
    return passes.get();
  }

  /** Whether the last pass spared a record only because the lock was held for it. */
  boolean spared() {
    return spared;
  }

  @Override
  public void close() {
    Chore c = chore;
    if (c != null) {
      c.close();
    }
  }
}
