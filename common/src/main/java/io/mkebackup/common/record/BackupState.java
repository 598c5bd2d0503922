package io.mkebackup.common.record;

/** A backup's state, as the seed's API names it. */
public enum BackupState {
  IN_PROGRESS, SUCCESS, FAILED
}
