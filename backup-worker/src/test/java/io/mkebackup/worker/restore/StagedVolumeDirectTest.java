package io.mkebackup.worker.restore;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.worker.pipeline.UnevenWrites;
import java.io.OutputStream;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Date;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Restored files hold exactly the archive's bytes and attributes whatever their length against
 * the block size and the O_DIRECT threshold; the large ones (the temporary directory is on ext4
 * here) go to the disk past the page cache.
 */
class StagedVolumeDirectTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path dir;

  /** O_DIRECT is what is proved here: required, not left to the code's own rule. */
  @org.junit.jupiter.api.BeforeEach
  void requireDirectIo() throws java.io.IOException {
    io.mkebackup.worker.pipeline.DirectIoRequired.in(dir);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 100, 4 * MIB - 1, 4 * MIB, 4 * MIB + 1, 9 * MIB + 4095})
  void filesKeepEveryByteAndTheirAttributes(int size) throws Exception {
    Path mount = Files.createDirectory(dir.resolve("_data"));
    StagedVolume volume = StagedVolume.open("ucp-test", mount, true, false, false);
    assertThat(volume.writesDirectly()).as("O_DIRECT on " + Files.getFileStore(dir).type()).isTrue();

    byte[] data = new byte[size];
    new Random(size).nextBytes(data);
    TarArchiveEntry entry = new TarArchiveEntry("./ucp-test/f");
    entry.setSize(size);
    entry.setMode(0640);
    entry.setIds(0, 0);
    Instant mtime = Instant.parse("2026-01-02T03:04:05Z");
    entry.setModTime(Date.from(mtime));
    try (OutputStream out = volume.file("f", entry)) {
      UnevenWrites.write(out, data);
    }

    Path f = volume.data().resolve("f");
    if (size > 0) {
      // Before anything reads it back: a file written through the page cache is all resident
      // there, one written with O_DIRECT is not (only its unaligned tail went through the cache).
      try (FileChannel c = FileChannel.open(f, StandardOpenOption.READ)) {
        MappedByteBuffer m = c.map(FileChannel.MapMode.READ_ONLY, 0, size);
        boolean direct = size >= StagedVolume.DIRECT_FROM;
        assertThat(m.isLoaded()).as("all of it in the page cache").isEqualTo(!direct);
      }
    }
    assertThat(Files.readAllBytes(f)).isEqualTo(data);
    assertThat(Files.getAttribute(f, "unix:mode", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0100640);
    assertThat(Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS)).isEqualTo(FileTime.from(mtime));
  }
}
