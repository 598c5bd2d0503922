package io.mkebackup.common.io;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Checks and error messages for the backup directory. */
public final class Storage {
  private Storage() {}

  /** Maps a write failure to a message naming the directory: disk full, denied, or the cause. */
  public static BackupException writeFailed(Path dir, IOException e) {
    String m = String.valueOf(e.getMessage());
    if (m.contains("No space left") || m.contains("Disk quota exceeded")) {
      return new BackupException(ErrorCode.TARGET_FULL, "no space left in " + dir
          + " while writing the backup; free space there or pick a larger directory", e);
    }
    if (e instanceof AccessDeniedException || m.contains("Permission denied")) {
      return notWritable(dir, e);
    }
    if (m.contains("Read-only file system")) {
      return new BackupException(ErrorCode.TARGET_NOT_WRITABLE, "directory " + dir
          + " is not writable: it is on a read-only file system; remount it read-write or pick another directory", e);
    }
    return new BackupException(ErrorCode.TARGET_NOT_WRITABLE, "writing to " + dir + " failed: " + m, e);
  }

  /** The message for a directory this process may not create files in, naming its uid. */
  public static BackupException notWritable(Path dir, Throwable cause) {
    return new BackupException(ErrorCode.TARGET_NOT_WRITABLE, "directory " + dir
        + " is not writable by this process (uid " + uid() + "); chown it (for example to nobody:nogroup"
        + " for MKE) or pick another directory", cause);
  }

  /** The uid this process runs as, for messages and for checking who owns a directory. */
  public static String uid() {
    try {
      return String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException | UnsupportedOperationException e) {
      return System.getProperty("user.name");
    }
  }

  /**
   * Checks that the directory exists and this process may create files in it, by creating and
   * deleting a probe file (permission bits alone lie on NFS with root squashing).
   *
   * @param field the option or field naming the directory
   */
  public static void checkWritableDirectory(Path dir, String field) {
    if (!Files.exists(dir)) {
      throw new BackupException(ErrorCode.TARGET_NOT_FOUND, field,
          field + ": directory " + dir + " does not exist; create it (on shared storage) or pick another", null);
    }
    if (!Files.isDirectory(dir)) {
      throw new BackupException(ErrorCode.TARGET_NOT_FOUND, field, field + ": " + dir + " is not a directory", null);
    }
    Path probe = dir.resolve(".mke-backup-probe-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    try {
      Files.createFile(probe);
      Files.delete(probe);
    } catch (IOException e) {
      BackupException mapped = writeFailed(dir, e);
      throw new BackupException(mapped.code(), field, field + ": " + mapped.getMessage(), e);
    }
  }

  /** Usable bytes in the directory's file system. */
  public static long freeBytes(Path dir) {
    try {
      return Files.getFileStore(dir).getUsableSpace();
    } catch (IOException e) {
      return Long.MAX_VALUE;
    }
  }

  /**
   * Removes the hidden temporary files a backup with this tag (its id) left in the directory when
   * its process died: {@code .<name>.<tag>.part} (the archive's and the log's; spools never go
   * there).
   *
   * @return the files removed
   */
  public static java.util.List<Path> removeLeftovers(Path dir, String tag) {
    java.util.List<Path> removed = new java.util.ArrayList<>();
    if (tag == null || tag.isBlank() || dir == null || !Files.isDirectory(dir)) {
      return removed;
    }
    // Relative to the open directory: a link swapped in meanwhile leads nowhere else.
    try (ShareDirectory share = ShareDirectory.open(dir)) {
      for (String n : share.names()) {
        if (n.startsWith(".") && n.endsWith("." + tag + ".part") && share.delete(n)) {
          removed.add(share.path().resolve(n));
        }
      }
    } catch (IOException e) {
      // Best effort: a leftover is hidden and never mistaken for a backup.
    }
    return removed;
  }

}
