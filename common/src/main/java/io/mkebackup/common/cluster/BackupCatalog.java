package io.mkebackup.common.cluster;

import io.mkebackup.common.io.Storage;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.logging.Logger;

/**
 * Every backup of the cluster, as the backup runs, the scheduler, the chores and the API use it:
 * records by id, and each finished backup's contents. Two implementations:
 * {@link HazelcastBackupCatalog} (the cluster's, with a backup copy and each member's disk
 * mirror) and {@link InMemoryBackupCatalog} (one process, for tests of the logic above it). Calls
 * may block on the cluster: use them off the event loop, except {@link #getAsync}.
 */
public interface BackupCatalog {
  /** Most entries kept per backup for "contents"; a larger backup's list is cut there (and says so). */
  int MAX_CONTENT_ENTRIES = 50_000;

  /**
   * Keeps a finished backup's entries (path, type, size, SHA-256), from its metadata entry, so
   * they can be shown without the passphrase. {@code {"entries": [...], "truncated": bool}}.
   */
  void putContents(String id, JsonObject listing);

  /** A backup's contents, or empty when there are none or they cannot be read. */
  Optional<JsonObject> contents(String id);

  /** Drops a backup's contents: its archive was removed, or its record is. */
  void removeContents(String id);

  /**
   * Removes a backup's record and its contents from the history, for good: ids are never reused,
   * and a member that missed the removal does not bring the record back.
   */
  void remove(String id);

  /** Adds or overwrites a record (by id). */
  void put(BackupRecord record);

  /** The record, or empty when there is none or it cannot be read (logged once, counted). */
  Optional<BackupRecord> get(String id);

  /**
   * As {@link #get}, without holding a thread while the cluster answers: for the event loop (the
   * returned stage may complete on another thread).
   */
  CompletionStage<Optional<BackupRecord>> getAsync(String id);

  /** This member's sorted local copy of the catalog, once started, or null. */
  CatalogView view();

  /**
   * Every backup, newest first (then by id). A record that cannot be read is skipped, logged once
   * with its id and counted ({@link #unreadable()}): one bad entry never fails the list.
   */
  List<BackupRecord> list();

  /** Records that cannot be read (see the implementation for which it counts). */
  int unreadable();

  /**
   * Replaces the record only if the catalog still holds exactly {@code current} (compare-and-set
   * on the whole stored value), so that members racing to change the same record (mark an orphan
   * FAILED, record a success) change it once.
   */
  boolean replace(BackupRecord current, BackupRecord next);

  /**
   * Marks FAILED every IN_PROGRESS backup whose owner is not alive, and removes the temporary
   * files it left in its backup directory (shared storage, so any member can). Each change is a
   * {@link #replace}, so of members racing on one orphan exactly one changes it (and removes its
   * files).
   *
   * @param alive whether an owner (member or client UUID) is still in the cluster
   * @param why the short error for a record, naming its node
   * @return the records this call changed
   */
  default List<BackupRecord> failOrphans(Predicate<BackupRecord> alive, Function<BackupRecord, String> why) {
    List<BackupRecord> changed = new ArrayList<>();
    for (BackupRecord r : list()) {
      if (r.state() != BackupState.IN_PROGRESS || alive.test(r)) {
        continue;
      }
      BackupRecord failed = r.failed(why.apply(r));
      if (replace(r, failed)) {
        changed.add(failed);
        if (!r.backupPath().isEmpty()) {
          List<Path> removed = Storage.removeLeftovers(Path.of(r.backupPath()), r.id());
          Logger.getLogger(BackupCatalog.class.getName())
              .info("backup " + r.id() + " marked FAILED (" + failed.shortError() + "); removed " + removed);
        }
      }
    }
    return changed;
  }
}
