package io.mkebackup.worker.engine;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * What a finished backup produced.
 *
 * @param archiveBytes bytes written (after encryption)
 * @param dataBytes bytes of file content inside the archive
 */
public record BackupResult(String id, Path file, Path logFile, long archiveBytes, long entries, long files,
    long dataBytes, Instant createdAt, Instant completedAt, List<String> warnings) {}
