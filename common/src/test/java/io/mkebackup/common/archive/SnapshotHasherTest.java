package io.mkebackup.common.archive;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SnapshotHasherTest {
  /** A database of whole 512-byte pages followed by its SHA-256, as etcd sends a snapshot. */
  static byte[] snapshot(int pages) throws Exception {
    byte[] db = new byte[pages * 512];
    new Random(pages).nextBytes(db);
    byte[] sha = MessageDigest.getInstance("SHA-256").digest(db);
    byte[] out = Arrays.copyOf(db, db.length + 32);
    System.arraycopy(sha, 0, out, db.length, 32);
    return out;
  }

  static void feed(SnapshotHasher h, byte[] b, int piece) {
    for (int off = 0; off < b.length; off += piece) {
      h.update(b, off, Math.min(piece, b.length - off));
    }
  }

  @Test
  void acceptsAWholeSnapshotInAnyPieces() throws Exception {
    byte[] s = snapshot(40);
    for (int piece : new int[] {1, 7, 31, 32, 33, 512, 4096, s.length}) {
      SnapshotHasher h = new SnapshotHasher(s.length);
      feed(h, s, piece);
      assertThatCode(() -> h.check("snapshot")).as("pieces of %d", piece).doesNotThrowAnyException();
    }
  }

  @Test
  void refusesAFlippedByteInTheDatabaseOrTheTrailer() throws Exception {
    for (int at : new int[] {0, 5000, 40 * 512 - 1, 40 * 512, 40 * 512 + 31}) {
      byte[] s = snapshot(40);
      s[at] ^= 1;
      SnapshotHasher h = new SnapshotHasher(s.length);
      feed(h, s, 1000);
      assertThatThrownBy(() -> h.check("snapshot")).isInstanceOf(BackupException.class)
          .hasMessageContaining("does not match its SHA-256 trailer");
    }
  }

  @Test
  void refusesASizeThatIsNotPagesPlusTrailer() throws Exception {
    byte[] s = Arrays.copyOf(snapshot(40), 40 * 512 + 20);
    SnapshotHasher h = new SnapshotHasher(s.length);
    feed(h, s, 1000);
    assertThatThrownBy(() -> h.check("snapshot")).hasMessageContaining("size % 512 must be 32");
  }

  @Test
  void refusesFewerBytesThanAnnounced() throws Exception {
    byte[] s = snapshot(40);
    SnapshotHasher h = new SnapshotHasher(s.length + 512);
    feed(h, s, 1000);
    assertThatThrownBy(() -> h.check("snapshot")).hasMessageContaining("bytes where");
  }
}
