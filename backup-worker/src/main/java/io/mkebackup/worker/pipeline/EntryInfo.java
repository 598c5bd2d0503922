package io.mkebackup.worker.pipeline;

import java.time.Instant;

/** The attributes a backup keeps for each entry: permission bits, owner and modification time. */
public record EntryInfo(int mode, long uid, long gid, Instant mtime) {
  public static EntryInfo rootOwned(int mode, Instant mtime) {
    return new EntryInfo(mode, 0, 0, mtime);
  }
}
