package io.mkebackup.worker.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Writes a file sequentially with O_DIRECT: bytes collect in an aligned direct buffer that goes
 * to the disk whole, bypassing the page cache. A backup of several GiB then neither costs the
 * kernel a copy into the cache and its write-back (on a 2-core manager most of the CPU time of
 * writing) nor evicts the cache the manager's own services live on. The last, unaligned bytes
 * go through an ordinary descriptor of the same file in {@link #finish()}. Should the file
 * system refuse a direct write, this stream writes the rest through the ordinary descriptor.
 */
final class DirectFileOutputStream extends OutputStream {
  /** One write to the disk; a multiple of any block size a local file system reports. */
  static final int BUFFER = 1 << 20;

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
  void finish() throws IOException {
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
