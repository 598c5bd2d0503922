package io.mkebackup.common.cluster;

import io.mkebackup.common.record.BackupRecord;
import io.vertx.core.json.JsonObject;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The catalog in this process's memory, with the contracts of {@link HazelcastBackupCatalog}:
 * records are stored as the cluster stores them (their stored JSON), so {@link #replace} is the
 * same compare-and-set on the whole value (a FAILED record never becomes SUCCESS behind a racing
 * reaper's back, one of several racing callers wins); {@link #list} is newest first, then by id;
 * a value that cannot be read is skipped, logged once and counted; {@link #remove} takes the
 * contents with the record; {@link #failOrphans} is the interface's, as for the cluster. A view
 * started by {@link #startView} follows every change synchronously. Thread-safe. For tests of the
 * logic above the catalog (backup runs, the scheduler, the chores, the API).
 *
 * <p>What it does not model: Hazelcast itself (members, the synchronous backup copy, partitions,
 * merges after a split and the view's reloads after them, the seal on values), the disk mirror
 * (its start-up merge where a finished state wins over IN_PROGRESS, its tombstones: a removal
 * here is final because there is no other copy to bring the record back, and mirror files that
 * cannot be read are not counted in {@link #unreadable()}).
 */
public final class InMemoryBackupCatalog implements BackupCatalog {
  private final ConcurrentMap<String, String> map = new ConcurrentSkipListMap<>();
  private final ConcurrentMap<String, String> contents = new ConcurrentSkipListMap<>();
  private final Unreadable unreadable = new Unreadable("backup record");
  private volatile CatalogView view;

  @Override
  public void putContents(String id, JsonObject listing) {
    contents.put(id, listing.encode());
  }

  @Override
  public Optional<JsonObject> contents(String id) {
    return unreadable.json(id + " (contents)", contents.get(id));
  }

  @Override
  public void removeContents(String id) {
    contents.remove(id);
  }

  @Override
  public synchronized void remove(String id) {
    contents.remove(id);
    map.remove(id);
    changed(id, null);
  }

  @Override
  public synchronized void put(BackupRecord record) {
    putStored(record.id(), record.toStoredJson().encode());
  }

  /**
   * Stores a value as it is, as the cluster may hold one another version or a damaged mirror
   * wrote: for tests of what the callers do with a record that cannot be read.
   */
  public synchronized void putStored(String id, String json) {
    map.put(id, json);
    changed(id, json);
  }

  @Override
  public Optional<BackupRecord> get(String id) {
    String v = map.get(id);
    return v == null ? Optional.empty() : Optional.ofNullable(parse(id, v));
  }

  /** Completed already: there is no cluster to wait for. */
  @Override
  public CompletionStage<Optional<BackupRecord>> getAsync(String id) {
    return CompletableFuture.completedFuture(get(id));
  }

  /**
   * Starts the sorted view (as {@link HazelcastBackupCatalog#startView()} does on a member); it
   * follows each later change before the change returns.
   */
  public synchronized CatalogView startView() {
    CatalogView v = new CatalogView(this::parse, r -> r.toDetailsJson().encode());
    map.forEach(v::put);
    view = v;
    return v;
  }

  @Override
  public CatalogView view() {
    return view;
  }

  @Override
  public List<BackupRecord> list() {
    List<BackupRecord> out = unreadable.readAll(map.entrySet(), this::parse);
    out.sort(Comparator.comparing(BackupRecord::createdAt).reversed().thenComparing(BackupRecord::id));
    return out;
  }

  /** As the cluster's: those the view leaves out, or (without a view) those the last list skipped. */
  @Override
  public int unreadable() {
    CatalogView v = view;
    return v == null ? unreadable.count() : v.unreadable();
  }

  @Override
  public synchronized boolean replace(BackupRecord current, BackupRecord next) {
    String to = next.toStoredJson().encode();
    if (!map.replace(current.id(), current.toStoredJson().encode(), to)) {
      return false;
    }
    changed(current.id(), to);
    return true;
  }

  private BackupRecord parse(String id, String json) {
    return unreadable.read(id, json, BackupRecord::fromStoredJson, BackupRecord::id, r -> { });
  }

  /** The view follows the map; under this object's lock, so changes reach it in order. */
  private void changed(String id, String value) {
    CatalogView v = view;
    if (v == null) {
      return;
    }
    if (value == null) {
      v.remove(id);
    } else {
      v.put(id, value);
    }
  }
}
