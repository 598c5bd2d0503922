package io.mkebackup.worker.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.BackupException;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk source against a volume whose file is swapped for a FIFO between the look at it and
 * the open, as a process in a ucp-* container could do. An open for reading of a FIFO waits for a
 * writer forever, so one hit would hang the backup holding the cluster's lock: thousands of walks
 * race a swapper, some walks meet the FIFO, and every one of them ends.
 */
class DiskVolumeSourceRaceTest {
  static final long MAX_WALKS = 20_000;
  @TempDir
  Path dir;

  @Test
  void aFileSwappedForAFifoEndsTheWalkInsteadOfHangingIt() throws Exception {
    Path volume = Files.createDirectory(dir.resolve("ucp-race"));
    Path file = Files.writeString(volume.resolve("f"), "ordinary");
    Path fifo = dir.resolve("fifo");
    Path aside = dir.resolve("aside");
    assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
    Path spool = Files.createDirectory(dir.resolve("spool"));
    DockerEngine.VolumeInfo info = new DockerEngine.VolumeInfo("ucp-race", "ucp-race", volume);

    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong swaps = new AtomicLong();
    CompletableFuture<Void> swapper = CompletableFuture.runAsync(() -> {
      while (!stop.get()) {
        try {
          Files.move(file, aside);
          Files.move(fifo, file);
          Files.move(file, fifo);
          Files.move(aside, file);
          swaps.incrementAndGet();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }
    });
    long[] walks = {0};
    long[] metTheFifo = {0};
    // Attempts, not seconds, bound the race (about one walk in a hundred meets the FIFO here,
    // however busy the machine: both threads slow down alike), and a hang is one walk that does
    // not end: a walk of one small file takes milliseconds, one that opened the FIFO never ends.
    java.util.concurrent.ExecutorService walker = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "race-walker");
      t.setDaemon(true);
      return t;
    });
    try {
      while (metTheFifo[0] < 5 && walks[0] < MAX_WALKS) {
        walks[0]++;
        java.util.concurrent.Future<Boolean> walk = walker.submit(() -> {
          try (ArchiveWriter w = new ArchiveWriter(OutputStream.nullOutputStream(), spool, "t", false)) {
            new DiskVolumeSource(warning -> { }).copy(info, w, ArchiveWriter.ByteCounter.NONE);
            return false;
          } catch (BackupException e) {
            return e.getMessage().contains("a FIFO");
          }
        });
        try {
          if (walk.get(30, TimeUnit.SECONDS)) {
            metTheFifo[0]++;
          }
        } catch (java.util.concurrent.TimeoutException hung) {
          throw new AssertionError("walk " + walks[0] + " opened the FIFO and waits for a writer", hung);
        }
      }
    } finally {
      stop.set(true);
      swapper.get(30, TimeUnit.SECONDS);
      walker.shutdownNow();
    }
    System.out.printf("DiskVolumeSourceRaceTest: %d walks, %d swaps, %d met the FIFO%n", walks[0], swaps.get(),
        metTheFifo[0]);
    assertThat(metTheFifo[0]).as("walks that found the FIFO where the file had been listed").isPositive();
  }
}
