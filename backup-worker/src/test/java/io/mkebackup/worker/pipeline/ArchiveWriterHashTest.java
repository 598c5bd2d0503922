package io.mkebackup.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.archive.ArchiveMetadata;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files large enough to be hashed on the background thread get the same digests and bytes. */
class ArchiveWriterHashTest {
  @TempDir
  Path spool;

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void largeAndSmallFilesAlternatingKeepTheirOwnDigests() throws Exception {
    Random r = new Random(42);
    byte[][] files = new byte[6][];
    for (int i = 0; i < files.length; i++) {
      files[i] = new byte[i % 2 == 0 ? (int) ArchiveWriter.BACKGROUND_HASH_FROM + 12345 * i : 1000 + i];
      r.nextBytes(files[i]);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ArchiveWriter w = new ArchiveWriter(out, spool, "t1", true)) {
      for (int i = 0; i < files.length; i++) {
        String hex = w.file("./v/f" + i, EntryInfo.rootOwned(0644, Instant.EPOCH), files[i].length,
            new ByteArrayInputStream(files[i]), ArchiveWriter.ByteCounter.NONE);
        assertThat(hex).as("file %d", i).isEqualTo(sha256(files[i]));
      }
      w.finish(new ArchiveMetadata(null, null, null, null, null, null, null, null, List.of(), List.of(), null, false, List.of(), List.of(), null), EntryInfo.rootOwned(0600, Instant.EPOCH), null);
    }
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      for (int i = 0; i < files.length; i++) {
        TarArchiveEntry e = tar.getNextEntry();
        assertThat(e.getName()).isEqualTo("./v/f" + i);
        assertThat(tar.readAllBytes()).isEqualTo(files[i]);
      }
    }
  }

  @Test
  void aLargeFileThatShrinksIsPaddedWithZerosAndHashedAsArchived() throws Exception {
    int declared = (int) ArchiveWriter.BACKGROUND_HASH_FROM + 5000;
    byte[] present = new byte[declared - 3_000_000];
    new Random(7).nextBytes(present);
    byte[] archived = java.util.Arrays.copyOf(present, declared);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ArchiveWriter w = new ArchiveWriter(out, spool, "t2", true)) {
      InputStream shrunk = new ByteArrayInputStream(present);
      String hex = w.file("./v/shrunk", EntryInfo.rootOwned(0644, Instant.EPOCH), declared, shrunk,
          ArchiveWriter.ByteCounter.NONE);
      assertThat(hex).isEqualTo(sha256(archived));
      assertThat(w.warnings()).anyMatch(m -> m.contains("shrank"));
    }
  }
}
