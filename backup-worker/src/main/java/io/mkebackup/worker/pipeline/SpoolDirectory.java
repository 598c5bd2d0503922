package io.mkebackup.worker.pipeline;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.Storage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * One run's private directory for spools (the etcd snapshot, the entry list, the metadata): a
 * fresh {@code run-*} directory, mode 0700, inside a root directory on local disk that must be
 * this user's own with mode 0700 and not a link; never the backup directory, which other hosts can
 * write. Files are created with O_EXCL, no link following and mode 0600. The run holds a lock on
 * its directory's {@code lock} file while it lives, so that whoever opens a spool later (the next
 * backup, a manager starting) removes the directories of runs whose process died.
 */
public final class SpoolDirectory implements AutoCloseable {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(SpoolDirectory.class.getName());
  /** Environment variable naming the CLI's spool root (default below). */
  public static final String ENV = "MKE_BACKUP_SPOOL_DIR";
  static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
  private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
  /** A run directory without a lock file younger than this may still be starting. */
  private static final Duration STARTING = Duration.ofMinutes(1);

  private final Path dir;
  private final FileChannel lockFile;
  private final FileLock lock;

  private SpoolDirectory(Path dir, FileChannel lockFile, FileLock lock) {
    this.dir = dir;
    this.lockFile = lockFile;
    this.lock = lock;
  }

  /**
   * The root for a process with no configured one (the CLI): {@code $MKE_BACKUP_SPOOL_DIR}, else
   * {@code /var/tmp/mke-backup-<uid>} (on disk, unlike a tmpfs {@code /tmp}), else the same name
   * in {@code java.io.tmpdir}.
   */
  public static Path defaultRoot() {
    String env = System.getenv(ENV);
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    Path varTmp = Path.of("/var/tmp");
    Path base = Files.isDirectory(varTmp) ? varTmp : Path.of(System.getProperty("java.io.tmpdir"));
    return base.resolve("mke-backup-" + Storage.uid());
  }

  /**
   * Makes sure {@code root} (or the default root when null) is a private directory of this user,
   * creating it (mode 0700) when missing; refuses one that is a link, another user's, or open to
   * others, since whoever controls it would see or replace the spools.
   */
  public static Path root(Path configured) {
    Path root = (configured != null ? configured : defaultRoot()).toAbsolutePath();
    try {
      Files.createDirectory(root, PRIVATE_DIR);
    } catch (FileAlreadyExistsException exists) {
      // checked below
    } catch (IOException e) {
      throw new BackupException(ErrorCode.INTERNAL, "cannot create the spool directory " + root + " ("
          + e.getMessage() + "); create it (mode 0700) or set " + ENV, e);
    }
    Map<String, Object> a;
    try {
      a = Files.readAttributes(root, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      throw new BackupException(ErrorCode.INTERNAL, "cannot read the spool directory " + root + ": " + e.getMessage(), e);
    }
    int mode = (Integer) a.get("mode");
    String owner = String.valueOf(a.get("uid"));
    if ((mode & 0170000) != 0040000 || !owner.equals(Storage.uid()) || (mode & 0077) != 0) {
      throw new BackupException(ErrorCode.INTERNAL, "the spool directory " + root + " is not private: it must be a"
          + " directory (not a link) owned by uid " + Storage.uid() + " with mode 0700, and it is "
          + ((mode & 0170000) == 0040000 ? "a directory" : "not a directory") + " owned by uid " + owner + " with mode "
          + String.format("%04o", mode & 07777) + "; remove it or set " + ENV + " to another directory");
    }
    return root;
  }

  /** A new run directory in the (checked) root, after removing those of dead runs. */
  public static SpoolDirectory create(Path configured) {
    Path root = root(configured);
    sweep(root);
    try {
      Path dir = Files.createTempDirectory(root, "run-", PRIVATE_DIR);
      FileChannel channel = FileChannel.open(dir.resolve("lock"), Set.of(StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PRIVATE_FILE);
      return new SpoolDirectory(dir, channel, channel.lock());
    } catch (IOException e) {
      throw new BackupException(ErrorCode.INTERNAL, "cannot create a spool in " + root + ": " + e.getMessage(), e);
    }
  }

  /**
   * Removes the run directories in {@code root} whose run has ended without cleaning up (its
   * process died: the lock is free).
   *
   * @return how many were removed
   */
  public static int sweep(Path root) {
    int removed = 0;
    try (DirectoryStream<Path> runs = Files.newDirectoryStream(root, "run-*")) {
      for (Path run : runs) {
        if (Files.isDirectory(run, LinkOption.NOFOLLOW_LINKS) && abandoned(run)) {
          deleteTree(run);
          removed++;
        }
      }
    } catch (NoSuchFileException gone) {
      return removed;
    } catch (IOException e) {
      // Best effort: the next run tries again.
    }
    return removed;
  }

  /** Whether the run directory {@code run} belongs to a run whose process still holds it. */
  public static boolean live(Path run) {
    try {
      return Files.isDirectory(run, LinkOption.NOFOLLOW_LINKS) && !abandoned(run);
    } catch (NoSuchFileException gone) {
      return false;
    } catch (IOException e) {
      return true; // cannot tell: assume it runs
    }
  }

  private static boolean abandoned(Path run) throws IOException {
    Path lockPath = run.resolve("lock");
    FileChannel channel;
    try {
      channel = FileChannel.open(lockPath, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException starting) {
      FileTime created = Files.getLastModifiedTime(run, LinkOption.NOFOLLOW_LINKS);
      return created.toInstant().isBefore(Instant.now().minus(STARTING));
    }
    try (channel) {
      FileLock held = channel.tryLock();
      if (held == null) {
        return false; // another process's run
      }
      held.release();
      return true;
    } catch (OverlappingFileLockException ours) {
      return false; // a run of this process
    }
  }

  public Path dir() {
    return dir;
  }

  /** Creates {@code name} in the run directory (O_EXCL, no link following, 0600) for writing. */
  public OutputStream create(String name) throws IOException {
    return Channels.newOutputStream(FileChannel.open(dir.resolve(name), Set.of(StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PRIVATE_FILE));
  }

  /** Deletes the run directory and everything in it. Never throws. */
  @Override
  public void close() {
    try {
      deleteTree(dir);
    } catch (IOException | RuntimeException e) {
      // It may hold an etcd snapshot in clear. The lock is released below, so the next run removes
      // what is left; until then, the operator knows where it is.
      LOG.warning("cannot remove the spool directory " + dir + " (" + e + "); the next backup removes it");
    } finally {
      try {
        lock.release();
        lockFile.close();
      } catch (IOException ignored) {
        // closing releases the lock in any case
      }
    }
  }

  /** Deletes a directory tree, if there, without following any link in it. */
  public static void deleteTree(Path top) throws IOException {
    if (!Files.exists(top, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(top, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
        Files.deleteIfExists(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
