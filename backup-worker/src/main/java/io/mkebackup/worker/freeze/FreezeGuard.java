package io.mkebackup.worker.freeze;

import java.io.IOException;
import java.util.List;

/**
 * A dead man's switch armed before a freeze pauses anything: it unpauses the paused containers
 * should the process that paused them die or hang, unless told that they were thawed. It knows
 * what to unpause as the freeze's record does: each container from just before its pause, until
 * the pause is known not to have happened; never one that someone else paused before this
 * process asked. {@link
 * DeadMansSwitch} is a child process, for a backup run on the host; {@link SiblingSwitch} a
 * container beside the backup's own, for a backup run in a container, whose kill ends every
 * process in it.
 */
interface FreezeGuard {
  /** The containers were thawed by their pauser: the switch ends without touching anything. */
  void disarm();

  /** The pauser could not thaw them: the switch unpauses them now (or at its deadline at the latest). */
  void abandon();

  /**
   * The container with this id is about to be paused: returns once the switch would unpause it,
   * so that it knows of every container that may have been paused before its pause is asked.
   *
   * @param within how long the switch may take to answer: once the freeze has started, what is
   *     left of its maximum, so that a switch that does not answer never holds the containers
   *     already paused past it
   * @throws IOException when the switch cannot be told within that time: then the container must
   *     not be paused
   */
  void pausing(String containerId, java.time.Duration within) throws IOException;

  /**
   * The pause of that container, told before, did not happen (someone else had paused it, which
   * is theirs to unpause, or it is gone): returns once the switch no longer would unpause it.
   *
   * @param within how long the switch may take to answer, as for {@link #pausing}
   * @throws IOException when the switch cannot be told: then it must not be left to thaw on its own
   */
  void notPaused(String containerId, java.time.Duration within) throws IOException;
}
