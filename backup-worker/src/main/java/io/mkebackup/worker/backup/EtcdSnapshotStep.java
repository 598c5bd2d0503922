package io.mkebackup.worker.backup;

import io.etcd.jetcd.api.StatusResponse;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.progress.Step;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.EntryInfo;
import io.mkebackup.worker.source.EtcdSource;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;

/**
 * The etcd step: a snapshot of etcd into the run's spool (its trailer checked by the source), then
 * into the archive as {@code ./ucp-backup/<epoch-ms>/etcd.backup.db}, root-owned and private; the
 * spooled copy, every Kubernetes secret in clear, is deleted as soon as it is in.
 */
final class EtcdSnapshotStep {
  private final EtcdSource etcd;
  private final StatusResponse status;

  /** @param status what etcd answered during validation (its version and revision are recorded) */
  EtcdSnapshotStep(EtcdSource etcd, StatusResponse status) {
    this.etcd = etcd;
    this.status = status;
  }

  /** @return the snapshot as the metadata records it */
  ArchiveMetadata.Etcd write(ArchiveWriter archive, Progress p, Path spool) throws IOException {
    p.started(Step.ETCD, ArchiveLayout.ETCD_VOLUME, "taking a snapshot from " + etcd.url());
    Path snapshotSpool = spool.resolve("etcd-snapshot.db");
    long size = etcd.snapshotTo(snapshotSpool);
    long at = System.currentTimeMillis();
    String entry = ArchiveLayout.snapshotEntry(at);
    EntryInfo dirInfo = EntryInfo.rootOwned(0700, Instant.ofEpochMilli(at));
    archive.directory("./" + ArchiveLayout.SNAPSHOT_VOLUME + "/", dirInfo);
    archive.directory("./" + ArchiveLayout.SNAPSHOT_VOLUME + "/" + at + "/", dirInfo);
    String sha;
    try (InputStream in = Files.newInputStream(snapshotSpool, LinkOption.NOFOLLOW_LINKS)) {
      sha = archive.file(entry, EntryInfo.rootOwned(0600, Instant.ofEpochMilli(at)), size, in, p);
    }
    Files.deleteIfExists(snapshotSpool);
    long revision = status.getHeader().getRevision();
    p.done(1, "snapshot of " + ProgressFormat.bytes(size) + " at revision " + revision + ", SHA-256 trailer checked");
    return new ArchiveMetadata.Etcd(etcd.url(), status.getVersion(), revision, entry, size, sha);
  }
}
