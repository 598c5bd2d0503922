package io.mkebackup.common.cluster;

import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.schedule.Schedule;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The cluster's schedules: a Hazelcast map (with a backup copy) mirrored to each member's disk,
 * with a tombstone map so that a deleted schedule stays deleted when a member that missed the
 * delete comes back. Blocking calls: use them off the event loop.
 */
public final class HazelcastScheduleStore implements ScheduleStore {
  private final SealedMap map;
  private final SealedMap deleted;
  private final Path mirror;
  private final Unreadable unreadable = new Unreadable("schedule");
  private volatile MapMirror mirrored;

  public HazelcastScheduleStore(HazelcastInstance hazelcast, Path mirror) {
    this.map = SealedMap.of(hazelcast, ClusterSettings.SCHEDULE_MAP);
    this.deleted = SealedMap.of(hazelcast, ClusterSettings.DELETED_SCHEDULE_MAP);
    this.mirror = mirror;
  }

  /**
   * Starts this member's disk copy: loads the schedules on disk the cluster does not hold (a
   * whole-cluster restart) unless a tombstone says they were deleted, then follows every change.
   *
   * @return how many schedules came from disk
   */
  public int startMirroring() throws IOException {
    if (mirror == null) {
      return 0;
    }
    mirrored = new MapMirror(map, deleted, mirror, ".json", (inMap, onDisk) -> false)
        .readable(onDisk -> Schedule.fromJson(new JsonObject(onDisk)) != null, unreadable::reportFile);
    return mirrored.start();
  }

  @Override
  public void put(Schedule s) {
    map.set(s.id(), s.toJson().encode());
  }

  /** The schedule, or empty when there is none or it cannot be read (logged once, counted). */
  @Override
  public Optional<Schedule> get(String id) {
    String v = map.get(id);
    return v == null ? Optional.empty() : Optional.ofNullable(parse(id, v));
  }

  private Schedule parse(String id, String json) {
    return unreadable.read(id, json, Schedule::fromJson, Schedule::id, Schedule::cadence);
  }

  /** How many schedules the last {@link #list()} skipped because they cannot be read. */
  @Override
  public int unreadable() {
    return unreadable.count();
  }

  /**
   * Removes a schedule for good: its tombstone goes first, so that a member down now cannot bring
   * its copy back when it returns.
   */
  @Override
  public boolean delete(String id) {
    if (!map.containsKey(id)) {
      return false;
    }
    MapMirror.tombstone(deleted, mirrored, id);
    return map.remove(id) != null;
  }

  /** Every schedule that can be read, oldest first; the others are skipped, logged once and counted. */
  @Override
  public List<Schedule> list() {
    List<Schedule> out = unreadable.readAll(map.entrySet(), this::parse);
    out.sort(Comparator.comparing(Schedule::createdAt));
    return out;
  }

  /** Claims a tick: succeeds for exactly one caller per (schedule, tick) in the cluster. */
  @Override
  public boolean claim(Schedule current, long tick) {
    return map.replace(current.id(), current.toJson().encode(), current.withLastTick(tick).toJson().encode());
  }
}
