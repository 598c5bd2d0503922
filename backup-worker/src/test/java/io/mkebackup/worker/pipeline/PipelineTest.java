package io.mkebackup.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.io.Fence;
import io.mkebackup.worker.pipeline.openpgp.PgpDecryption;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real pipeline (tar, OpenPGP, the writer thread, the atomic file) in-process, on sources and
 * sinks made to fail, in the manner of restic's archiver tests: a failure anywhere stops the run
 * early, stops its threads and leaves nothing at the target; an older file of the same name stays.
 */
class PipelineTest {
  static final long MIB = 1 << 20;
  static final EntryInfo FILE = EntryInfo.rootOwned(0600, Instant.parse("2026-01-01T00:00:00Z"));

  @TempDir
  Path dir;
  @TempDir
  Path spool;
  final String tag = UUID.randomUUID().toString();

  /** {@code size} bytes of a repeating pattern, counting what was read; fails after {@code failAt}. */
  static final class Source extends InputStream {
    final long size;
    final long failAt;
    final AtomicLong read = new AtomicLong();

    Source(long size, long failAt) {
      this.size = size;
      this.failAt = failAt;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      long at = read.get();
      if (at >= failAt) {
        throw new IOException("Input/output error");
      }
      if (at >= size) {
        return -1;
      }
      int n = (int) Math.min(len, Math.min(size, failAt) - at);
      for (int i = 0; i < n; i++) {
        b[off + i] = (byte) ((at + i) % 251);
      }
      read.addAndGet(n);
      return n;
    }
  }

  /** A destination whose stream fails after {@code limit} bytes, as a full disk does. */
  static final class FullDestination implements Pipeline.Destination {
    final long limit;
    final AtomicLong written = new AtomicLong();
    final AtomicBoolean aborted = new AtomicBoolean();
    final AtomicBoolean committed = new AtomicBoolean();

    FullDestination(long limit) {
      this.limit = limit;
    }

