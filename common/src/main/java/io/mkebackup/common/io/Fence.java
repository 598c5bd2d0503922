package io.mkebackup.common.io;

/**
 * What a writer asks before every chunk it writes and before it renames its file into place:
 * whether it may still write. A backup that lost the cluster's lock (its member was paused or cut
 * off, and the others may have started another backup) must not write another byte.
 */
@FunctionalInterface
public interface Fence {
  /** A writer that answers to nobody: the CLI without a cluster. */
  Fence NONE = () -> {};

  /** Returns when the writer may go on; throws {@link io.mkebackup.common.BackupException} when not. */
  void check();
}
