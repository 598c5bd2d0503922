package io.mkebackup.worker.source;

import io.etcd.jetcd.api.StatusResponse;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.archive.SnapshotHasher;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Takes a consistent etcd snapshot through etcd's Maintenance API from exactly one endpoint,
 * spools it to a file and checks its SHA-256 trailer before anything uses it. Copying etcd's live
 * data directory is never safe (etcd #13109), so ucp-kv is only ever captured this way.
 */
public final class EtcdSnapshotSource implements EtcdSource {
  private final EtcdClient client;
  private final String url;

  private EtcdSnapshotSource(EtcdClient client, String url) {
    this.client = client;
    this.url = url;
  }

  public static EtcdSnapshotSource connect(EtcdEndpoint endpoint) {
    return new EtcdSnapshotSource(EtcdClient.connect(endpoint), endpoint.url());
  }

  @Override
  public String url() {
    return url;
  }

  /** The member's status: its version and database size (the snapshot's size estimate). */
  @Override
  public StatusResponse status() {
    return client.status();
  }

  /**
   * Streams a snapshot into {@code spool}, a new file (created with O_EXCL, no link following,
   * mode 0600: it holds every Kubernetes secret in clear), and checks it: size % 512 == 32 and the
   * SHA-256 trailer.
   *
   * @return the snapshot's size in bytes
   */
  @Override
  public long snapshotTo(Path spool) throws IOException {
    long size;
    try (OutputStream out = java.nio.channels.Channels.newOutputStream(java.nio.channels.FileChannel.open(spool,
        java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))))) {
      size = client.snapshot(out);
    }
    long onDisk = Files.size(spool);
    if (onDisk != size) {
      throw new BackupException(ErrorCode.ETCD_SNAPSHOT_CORRUPT, "the etcd snapshot stream sent "
          + size + " bytes but " + onDisk + " reached the disk");
    }
    check(spool, size);
    return size;
  }

  /** Checks a spooled snapshot's trailer. */
  public static void check(Path snapshot, long size) throws IOException {
    SnapshotHasher hasher = new SnapshotHasher(size);
    byte[] buffer = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(snapshot, LinkOption.NOFOLLOW_LINKS)) {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        hasher.update(buffer, 0, n);
      }
    }
    hasher.check("the etcd snapshot");
  }

  @Override
  public void close() {
    client.close();
  }
}
