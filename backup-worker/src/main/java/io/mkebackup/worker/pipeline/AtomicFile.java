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
  /** Local block-device file systems, where O_DIRECT is cheap and sequential writes are fast. */
  private static final java.util.Set<String> DIRECT_IO_FILE_SYSTEMS = java.util.Set.of("ext2", "ext3", "ext4", "xfs",
      "btrfs");

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
          directIo ? openDirect(temporary, channel) : null);
    } catch (AccessDeniedException e) {
      throw Storage.notWritable(dir, e);
    } catch (FileAlreadyExistsException e) {
      throw new BackupException(ErrorCode.INTERNAL, "temporary file " + temporary + " already exists", e);
    } catch (IOException e) {
      throw new BackupException(ErrorCode.TARGET_NOT_WRITABLE,
          "cannot create a file in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** A direct-I/O stream over the new file, or null where O_DIRECT does not suit or work. */
  private static DirectFileOutputStream openDirect(Path file, FileChannel plain) {
    if ("off".equalsIgnoreCase(System.getenv("MKE_BACKUP_DIRECT_IO"))) {
      return null;
    }
    try {
      java.nio.file.FileStore store = Files.getFileStore(file);
      long block = store.getBlockSize();
      if (!DIRECT_IO_FILE_SYSTEMS.contains(store.type()) || block <= 0 || block > 65536
          || DirectFileOutputStream.BUFFER % block != 0) {
        return null;
      }
      FileChannel direct = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ,
          java.nio.file.LinkOption.NOFOLLOW_LINKS, com.sun.nio.file.ExtendedOpenOption.DIRECT);
      if (!sameFile(plain, direct, (int) block)) {
        direct.close();
        return null;
      }
      return new DirectFileOutputStream(direct, plain, (int) block);
    } catch (IOException | UnsupportedOperationException e) {
      return null;
    }
  }

  /**
   * Whether {@code direct}, opened by name after {@code plain} created the file, is that file.
   * Whoever may write the backup directory could rename a file of their own over the name in
   * between; random bytes written through the first descriptor and read back through the second
   * prove they share the file.
   */
  static boolean sameFile(FileChannel plain, FileChannel direct, int block) throws IOException {
    byte[] nonce = new byte[32];
    new java.security.SecureRandom().nextBytes(nonce);
    plain.write(java.nio.ByteBuffer.wrap(nonce), 0);
    java.nio.ByteBuffer read = java.nio.ByteBuffer.allocateDirect(2 * block).alignedSlice(block);
    read.limit(block);
    int n = direct.read(read, 0);
    plain.truncate(0);
    if (n < nonce.length) {
      return false;
    }
    byte[] got = new byte[nonce.length];
    read.flip().get(got);
    return java.util.Arrays.equals(got, nonce);
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
