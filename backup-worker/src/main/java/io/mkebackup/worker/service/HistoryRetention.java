package io.mkebackup.worker.service;

import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Keeps the catalog's history bounded (it lives in the cluster, its backup copy and every
 * member's mirror): records older than the policy's age, or beyond its newest N, go with their
 * contents. A record whose archive is still on disk stays unless the policy says otherwise, so
 * the history never forgets a backup one could still restore. Running backups always stay.
 */
public final class HistoryRetention implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(HistoryRetention.class.getName());

  /**
   * @param maxAge records created longer ago than this go
   * @param maxRecords only this many newest records stay
   * @param evenWithArchive also drop records whose archive still exists
   */
  public record Policy(Duration maxAge, int maxRecords, boolean evenWithArchive) {
    public static final Policy DEFAULT = new Policy(Duration.ofDays(90), 10_000, false);
  }

  private final BackupCatalog catalog;
  private final Policy policy;
  private final BooleanSupplier inCharge;
  private Chore chore;

  /**
   * @param inCharge whether this member prunes now: one member of a cluster with a majority does
   */
  public HistoryRetention(BackupCatalog catalog, Policy policy, BooleanSupplier inCharge) {
    this.catalog = catalog;
    this.policy = policy;
    this.inCharge = inCharge;
  }

  /** Prunes a minute after start, then every hour. */
  public synchronized void start(Vertx vertx) {
    chore = new Chore(vertx, "mke-backup-history", () -> {
      try {
        if (inCharge.getAsBoolean()) {
          prune(Instant.now());
        }
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "catalog history retention: " + e.getMessage(), e);
      }
    });
    chore.every(Duration.ofMinutes(1), Duration.ofMinutes(60));
  }

  /** One pass; returns the records it removed. */
  public List<BackupRecord> prune(Instant now) {
    List<BackupRecord> removed = new ArrayList<>();
    List<BackupRecord> all = catalog.list(); // newest first
    Instant oldest = now.minus(policy.maxAge());
    for (int i = 0; i < all.size(); i++) {
      BackupRecord r = all.get(i);
      if (r.state() == BackupState.IN_PROGRESS) {
        continue;
      }
      boolean old = r.createdAt().isBefore(oldest);
      boolean beyond = i >= policy.maxRecords();
      if (!old && !beyond || !policy.evenWithArchive() && archiveExists(r)) {
        continue;
      }
      catalog.remove(r.id());
      removed.add(r);
    }
    if (!removed.isEmpty()) {
      LOG.info("catalog history retention (" + policy.maxRecords() + " records, " + policy.maxAge().toDays()
          + " days) removed " + removed.size() + " records: " + removed.stream().map(BackupRecord::id).toList());
    }
    return removed;
  }

  static boolean archiveExists(BackupRecord r) {
    if (r.state() != BackupState.SUCCESS || r.fileName().isEmpty() || r.backupPath().isEmpty() || r.prunedAt() != null) {
      return false;
    }
    try {
      return Files.exists(Path.of(r.backupPath()).resolve(r.fileName()));
    } catch (InvalidPathException e) {
      return false;
    }
  }

  @Override
  public synchronized void close() {
    if (chore != null) {
      chore.close();
    }
  }
}