    @Override
    public OutputStream stream() {
      return new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          if (written.get() + len > limit) {
            throw new IOException("No space left on device");
          }
          written.addAndGet(len);
        }
      };
    }

    @Override
    public long commit(Fence fence) {
      committed.set(true);
      return written.get();
    }

    @Override
    public void abort() {
      aborted.set(true);
    }
  }

  static Passphrase passphrase() {
    return Passphrase.of("correct horse battery", "passphrase");
  }

  ArchiveMetadata header() {
    return new ArchiveMetadata(null, null, null, tag, null, null, null, null, List.of(), List.of(), null, false, List.of(), List.of(), null);
  }

  List<String> leftovers() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> !n.equals("b.tar")).toList();
    }
  }

  void awaitThreadsGone() {
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Thread.getAllStackTraces().keySet())
        .extracting(Thread::getName).noneMatch(n -> n.equals("mke-backup-writer-" + tag)));
  }

  @Test
  void aFinishedPipelineCommitsAnArchiveGpgFramedWithEveryEntry() throws IOException {
    Path target = dir.resolve("b.tar");
    long archiveBytes;
    try (Passphrase p = passphrase();
        Pipeline pipeline = Pipeline.open(Pipeline.file(target, tag), Fence.NONE, p, "b.tar", spool, tag)) {
      pipeline.archive().directory("./ucp-a/", EntryInfo.rootOwned(0700, FILE.mtime()));
      pipeline.archive().file("./ucp-a/big", FILE, 5 * MIB, new Source(5 * MIB, Long.MAX_VALUE), n -> {});
      pipeline.archive().smallFile("./ucp-a/small", FILE, "hello".getBytes(StandardCharsets.UTF_8));
      archiveBytes = pipeline.finish(header(), FILE, null);
    }

    assertThat(archiveBytes).isEqualTo(Files.size(target));
    assertThat(leftovers()).isEmpty();
    List<String> names = new ArrayList<>();
    try (Passphrase p = passphrase();
        InputStream clear = PgpDecryption.open(Files.newInputStream(target), p, "passphrase");
        TarArchiveInputStream tar = new TarArchiveInputStream(clear)) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        names.add(e.getName() + " " + e.getSize());
      }
    }
    assertThat(names).startsWith("./ucp-a/ 0", "./ucp-a/big " + 5 * MIB, "./ucp-a/small 5");
    awaitThreadsGone();
  }

  @Test
  void aFailingSinkStopsTheRunEarlyAndIsAborted() throws IOException {
    FullDestination destination = new FullDestination(2 * MIB);
    Source source = new Source(256 * MIB, Long.MAX_VALUE);
    try (Pipeline pipeline = Pipeline.open(destination, Fence.NONE, null, "b.tar", spool, tag)) {
      assertThatThrownBy(() -> {
        pipeline.archive().file("./ucp-a/big", FILE, source.size, source, n -> {});
        pipeline.finish(header(), FILE, null);
      }).hasStackTraceContaining("No space left on device");
    }

    assertThat(destination.committed).isFalse();
    assertThat(destination.aborted).isTrue();
    // The pipe holds a few MiB: the source stops soon after the destination, not at its end.
    assertThat(source.read.get()).isLessThan(32 * MIB);
    awaitThreadsGone();
  }

  @Test
  void aFailingSourceLeavesTheOlderFileAndNoTemporary() throws IOException {
    Path target = dir.resolve("b.tar");
    Files.writeString(target, "last night's backup");
    try (Passphrase p = passphrase();
        Pipeline pipeline = Pipeline.open(Pipeline.file(target, tag), Fence.NONE, p, "b.tar", spool, tag)) {
      pipeline.archive().smallFile("./ucp-a/small", FILE, "hello".getBytes(StandardCharsets.UTF_8));
      Source failing = new Source(16 * MIB, 3 * MIB);
      assertThatThrownBy(() -> pipeline.archive().file("./ucp-a/big", FILE, failing.size, failing, n -> {}))
          .hasMessageContaining("Input/output error");
    }

    assertThat(Files.readString(target)).isEqualTo("last night's backup");
    assertThat(leftovers()).isEmpty();
    awaitThreadsGone();
  }

  @Test
  void aRunCancelledByItsFenceLeavesTheOlderFileAndNoTemporary() throws IOException {
    Path target = dir.resolve("b.tar");
    Files.writeString(target, "last night's backup");
    AtomicBoolean lost = new AtomicBoolean();
    Fence fence = () -> {
      if (lost.get()) {
        throw new BackupException(ErrorCode.LEASE_LOST, "this manager lost the cluster's backup lock");
      }
    };
    try (Pipeline pipeline = Pipeline.open(Pipeline.file(target, tag), fence, null, "b.tar", spool, tag)) {
      pipeline.archive().file("./ucp-a/first", FILE, 3 * MIB, new Source(3 * MIB, Long.MAX_VALUE), n -> {});
      lost.set(true);
      assertThatThrownBy(() -> {
        pipeline.archive().file("./ucp-a/second", FILE, 3 * MIB, new Source(3 * MIB, Long.MAX_VALUE), n -> {});
        pipeline.finish(header(), FILE, null);
      }).hasStackTraceContaining("lost the cluster's backup lock");
    }

    assertThat(Files.readString(target)).isEqualTo("last night's backup");
    assertThat(leftovers()).isEmpty();
    awaitThreadsGone();
  }

  @Test
  void aStreamSinkCountsWhatItWrote() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long bytes;
    try (Pipeline pipeline = Pipeline.open(Pipeline.stream(out), Fence.NONE, null, "backup.tar", spool, tag)) {
      pipeline.archive().smallFile("./ucp-a/small", FILE, "hello".getBytes(StandardCharsets.UTF_8));
      bytes = pipeline.finish(header(), FILE, null);
    }
    assertThat(bytes).isEqualTo(out.size()).isPositive();
    assertThat(bytes % 512).isZero();
  }
}
