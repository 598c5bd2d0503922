package io.mkebackup.worker.pipeline;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.io.ShareDirectory;
import io.mkebackup.common.io.Storage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A file that is born complete: bytes go to a hidden {@code .<name>.<random>.part} beside the
 * target, mode 0600; {@link #commit()} fsyncs it, renames it over the target and fsyncs the
 * directory; {@link #close()} without a commit deletes the temporary file. An existing file of the
 * target's name is only ever replaced by a committed file. All of it is done relative to the
 * directory opened at {@link #create} ({@link ShareDirectory}): swapping the directory for a link
 * meanwhile makes nothing land outside it.
 */
public final class AtomicFile implements AutoCloseable {
  private final ShareDirectory dir;
  private final Path target;
  private final String temporaryName;
  private final FileChannel channel;
  private final DirectFileOutputStream direct;
  private final OutputStream stream;
  private boolean committed;
  private boolean closed;

  private AtomicFile(ShareDirectory dir, String target, String temporaryName, FileChannel channel,
      DirectFileOutputStream direct) {
    this.dir = dir;
    this.target = dir.path().resolve(target);
    this.temporaryName = temporaryName;
    this.channel = channel;
    this.direct = direct;
    this.stream = direct != null ? direct : Channels.newOutputStream(channel);
  }

  /**
   * Creates the temporary file {@code .<name>.<tag>.part}. A backup passes its id as the tag, so
   * that whoever finds the backup abandoned (its member died) can find and remove its leftovers
   * ({@link Storage#removeLeftovers}). Errors name the directory and say what to do.
   */
  public static AtomicFile create(Path target, String tag) {
    return create(target, tag, false);
  }

  /**
   * As {@link #create(Path, String)}; with {@code directIo}, on a local file system (ext4, xfs,
   * btrfs) the content goes to the disk with O_DIRECT, past the page cache (for archives of
   * GiBs; see {@link DirectFileOutputStream}). Elsewhere (NFS, tmpfs), or when the environment
   * variable {@code MKE_BACKUP_DIRECT_IO} is {@code off}, it is written as usual.
   */
  public static AtomicFile create(Path target, String tag, boolean directIo) {
    Path given = target.toAbsolutePath().getParent();
    String name = target.getFileName().toString();
    String temporary = "." + name + "." + tag + ".part";
    ShareDirectory dir;
    try {
      dir = ShareDirectory.open(given);
    } catch (NoSuchFileException | java.nio.file.NotDirectoryException e) {
      throw new BackupException(ErrorCode.TARGET_NOT_FOUND, "directory " + given
          + (e instanceof NoSuchFileException ? " does not exist" : " is not a directory")
          + "; create it (on shared storage) or pick another");
    } catch (IOException e) {
      throw new BackupException(ErrorCode.TARGET_NOT_WRITABLE, "cannot open directory " + given + ": "
          + (e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage()), e);
    }
    try {
      FileChannel channel = dir.create(temporary,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      DirectFileOutputStream direct = null;
      if (directIo) {
        direct = DirectFileOutputStream.open(() -> dir.openForWrite(temporary, com.sun.nio.file.ExtendedOpenOption.DIRECT),
            channel, DirectFileOutputStream.alignment(dir.path()));
      }
      return new AtomicFile(dir, name, temporary, channel, direct);
    } catch (AccessDeniedException e) {
      closeQuietly(dir);
      throw Storage.notWritable(dir.path(), e);
    } catch (FileAlreadyExistsException e) {
      closeQuietly(dir);
      throw new BackupException(ErrorCode.INTERNAL, "temporary file " + dir.path().resolve(temporary) + " already exists", e);
    } catch (IOException e) {
      closeQuietly(dir);
      throw new BackupException(ErrorCode.TARGET_NOT_WRITABLE,
          "cannot create a file in " + dir.path() + ": " + e.getMessage(), e);
    }
  }

  private static void closeQuietly(ShareDirectory dir) {
    try {
      dir.close();
    } catch (IOException ignored) {
      // a directory descriptor: closing it loses nothing
    }
  }

  /** The stream to write the content to; unbuffered, so wrap it for small writes. */
  public OutputStream stream() {
    return stream;
  }

  /** Whether the content goes to the disk with O_DIRECT (for tests). */
  boolean writesDirectly() {
    return direct != null;
  }

  public Path target() {
    return target;
  }

  public Path temporary() {
    return dir.path().resolve(temporaryName);
  }

  /** Makes the content durable and visible under the target name. */
  public void commit() {
    commit(Fence.NONE);
  }

  /**
   * As {@link #commit()}, asking the fence before the last bytes go out and again just before the
   * rename; a refusal deletes the temporary file and leaves the target alone.
   */
  public void commit(Fence fence) {
    try {
      fence.check();
      if (direct != null) {
        direct.finish();
        direct.close();
      }
      channel.force(true);
      channel.close();
      fence.check();
      dir.rename(temporaryName, target.getFileName().toString());
      committed = true;
      dir.fsync();
    } catch (IOException e) {
      throw Storage.writeFailed(target.getParent(), e);
    } finally {
      close();
    }
  }

  /** Deletes the temporary file unless {@link #commit()} succeeded. Never throws. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (direct != null) {
        direct.close();
      }
      channel.close();
    } catch (IOException ignored) {
      // nothing more to do: the file is deleted below
    }
    if (!committed) {
      try {
        dir.delete(temporaryName);
      } catch (IOException | RuntimeException ignored) {
        // the directory went away or became read-only; nothing else can be done
      }
    }
    closeQuietly(dir);
  }

  /** For tests: whether the name belongs to a temporary file of this class. */
  public static boolean isTemporary(Path p) {
    String n = p.getFileName().toString();
    return n.startsWith(".") && n.endsWith(".part");
  }
}
