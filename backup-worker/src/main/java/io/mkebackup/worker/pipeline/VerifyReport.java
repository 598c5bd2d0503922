package io.mkebackup.worker.pipeline;

import io.mkebackup.common.archive.ArchiveMetadata;
import java.util.List;

/**
 * What {@link ArchiveVerifier} proved about an archive.
 *
 * @param entries tar entries, the metadata entry excluded (what {@code tar --list} shows, less one)
 * @param metadata the metadata entry, its entry list aside
 */
public record VerifyReport(
    boolean encrypted,
    long entries,
    long files,
    long bytes,
    String snapshotEntry,
    long snapshotBytes,
    ArchiveMetadata metadata,
    List<String> volumes) {

  /** The version of mke-backup that wrote the archive; empty when the metadata does not say. */
  public String productVersion() {
    return metadata.productVersion() == null ? "" : metadata.productVersion();
  }
}
