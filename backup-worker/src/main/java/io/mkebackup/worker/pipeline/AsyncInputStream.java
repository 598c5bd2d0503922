package io.mkebackup.worker.pipeline;

import io.mkebackup.common.Threads;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Reads a stream ahead on a thread of its own, so producing the bytes (decrypting, checking) and
 * consuming them (parsing, hashing, writing files) use two cores. Memory is bounded: {@code depth
 * + 1} buffers of {@code bufferSize} bytes. A failure of the source reaches the reader where it
 * happened in the stream, and again on every later read.
 */
public final class AsyncInputStream extends BulkInputStream {
  private record Chunk(byte[] buffer, int length, Throwable failure) {}

  private final InputStream source;
  private final BlockingQueue<Chunk> full;
  private final BlockingQueue<byte[]> free;
  private final Thread reader;
  private Chunk current;
  private int position;
  private boolean closed;

  public AsyncInputStream(InputStream source, int bufferSize, int depth, String threadName) {
    this.source = source;
    this.full = new ArrayBlockingQueue<>(depth + 2);
    this.free = new ArrayBlockingQueue<>(depth + 1);
    for (int i = 0; i < depth + 1; i++) {
      free.add(new byte[bufferSize]);
    }
    this.reader = Threads.start(threadName, this::fill);
  }

  private void fill() {
    try {
      while (true) {
        byte[] b = free.take();
        int n = source.readNBytes(b, 0, b.length);
        full.put(new Chunk(b, n, null));
        if (n < b.length) {
          return;
        }
      }
    } catch (InterruptedException | InterruptedIOException e) {
      // closed by the reader
    } catch (Throwable t) {
      full.offer(new Chunk(null, 0, t));
    }
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (!next()) {
      return -1;
    }
    int n = Math.min(len, current.length - position);
    System.arraycopy(current.buffer, position, b, off, n);
    position += n;
    return n;
  }

  /** Makes {@code current} a chunk with bytes left; false at the end. */
  private boolean next() throws IOException {
    if (closed) {
      throw new IOException("stream closed");
    }
    while (current == null || position == current.length) {
      if (current != null && current.failure != null) {
        rethrow(current.failure);
      }
      if (current != null && current.length < current.buffer.length) {
        return false;
      }
      if (current != null) {
        free.add(current.buffer);
      }
      try {
        current = full.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting for data");
      }
      position = 0;
      if (current.failure != null) {
        rethrow(current.failure);
      }
    }
    return true;
  }

  private static void rethrow(Throwable t) throws IOException {
    if (t instanceof IOException io) {
      throw io;
    }
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IOException(t);
  }

  /** Stops the reading thread (waiting a little for a read in progress) and closes the source. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    reader.interrupt();
    try {
      reader.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    source.close();
  }
}
