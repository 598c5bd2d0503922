package io.mkebackup.worker.pipeline;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.io.Storage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A file that is born complete: bytes go to a hidden {@code .<name>.<random>.part} beside the
 * target, mode 0600; {@link #commit()} fsyncs it, renames it over the target and fsyncs the
 * directory; {@link #close()} without a commit deletes the temporary file. An existing file of the
 * target's name is only ever replaced by a committed file.
 */
public final class AtomicFile implements AutoCloseable {
  private final Path target;
  private final Path temporary;
  private final FileChannel channel;
  private final DirectFileOutputStream direct;
  private final OutputStream stream;
  private boolean committed;
  private boolean closed;

  private AtomicFile(Path target, Path temporary, FileChannel channel, DirectFileOutputStream direct) {
    this.target = target;
    this.temporary = temporary;
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
    Path dir = target.toAbsolutePath().getParent();
    if (!Files.isDirectory(dir)) {
      throw new BackupException(ErrorCode.TARGET_NOT_FOUND,
          "directory " + dir + " does not exist; create it (on shared storage) or pick another");
    }
    Path temporary = dir.resolve("." + target.getFileName() + "." + tag + ".part");
    try {
      FileChannel channel = FileChannel.open(temporary,
          java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      return new AtomicFile(target.toAbsolutePath(), temporary, channel,
          directIo ? DirectFileOutputStream.open(temporary, channel, DirectFileOutputStream.alignment(dir)) : null);
    } catch (AccessDeniedException e) {
      throw Storage.notWritable(dir, e);
    } catch (FileAlreadyExistsException e) {
      throw new BackupException(ErrorCode.INTERNAL, "temporary file " + temporary + " already exists", e);
    } catch (IOException e) {
      throw new BackupException(ErrorCode.TARGET_NOT_WRITABLE,
          "cannot create a file in " + dir + ": " + e.getMessage(), e);
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
    return temporary;
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
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      committed = true;
      fsyncDirectory(target.getParent());
    } catch (IOException e) {
      throw Storage.writeFailed(target.getParent(), e);
    } finally {
      close();
    }
  }

  static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
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
        Files.deleteIfExists(temporary);
      } catch (IOException | RuntimeException ignored) {
        // the directory went away or became read-only; nothing else can be done
      }
    }
  }

  /** For tests: whether the name belongs to a temporary file of this class. */
  public static boolean isTemporary(Path p) {
    String n = p.getFileName().toString();
    return n.startsWith(".") && n.endsWith(".part");
  }
}
