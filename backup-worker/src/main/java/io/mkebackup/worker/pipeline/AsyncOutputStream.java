package io.mkebackup.worker.pipeline;

import io.mkebackup.common.Threads;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Hands full buffers to a thread of its own that writes them downstream, so producing the archive
 * (reading and hashing files) and consuming it (encrypting and writing) use both cores. Memory is
 * bounded: {@code depth + 2} buffers of {@code bufferSize} bytes. A downstream failure surfaces on
 * the producer's next write, or on close.
 */
public final class AsyncOutputStream extends OutputStream {
  private static final byte[] END = new byte[0];

  private final OutputStream downstream;
  private final BlockingQueue<byte[]> full;
  private final BlockingQueue<byte[]> free;
  private final Thread writer;
  private final int bufferSize;
  private byte[] current;
  private int count;
  private volatile Throwable failure;
  private boolean closed;

  public AsyncOutputStream(OutputStream downstream, int bufferSize, int depth, String threadName) {
    this.downstream = downstream;
    this.bufferSize = bufferSize;
    this.full = new ArrayBlockingQueue<>(depth + 1);
    this.free = new ArrayBlockingQueue<>(depth + 2);
    for (int i = 0; i < depth + 1; i++) {
      free.add(new byte[bufferSize]);
    }
    this.current = new byte[bufferSize];
    this.writer = Threads.start(threadName, this::drain);
  }

  private void drain() {
    try {
      while (true) {
        byte[] b = full.take();
        if (b == END) {
          downstream.flush();
          return;
        }
        // Every queued buffer is full except the last, which finish() copies to its exact length.
        downstream.write(b, 0, b.length);
        free.put(b);
      }
    } catch (Throwable t) {
      failure = t;
      full.clear();
      free.clear();
    }
  }

  @Override
  public void write(int b) throws IOException {
    if (count == bufferSize) {
      handOff();
    }
    current[count++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      if (count == bufferSize) {
        handOff();
      }
      int n = Math.min(len, bufferSize - count);
      System.arraycopy(b, off, current, count, n);
      count += n;
      off += n;
      len -= n;
    }
  }

  private void handOff() throws IOException {
    rethrow();
    try {
      byte[] next = null;
      while (next == null) {
        next = free.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
        rethrow();
      }
      full.put(current);
      current = next;
      count = 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while handing a buffer to the writer");
    }
  }

  private void rethrow() throws IOException {
    Throwable t = failure;
    if (t instanceof IOException io) {
      throw io;
    }
    if (t instanceof RuntimeException re) {
      throw re;
    }
    if (t != null) {
      throw new IOException(t);
    }
  }

  /** Writes what is pending, waits for the writer to finish, and closes nothing downstream. */
  public void finish() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (count > 0) {
        byte[] last = java.util.Arrays.copyOf(current, count);
        full.put(last);
      }
      full.put(END);
      writer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      writer.interrupt();
      throw new InterruptedIOException("interrupted while waiting for the writer");
    }
    rethrow();
  }

  /** Stops the writer without writing what is pending (the backup failed). */
  public void abort() {
    closed = true;
    writer.interrupt();
    try {
      writer.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() throws IOException {
    finish();
  }
}
