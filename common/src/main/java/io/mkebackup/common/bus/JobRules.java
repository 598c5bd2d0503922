package io.mkebackup.common.bus;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.FileNames;
import io.mkebackup.common.io.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * Where a backup may be written and under which names, against one manager's configuration: the
 * gateway applies these rules to a request, and the worker applies them again to every job it
 * receives (a job comes from the cluster, and the worker trusts nothing it did not check itself).
 * Touches the disk (hostPath checks): call off the event loop. Changes nothing.
 */
public final class JobRules {
  private final List<Path> allowedRoots;
  private final Path defaultDir;

  /**
   * @param allowedRoots backup directories must lie under one of these after resolving links
   *     (give them resolved too)
   * @param defaultDir where a backup goes when no hostPath is given
   */
  public JobRules(List<Path> allowedRoots, Path defaultDir) {
    this.allowedRoots = List.copyOf(allowedRoots);
    this.defaultDir = defaultDir;
  }

  /**
   * A job as a worker receives it, checked as the gateway checks a request: an id a manager makes,
   * plain file names, a hostPath under the allowed roots after resolving links and writable, an
   * origin of the known kinds. (The passphrase's rules are checked when the job is decoded.)
   *
   * @return the job with its hostPath resolved, as the gateway would have sent it
   */
  public BackupJob recheck(BackupJob job) {
    if (!isUuid(job.id())) {
      throw BackupException.invalid("id", "id '" + FileNames.printable(job.id(), 80) + "' is not a backup id");
    }
    checkPlainName("fileName", job.fileName());
    if (!job.logFileName().isEmpty()) {
      checkPlainName("logFileName", job.logFileName());
      if (job.logFileName().equals(job.fileName())) {
        throw BackupException.invalid("logFileName", "logFileName must differ from fileName ('" + job.fileName() + "')");
      }
    }
    String origin = job.origin();
    if (!origin.equals("api") && !origin.equals("cli")
        && !(origin.startsWith("schedule:") && isUuid(origin.substring("schedule:".length())))) {
      throw BackupException.invalid("origin", "origin '" + FileNames.printable(origin, 80) + "' is not api, cli or schedule:<id>");
    }
    Path dir = hostPath(job.hostPath().toString());
    return new BackupJob(job.id(), job.passphrase(), job.fileName(), job.logFileName(), dir, origin, job.tick());
  }

  /** Whether this is an id as managers make them (backups, schedules): a UUID in canonical form. */
  public static boolean isUuid(String s) {
    try {
      return s != null && s.length() == 36 && UUID.fromString(s).toString().equals(s);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** A file name without a directory, not hidden, printable and not too long; else a 400 naming the field. */
  public static void checkPlainName(String field, String name) {
    String problem = null;
    if (name.isEmpty()) {
      problem = "is empty";
    } else if (name.contains("/") || name.contains("\\")) {
      problem = "contains a path separator; give a plain file name and put the directory in hostPath";
    } else if (name.equals(".") || name.equals("..")) {
      problem = "is not a file name";
    } else if (name.startsWith(".")) {
      problem = "starts with a dot; hidden names are reserved for unfinished backups";
    } else if (name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      problem = "contains control characters";
    } else if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 200) {
      problem = "is longer than 200 bytes";
    }
    if (problem != null) {
      throw BackupException.invalid(field, field + " '" + FileNames.printable(name, 80) + "' " + problem);
    }
  }

  /**
   * The backup directory a request names (null: the default one), resolved: absolute, existing,
   * under an allowed root once links are resolved, and writable by this process.
   */
  public Path hostPath(String given) {
    if (given == null) {
      Storage.checkWritableDirectory(defaultDir, "hostPath");
      try {
        // Its real path: what is written there is written relative to it, opened without links.
        return defaultDir.toRealPath();
      } catch (IOException e) {
        return defaultDir;
      }
    }
    if (given.isEmpty() || !given.startsWith("/")) {
      throw BackupException.invalid("hostPath", "hostPath '" + FileNames.printable(given, 80) + "' is not an absolute path;"
          + " give the directory as /path/to/folder");
    }
    Path p = Path.of(given).normalize();
    if (!Files.exists(p)) {
      throw new BackupException(ErrorCode.TARGET_NOT_FOUND, "hostPath", "hostPath: directory " + p
          + " does not exist on this manager; create it (on shared storage) or pick another", null);
    }
    Path real;
    try {
      real = p.toRealPath();
    } catch (IOException e) {
      throw BackupException.invalid("hostPath", "hostPath: cannot resolve " + p + ": " + e.getMessage());
    }
    if (allowedRoots.stream().noneMatch(real::startsWith)) {
      throw BackupException.invalid("hostPath", "hostPath " + p + (real.equals(p) ? "" : " (" + real + ")")
          + " is outside the directories allowed for backups (" + allowedRoots
          + "); pick a directory under one of them or ask the operator to allow it");
    }
    Storage.checkWritableDirectory(real, "hostPath");
    return real;
  }
}
