package io.mkebackup.worker.backup;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What a finished backup produced.
 *
 * @param archiveBytes bytes written (after encryption)
 * @param dataBytes bytes of file content inside the archive
 * @param frozenSeconds how long each volume's writers were paused for its copy, by volume name
 *     (only volumes a running container writes)
 */
public record BackupResult(String id, Path file, Path logFile, long archiveBytes, long entries, long files,
    long dataBytes, Instant createdAt, Instant completedAt, List<String> warnings, Map<String, Double> frozenSeconds) {
  public BackupResult {
    frozenSeconds = frozenSeconds == null ? Map.of() : java.util.Collections.unmodifiableMap(
        new java.util.LinkedHashMap<>(frozenSeconds));
  }

  public BackupResult(String id, Path file, Path logFile, long archiveBytes, long entries, long files,
      long dataBytes, Instant createdAt, Instant completedAt, List<String> warnings) {
    this(id, file, logFile, archiveBytes, entries, files, dataBytes, createdAt, completedAt, warnings, Map.of());
  }
}
