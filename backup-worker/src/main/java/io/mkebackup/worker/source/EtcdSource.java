package io.mkebackup.worker.source;

import io.etcd.jetcd.api.StatusResponse;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Where a backup's etcd snapshot comes from: one etcd member, asked for its status and then for a
 * snapshot. {@link EtcdSnapshotSource} is the real one (jetcd's API over gRPC); a unit test can
 * run the whole backup procedure on one of its own.
 */
public interface EtcdSource extends AutoCloseable {
  /** The member's URL, as the archive's metadata records it. */
  String url();

  /** The member's version, database size and revision; fails with ETCD_UNAVAILABLE. */
  StatusResponse status();

  /**
   * Streams a snapshot into {@code spool}, a new private file, and checks its SHA-256 trailer.
   *
   * @return the snapshot's size in bytes
   */
  long snapshotTo(Path spool) throws IOException;

  /** Ends the connection; a snapshot streaming at that moment fails. */
  @Override
  void close();
}
