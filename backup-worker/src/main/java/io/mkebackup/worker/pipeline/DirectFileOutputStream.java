package io.mkebackup.worker.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Set;

/**
 * Writes a file sequentially with O_DIRECT: bytes collect in an aligned direct buffer that goes
 * to the disk whole, bypassing the page cache. A backup of several GiB then neither costs the
 * kernel a copy into the cache and its write-back (on a 2-core manager most of the CPU time of
 * writing) nor evicts the cache the manager's own services live on. The last, unaligned bytes
 * go through an ordinary descriptor of the same file in {@link #finish()}. Should the file
 * system refuse a direct write, this stream writes the rest through the ordinary descriptor.
 */
public final class DirectFileOutputStream extends OutputStream {
  /** One write to the disk; a multiple of any block size a local file system reports. */
  static final int BUFFER = 1 << 20;
  /** Local block-device file systems, where O_DIRECT is cheap and sequential writes are fast. */
  private static final Set<String> DIRECT_IO_FILE_SYSTEMS = Set.of("ext2", "ext3", "ext4", "xfs", "btrfs");

  private FileChannel direct;
  private final FileChannel plain;
  private final int alignment;
  private final ByteBuffer buffer;
  private long position;
  private boolean finished;

  /**
   * @param direct the file, opened for writing with {@code ExtendedOpenOption.DIRECT}
   * @param plain the same file, opened for writing without it
   * @param alignment the file system's block size; divides {@link #BUFFER}
   */
  DirectFileOutputStream(FileChannel direct, FileChannel plain, int alignment) {
    this.direct = direct;
    this.plain = plain;
    this.alignment = alignment;
    this.buffer = ByteBuffer.allocateDirect(BUFFER + alignment).alignedSlice(alignment);
    buffer.limit(BUFFER);
  }

  /**
   * The alignment O_DIRECT needs for files in {@code dir} (its file system's block size), or 0
   * where it does not suit: not a local file system of {@link #DIRECT_IO_FILE_SYSTEMS} (NFS,
   * tmpfs), an odd block size, or the environment variable {@code MKE_BACKUP_DIRECT_IO} is
   * {@code off}.
   */
  public static int alignment(Path dir) {
    if ("off".equalsIgnoreCase(System.getenv("MKE_BACKUP_DIRECT_IO"))) {
      return 0;
    }
    try {
      java.nio.file.FileStore store = Files.getFileStore(dir);
      long block = store.getBlockSize();
      if (!DIRECT_IO_FILE_SYSTEMS.contains(store.type()) || block <= 0 || block > 65536 || BUFFER % block != 0) {
        return 0;
      }
      return (int) block;
    } catch (IOException | UnsupportedOperationException e) {
      return 0;
    }
  }

  /**
   * A direct-I/O stream over {@code file}, which the caller has just created and holds open as
   * {@code plain} (empty); null where O_DIRECT does not work there or the name no longer leads to
   * {@code plain}'s file. Write, then {@link #finish()}, then {@link #close()}; {@code plain}
   * stays the caller's to force and close.
   *
   * @param alignment from {@link #alignment(Path)} for the file's directory; 0 gives null
   */
  public static DirectFileOutputStream open(Path file, FileChannel plain, int alignment) {
    return open(() -> FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ,
        LinkOption.NOFOLLOW_LINKS, com.sun.nio.file.ExtendedOpenOption.DIRECT), plain, alignment);
  }

  /** Opens a file for writing with O_DIRECT, by name or relative to an open directory. */
  @FunctionalInterface
  public interface DirectOpener {
    FileChannel open() throws IOException;
  }

  /** As {@link #open(Path, FileChannel, int)}, the second descriptor opened by {@code opener}. */
  public static DirectFileOutputStream open(DirectOpener opener, FileChannel plain, int alignment) {
    if (alignment <= 0) {
      return null;
    }
    FileChannel direct = null;
    try {
      direct = opener.open();
      if (sameFile(plain, direct, alignment)) {
        return new DirectFileOutputStream(direct, plain, alignment);
      }
    } catch (IOException | UnsupportedOperationException e) {
      // no O_DIRECT here: the caller writes through plain
    }
    if (direct != null) {
      try {
        direct.close();
      } catch (IOException ignored) {
        // nothing was written through it
      }
    }
    return null;
  }

  /**
   * Whether {@code direct}, opened by name after {@code plain} created the file, is that file.
   * Whoever may write the directory could rename a file of their own over the name in between;
   * random bytes written through the first descriptor and read back through the second prove they
   * share the file.
   */
  static boolean sameFile(FileChannel plain, FileChannel direct, int block) throws IOException {
    byte[] nonce = new byte[32];
    new SecureRandom().nextBytes(nonce);
    plain.write(ByteBuffer.wrap(nonce), 0);
    int n;
    ByteBuffer read = ByteBuffer.allocateDirect(2 * block).alignedSlice(block);
    try {
      read.limit(block);
      n = direct.read(read, 0);
    } finally {
      plain.truncate(0);
    }
    if (n < nonce.length) {
      return false;
    }
    byte[] got = new byte[nonce.length];
    read.flip().get(got);
    return Arrays.equals(got, nonce);
  }

  @Override
  public void write(int b) throws IOException {
    if (!buffer.hasRemaining()) {
      drain(BUFFER);
    }
    buffer.put((byte) b);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      if (!buffer.hasRemaining()) {
        drain(BUFFER);
      }
      int n = Math.min(len, buffer.remaining());
      buffer.put(b, off, n);
      off += n;
      len -= n;
    }
  }

  /** Writes the buffer's first {@code n} bytes (a multiple of the alignment) and keeps the rest. */
  private void drain(int n) throws IOException {
    int filled = buffer.position();
    buffer.flip().limit(n);
    if (direct != null) {
      try {
        writeAll(direct);
      } catch (IOException e) {
        if (!String.valueOf(e.getMessage()).contains("Invalid argument")) {
          throw e;
        }
        // The file system takes O_DIRECT at open but not at write (some FUSE and network ones).
        direct.close();
        direct = null;
      }
    }
    writeAll(plain);
    buffer.limit(filled);
    buffer.compact();
    buffer.limit(BUFFER);
  }

  /** Writes the buffer from its position to its limit at the file's current position. */
  private void writeAll(FileChannel channel) throws IOException {
    while (buffer.hasRemaining()) {
      position += channel.write(buffer, position);
    }
  }

  /** Writes what is pending: the aligned part directly, the tail through the ordinary descriptor. */
  public void finish() throws IOException {
    if (finished) {
      return;
    }
    finished = true;
    int pending = buffer.position();
    int aligned = pending - pending % alignment;
    if (aligned > 0) {
      drain(aligned);
    }
    if (buffer.position() > 0) {
      buffer.flip();
      writeAll(plain);
      buffer.clear();
    }
  }

  /** Closes the direct descriptor; the ordinary one belongs to the caller. */
  @Override
  public void close() throws IOException {
    if (direct != null) {
      direct.close();
      direct = null;
    }
  }
}
