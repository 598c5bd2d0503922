package io.mkebackup.worker.freeze;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.EntryInfo;
import io.mkebackup.worker.source.DiskVolumeSource;
import io.mkebackup.worker.source.DockerEngine;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A staged copy on a real directory: what changes between the unfrozen copy and the frozen walk
 * (the writers' work while we pre-copied) is read again, nothing else is, and the archive holds
 * the volume as it was at the frozen walk, not before it, nor after (the writers run again while
 * the archive is written).
 */
class StagedCopyTest {
  @TempDir
  Path dir;

  /** Every copy began an hour after now: only a change of size, times or inode marks a file changed. */
  static long later() {
    return System.currentTimeMillis() + 3_600_000;
  }

  @Test
  void theArchiveHoldsTheFrozenInstantAndOnlyWhatChangedIsReadFrozen() throws Exception {
    Path vol = Files.createDirectory(dir.resolve("ucp-auth-store-data"));
    Path spool = Files.createDirectory(dir.resolve("spool"));
    byte[] big = new byte[3 << 20];
    new Random(1).nextBytes(big);
    Files.write(vol.resolve("auth.db"), big);
    Files.writeString(vol.resolve("auth.db-wal"), "wal-1");
    Files.writeString(vol.resolve("doomed"), "deleted while we pre-copied");
    Files.writeString(vol.resolve("renamed"), "old inode");
    Files.createDirectory(vol.resolve("sub"));
    Files.writeString(vol.resolve("sub/still"), "never touched");
    DockerEngine.VolumeInfo v = new DockerEngine.VolumeInfo("ucp-auth-store-data", "ucp-auth-store-data", vol);
    List<String> warnings = new ArrayList<>();

    try (StagedCopy copy = new StagedCopy(new DiskVolumeSource(warnings::add), v, spool, StagedCopyTest::later)) {
      assertThat(copy.preCopy()).isEqualTo(big.length + 5 + 27 + 9 + 13);
      assertThat(copy.passes()).isEqualTo(1);

      // The writers' work before the pause: a page rewritten in place (same size), the log
      // grown, a file deleted, one replaced by a rename, one created.
      FileTime dbTime = Files.getLastModifiedTime(vol.resolve("auth.db"));
      try (var ch = java.nio.channels.FileChannel.open(vol.resolve("auth.db"), StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap("PAGE".getBytes(StandardCharsets.US_ASCII)), (2 << 20) + 100);
      }
      // A coarse clock may give the rewrite the same mtime and ctime as the pre-copy saw; the
      // rule for that (a copy that is not older than the file is never trusted) is tested below.
      Files.setLastModifiedTime(vol.resolve("auth.db"), FileTime.fromMillis(dbTime.toMillis() + 1000));
      Files.writeString(vol.resolve("auth.db-wal"), "wal-1+wal-2");
      Files.delete(vol.resolve("doomed"));
      Files.writeString(vol.resolve(".renamed.tmp"), "new inode");
      Files.move(vol.resolve(".renamed.tmp"), vol.resolve("renamed"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      Files.writeString(vol.resolve("new"), "born before the pause");
      Map<String, byte[]> frozen = contents(vol);

      copy.frozenPass(n -> { });
      // Read frozen: the rewritten database, the log, the renamed file, the new file.
      assertThat(copy.frozenFiles()).isEqualTo(4);
      assertThat(copy.frozenBytes()).isEqualTo(big.length + 11 + 9 + 21);

      // The writers run again while the archive is written: none of this may reach it.
      Files.writeString(vol.resolve("auth.db-wal"), "wal-1+wal-2+wal-3");
      Files.writeString(vol.resolve("sub/still"), "touched after the pause");
      Files.writeString(vol.resolve("later"), "born after the pause");
      Files.delete(vol.resolve("new"));

      assertThat(archived(copy, warnings)).containsOnlyKeys(frozen.keySet().toArray(String[]::new))
          .allSatisfy((name, bytes) -> assertThat(bytes).as(name).isEqualTo(frozen.get(name)));
    }
    assertThat(warnings).isEmpty();
    try (var s = Files.list(spool)) {
      assertThat(s.toList()).as("the stage is removed").isEmpty();
    }
  }

  @Test
  void nothingIsReadFrozenWhenNothingChanged() throws Exception {
    Path vol = Files.createDirectory(dir.resolve("ucp-quiet"));
    Files.write(vol.resolve("a"), new byte[5 << 20]);
    Files.writeString(vol.resolve("b"), "b");
    Files.createSymbolicLink(vol.resolve("link"), Path.of("b"));
    DockerEngine.VolumeInfo v = new DockerEngine.VolumeInfo("ucp-quiet", "ucp-quiet", vol);
    try (StagedCopy copy = new StagedCopy(new DiskVolumeSource(w -> { }), v, dir, StagedCopyTest::later)) {
      copy.preCopy();
      copy.frozenPass(n -> { throw new AssertionError("read " + n + " bytes frozen"); });
      assertThat(copy.frozenBytes()).isZero();
      Map<String, byte[]> a = archived(copy, new ArrayList<>());
      assertThat(a.get("./ucp-quiet/a")).hasSize(5 << 20);
      assertThat(a.get("./ucp-quiet/link")).asString(StandardCharsets.UTF_8).isEqualTo("-> b");
    }
  }

  @Test
  void aFreezeThatLastsTooLongStopsTheFrozenPass() throws Exception {
    Path vol = Files.createDirectory(dir.resolve("ucp-slow"));
    Files.write(vol.resolve("db"), new byte[3 << 20]);
    DockerEngine.VolumeInfo v = new DockerEngine.VolumeInfo("ucp-slow", "ucp-slow", vol);
    try (StagedCopy copy = new StagedCopy(new DiskVolumeSource(w -> { }), v, dir, StagedCopyTest::later)) {
      copy.preCopy();
      Files.write(vol.resolve("db"), new byte[4 << 20]); // grown: read again, paused
      // The backup's counter throws once maxFreezeSeconds has passed (VolumeCopy.copy).
      IllegalStateException tooLong = new IllegalStateException("past maxFreezeSeconds");
      long[] read = {0};
      assertThatThrownBy(() -> copy.frozenPass(n -> {
        read[0] += n;
        throw tooLong;
      })).isSameAs(tooLong);
      assertThat(read[0]).isEqualTo(1 << 20); // stopped at the first chunk
      assertThatThrownBy(() -> archived(copy, new ArrayList<>())).isInstanceOf(IllegalStateException.class)
          .hasMessage("no frozen pass yet");
    }
  }

  @Test
  void aCopyNotOlderThanItsFileIsNotTrusted() throws Exception {
    Path f = Files.writeString(dir.resolve("f"), "x");
    Map<String, Object> a = Files.readAttributes(f, DiskVolumeSource.ATTRS, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    long ctime = ((FileTime) a.get("ctime")).to(TimeUnit.MILLISECONDS);
    // The file's times are what the copy saw: trusted only if its ctime is older than the copy
    // by more than a tick of the file-time clock (a write in the same tick keeps the ctime).
    assertThat(StagedCopy.trusted(staged(a, ctime + StagedCopy.RACY_MILLIS + 1), a)).isTrue();
    assertThat(StagedCopy.trusted(staged(a, ctime + 5), a)).isFalse();
    assertThat(StagedCopy.trusted(staged(a, ctime + StagedCopy.RACY_MILLIS), a)).isFalse();
  }

  static StagedCopy.Staged staged(Map<String, Object> a, long copyStart) {
    return new StagedCopy.Staged(a.get("fileKey"), (Long) a.get("size"), (FileTime) a.get("lastModifiedTime"),
        (FileTime) a.get("ctime"), copyStart, 0, (Long) a.get("size"));
  }

  /** Every file's bytes under {@code ./<volume>/}, as the archive names them. */
  static Map<String, byte[]> contents(Path vol) throws Exception {
    Map<String, byte[]> out = new LinkedHashMap<>();
    try (var s = Files.walk(vol)) {
      for (Path p : s.sorted().toList()) {
        String rel = vol.relativize(p).toString();
        String name = "./" + vol.getFileName() + "/" + rel + (Files.isDirectory(p) && !rel.isEmpty() ? "/" : "");
        if (rel.isEmpty()) {
          name = "./" + vol.getFileName() + "/";
        }
        out.put(name, Files.isDirectory(p) ? new byte[0] : Files.readAllBytes(p));
      }
    }
    return out;
  }

  static Map<String, byte[]> archived(StagedCopy copy, List<String> warnings) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ArchiveWriter w = new ArchiveWriter(out, Files.createTempDirectory("staged-copy-test"), "t", false)) {
      copy.writeTo(w, n -> { }, warnings::add);
      w.finish(new ArchiveMetadata(null, null, null, null, null, null, null, null, List.of(), List.of(), null, false, List.of(), List.of(), null), EntryInfo.rootOwned(0600, Instant.EPOCH), null);
    }
    Map<String, byte[]> got = new LinkedHashMap<>();
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        if (e.getName().startsWith("./backup-")) {
          continue; // the metadata
        }
        got.put(e.getName(), e.isSymbolicLink() ? ("-> " + e.getLinkName()).getBytes(StandardCharsets.UTF_8)
            : tar.readAllBytes());
      }
    }
    return got;
  }
}
