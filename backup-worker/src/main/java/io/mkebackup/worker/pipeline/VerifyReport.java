package io.mkebackup.worker.pipeline;

import java.util.List;
import java.util.Map;

/**
 * What {@link ArchiveVerifier} proved about an archive.
 *
 * @param entries tar entries, the metadata entry excluded (what {@code tar --list} shows, less one)
 * @param header the metadata's fields other than the entry list
 */
public record VerifyReport(
    boolean encrypted,
    long entries,
    long files,
    long bytes,
    String snapshotEntry,
    long snapshotBytes,
    Map<String, Object> header,
    List<String> volumes) {

  public String productVersion() {
    return String.valueOf(header.getOrDefault("productVersion", ""));
  }
}
