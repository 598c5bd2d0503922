package io.mkebackup.common.cluster;

import io.mkebackup.common.schedule.Schedule;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The schedules in this process's memory, with the contracts of {@link HazelcastScheduleStore}:
 * values are stored as the cluster stores them (a schedule's JSON), so {@link #claim} is the same
 * compare-and-set on the whole value and succeeds once per (schedule, tick) for any number of
 * callers sharing the store; a value that cannot be read is skipped, logged once and counted;
 * {@link #list} is oldest first. Thread-safe. For tests of the logic above the store (the
 * scheduler, the API); several "members" share one instance.
 *
 * <p>What it does not model: Hazelcast itself (members, backup copies, partitions, merges after a
 * split, the seal on values), the disk mirror and its tombstones (a delete here is final because
 * there is no other copy to bring the schedule back), start-up loading from disk. Schedules with
 * the same {@code createdAt} are listed in id order here; the cluster's order of such ties is
 * unspecified.
 */
public final class InMemoryScheduleStore implements ScheduleStore {
  private final ConcurrentMap<String, String> map = new ConcurrentSkipListMap<>();
  private final Unreadable unreadable = new Unreadable("schedule");

  @Override
  public void put(Schedule s) {
    map.put(s.id(), s.toJson().encode());
  }

  /**
   * Stores a value as it is, as the cluster may hold one another version or a damaged mirror
   * wrote: for tests of what the callers do with a schedule that cannot be read.
   */
  public void putStored(String id, String json) {
    map.put(id, json);
  }

  @Override
  public Optional<Schedule> get(String id) {
    String v = map.get(id);
    return v == null ? Optional.empty() : Optional.ofNullable(parse(id, v));
  }

  /** The stored id must be the key, and the cadence must parse ({@link Unreadable#read}). */
  private Schedule parse(String id, String json) {
    return unreadable.read(id, json, Schedule::fromJson, Schedule::id, Schedule::cadence);
  }

  @Override
  public int unreadable() {
    return unreadable.count();
  }

  @Override
  public boolean delete(String id) {
    return map.remove(id) != null;
  }

  @Override
  public List<Schedule> list() {
    List<Schedule> out = unreadable.readAll(map.entrySet(), this::parse);
    out.sort(Comparator.comparing(Schedule::createdAt));
    return out;
  }

  @Override
  public boolean claim(Schedule current, long tick) {
    return map.replace(current.id(), current.toJson().encode(), current.withLastTick(tick).toJson().encode());
  }
}
