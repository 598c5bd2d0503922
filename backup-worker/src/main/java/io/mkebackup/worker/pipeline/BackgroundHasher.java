package io.mkebackup.worker.pipeline;

import io.mkebackup.common.Threads;
import java.io.InterruptedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;

/**
 * SHA-256 on a thread of its own, so that hashing a large file overlaps reading it and writing it
 * to the archive. The producer takes a buffer, fills it, writes it on, then hands it here; the
 * buffer comes back to the pool once hashed, so it is never changed while hashed, and memory is
 * bounded by the pool ({@code depth} buffers).
 */
final class BackgroundHasher implements AutoCloseable {
  private record Chunk(byte[] buffer, int length, CompletableFuture<String> end) {}

  private static final Chunk STOP = new Chunk(null, 0, null);

  private final BlockingQueue<byte[]> pool;
  private final BlockingQueue<Chunk> work;
  private final Thread thread;
  private final MessageDigest sha256;

  BackgroundHasher(int bufferSize, int depth) {
    pool = new ArrayBlockingQueue<>(depth);
    work = new ArrayBlockingQueue<>(depth + 2);
    for (int i = 0; i < depth; i++) {
      pool.add(new byte[bufferSize]);
    }
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    thread = Threads.start("mke-backup-sha256", this::run);
  }

  private void run() {
    while (true) {
      Chunk c;
      try {
        c = work.take();
      } catch (InterruptedException e) {
        return;
      }
      if (c == STOP) {
        return;
      }
      if (c.end() != null) {
        c.end().complete(HexFormat.of().formatHex(sha256.digest()));
      } else {
        sha256.update(c.buffer(), 0, c.length());
        pool.add(c.buffer());
      }
    }
  }

  /** A buffer to fill; waits while all are being hashed. */
  byte[] take() throws InterruptedIOException {
    try {
      return pool.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the hasher");
    }
  }

  /** Hashes the first {@code length} bytes of a buffer from {@link #take()}, then returns it to the pool. */
  void hash(byte[] buffer, int length) throws InterruptedIOException {
    put(new Chunk(buffer, length, null));
  }

  /** Returns a buffer from {@link #take()} unhashed. */
  void giveBack(byte[] buffer) {
    pool.add(buffer);
  }

  /** The digest of everything hashed since the last call (hex), once the hasher has caught up. */
  String digest() throws InterruptedIOException {
    CompletableFuture<String> end = new CompletableFuture<>();
    put(new Chunk(null, 0, end));
    try {
      return end.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for a digest");
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private void put(Chunk c) throws InterruptedIOException {
    try {
      work.put(c);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while handing a chunk to the hasher");
    }
  }

  @Override
  public void close() {
    work.offer(STOP);
  }
}
