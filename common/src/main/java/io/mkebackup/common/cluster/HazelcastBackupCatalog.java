package io.mkebackup.common.cluster;

import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.Threads;
import io.mkebackup.common.record.BackupRecord;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Every backup of the cluster: a Hazelcast map (with a synchronous backup copy on another member)
 * that each member also mirrors to its own disk, one JSON file per backup, so the catalog survives
 * the loss of any member and a restart of the whole cluster. Calls block (Hazelcast round trips,
 * disk): use them off the event loop.
 */
public final class HazelcastBackupCatalog implements BackupCatalog {
  // The name it logged under before the catalog became an interface: log lines and filters keep it.
  private static final Logger LOG = Logger.getLogger(BackupCatalog.class.getName());

  private final HazelcastInstance hazelcast;
  private final SealedMap map;
  private final SealedMap contents;
  private final SealedMap deleted;
  private final Path mirror;
  /** The records' mirror, once started: a removal writes its tombstone there at once. */
  private volatile MapMirror mirrored;
  private volatile MapMirror mirroredContents;
  private final Unreadable unreadable = new Unreadable("backup record");
  private volatile CatalogView view;

  /**
   * @param mirror this member's on-disk copy, or null for a client that keeps none (the CLI)
   */
  public HazelcastBackupCatalog(HazelcastInstance hazelcast, Path mirror) {
    this.hazelcast = hazelcast;
    this.map = SealedMap.of(hazelcast, ClusterSettings.CATALOG_MAP);
    this.contents = SealedMap.of(hazelcast, ClusterSettings.CONTENTS_MAP);
    this.deleted = SealedMap.of(hazelcast, ClusterSettings.DELETED_CATALOG_MAP);
    this.mirror = mirror;
  }

  /**
   * Keeps a finished backup's entries (path, type, size, SHA-256), from its metadata entry, so
   * they can be shown without the passphrase. {@code {"entries": [...], "truncated": bool}}.
   */
  @Override
  public void putContents(String id, JsonObject listing) {
    contents.set(id, listing.encode());
  }

  @Override
  public Optional<JsonObject> contents(String id) {
    return unreadable.json(id + " (contents)", contents.get(id));
  }

  /** Drops a backup's contents: its archive was removed, or its record is. */
  @Override
  public void removeContents(String id) {
    contents.delete(id);
  }

  /**
   * Removes a backup's record and its contents from the history. Its tombstone goes first: the
   * members' mirrors put back any removal of a record that has none (a stranger's), and a member
   * down now does not bring the record back when it returns. Ids are never reused, so a tombstone
   * is never lifted.
   */
  @Override
  public void remove(String id) {
    MapMirror.tombstone(deleted, mirrored, id);
    MapMirror listings = mirroredContents;
    if (listings != null) {
      // The listing goes with its record, on this disk too.
      listings.forget(id);
    }
    contents.delete(id);
    map.delete(id);
  }

  @Override
  public void put(BackupRecord record) {
    map.set(record.id(), record.toStoredJson().encode());
  }

  /** The record, or empty when there is none or it cannot be read (logged once, counted). */
  @Override
  public Optional<BackupRecord> get(String id) {
    String v = map.get(id);
    return v == null ? Optional.empty() : Optional.ofNullable(parse(id, v));
  }

  /**
   * As {@link #get}, without holding a thread while the cluster answers: for the event loop (the
   * returned stage completes on a Hazelcast thread).
   */
  @Override
  public java.util.concurrent.CompletionStage<Optional<BackupRecord>> getAsync(String id) {
    return map.getAsync(id).thenApply(v -> v == null ? Optional.empty() : Optional.ofNullable(parse(id, v)));
  }

  /**
   * Starts this member's sorted local copy of the catalog (for listings and gauges); until it is
   * started, {@link #view()} is null.
   */
  public CatalogView startView() {
    CatalogView v = new CatalogView(this::parse, r -> r.toDetailsJson().encode());
    v.start(map);
    view = v;
    return v;
  }

  /** The local copy started by {@link #startView()}, or null. */
  @Override
  public CatalogView view() {
    return view;
  }

  /**
   * Every backup, newest first. A record that cannot be read (a corrupt mirror file, a value
   * written by something else) is skipped, logged once with its id and counted
   * ({@link #unreadable()}): one bad entry never fails the list.
   */
  @Override
  public List<BackupRecord> list() {
    List<BackupRecord> out = unreadable.readAll(map.entrySet(), this::parse);
    out.sort(Comparator.comparing(BackupRecord::createdAt).reversed().thenComparing(BackupRecord::id));
    return out;
  }

  /**
   * Records that cannot be read: those this member's view leaves out now, or (without a view) those
   * the last {@link #list()} skipped; plus mirror files not loaded at start-up.
   */
  @Override
  public int unreadable() {
    CatalogView v = view;
    return v == null ? unreadable.count() : v.unreadable() + unreadable.files();
  }

  /** The record a stored value holds, or null (logged once, counted) when it cannot be read. */
  BackupRecord parse(String id, String json) {
    return unreadable.read(id, json, BackupRecord::fromStoredJson, BackupRecord::id, r -> { });
  }

  /**
   * Replaces the record only if it is still {@code current}, so that members racing to mark the
   * same orphan FAILED change it once.
   */
  @Override
  public boolean replace(BackupRecord current, BackupRecord next) {
    return map.replace(current.id(), current.toStoredJson().encode(), next.toStoredJson().encode());
  }

  /**
   * Starts mirroring to disk: writes every record (and contents) the cluster holds now and every
   * later change, after merging the ones on disk the cluster does not hold (a whole-cluster
   * restart), a finished state winning over IN_PROGRESS.
   *
   * @return how many records came from disk
   */
  public int startMirroring() throws IOException {
    if (mirror == null) {
      return 0;
    }
    MapMirror contentsMirror = new MapMirror(contents, null, mirror, ".contents.json", (inMap, onDisk) -> false)
        .readable(MapMirror::isJsonObject, unreadable::reportFile);
    contentsMirror.start();
    MapMirror records = new MapMirror(map, deleted, mirror, ".json", (inMap, onDisk) ->
        BackupRecord.fromStoredJson(new JsonObject(onDisk)).finished()
            && !BackupRecord.fromStoredJson(new JsonObject(inMap)).finished())
        .readable(onDisk -> {
          BackupRecord.fromStoredJson(new JsonObject(onDisk));
          return true;
        }, unreadable::reportFile);
    mirroredContents = contentsMirror;
    mirrored = records;
    int loaded = records.start();
    // A member that was paused or cut off merges back taking the larger side's records (no entry
    // events): its files follow.
    hazelcast.getLifecycleService().addLifecycleListener(e -> {
      if (e.getState() == com.hazelcast.core.LifecycleEvent.LifecycleState.MERGED) {
        Threads.start("mke-backup-mirror-merge", () -> {
          try {
            records.rewrite();
            contentsMirror.rewrite();
          } catch (RuntimeException failed) {
            LOG.warning("cannot write the catalog mirror again after a merge: " + failed.getMessage());
          }
        });
      }
    });
    return loaded;
  }

  /** The UUIDs of the cluster's members. */
  public static Set<String> memberIds(HazelcastInstance hazelcast) {
    Set<String> ids = new java.util.HashSet<>();
    // Proven members only: an unproven member may have taken a dead manager's id.
    MemberProof.provenMembers(hazelcast).forEach(m -> ids.add(m.getUuid().toString()));
    return ids;
  }

}
