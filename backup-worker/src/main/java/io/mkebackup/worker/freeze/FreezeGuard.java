package io.mkebackup.worker.freeze;

import java.io.IOException;
import java.util.List;

/**
 * A dead man's switch armed before a freeze pauses anything: it unpauses the paused containers
 * should the process that paused them die or hang, unless told that they were thawed. {@link
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
   * A switch that unpauses exactly {@code pausedIds}, when the freeze paused fewer containers than
   * it was armed for (one was paused by someone else meanwhile, which is theirs to unpause).
   *
   * @return this switch when it already knows exactly what was paused
   */
  default FreezeGuard narrowTo(List<String> pausedIds) throws IOException {
    return this;
  }
}
