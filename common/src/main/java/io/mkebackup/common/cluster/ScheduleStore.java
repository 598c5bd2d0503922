package io.mkebackup.common.cluster;

import io.mkebackup.common.schedule.Schedule;
import java.util.List;
import java.util.Optional;

/**
 * The cluster's schedules, as the scheduler, the API and the metrics use them. Two
 * implementations: {@link HazelcastScheduleStore} (the cluster's, mirrored to each member's disk)
 * and {@link InMemoryScheduleStore} (one process, for tests of the logic above it). Calls may
 * block on the cluster: use them off the event loop.
 */
public interface ScheduleStore {

  /** Adds or replaces a schedule (by id). */
  void put(Schedule s);

  /** The schedule, or empty when there is none or it cannot be read (logged once, counted). */
  Optional<Schedule> get(String id);

  /** How many schedules the last {@link #list()} skipped because they cannot be read. */
  int unreadable();

  /**
   * Removes a schedule for good (a member that missed the delete does not bring it back).
   *
   * @return whether there was one to remove
   */
  boolean delete(String id);

  /** Every schedule that can be read, oldest first; the others are skipped, logged once and counted. */
  List<Schedule> list();

  /**
   * Claims a tick: sets the schedule's {@code lastTick} to {@code tick} only if the store still
   * holds exactly {@code current} (compare-and-set on the whole value), so that it succeeds for
   * exactly one caller per (schedule, tick) however many look at the same store; it fails too
   * when the schedule was changed or deleted since {@code current} was read.
   */
  boolean claim(Schedule current, long tick);
}
