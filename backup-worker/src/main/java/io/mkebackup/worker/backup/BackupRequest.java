package io.mkebackup.worker.backup;

import io.mkebackup.common.Passphrase;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Objects;

/**
 * One backup to take, already validated by its caller (CLI or gateway).
 *
 * @param passphrase null for an unencrypted archive
 * @param file where the archive goes, or null to write {@code stream}
 * @param stream the stream to write when {@code file} is null (stdout)
 * @param logFile where the run's log goes (encrypted like the archive), or null
 * @param targetField the option or request field naming the target, for error messages
 * @param keepMetadata where to leave a copy of the archive's metadata entry, or null
 */
public record BackupRequest(String id, Passphrase passphrase, Path file, OutputStream stream, Path logFile,
    String targetField, Path keepMetadata) {
  public BackupRequest(String id, Passphrase passphrase, Path file, OutputStream stream, Path logFile,
      String targetField) {
    this(id, passphrase, file, stream, logFile, targetField, null);
  }

  public BackupRequest {
    Objects.requireNonNull(id);
    if ((file == null) == (stream == null)) {
      throw new IllegalArgumentException("exactly one of file and stream");
    }
    if (logFile != null && file == null) {
      throw new IllegalArgumentException("a log file needs an archive file");
    }
  }

  public boolean encrypted() {
    return passphrase != null;
  }
}
