package io.mkebackup.worker.pipeline.openpgp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PgpEncryptingOutputStreamTest {
  static final String SECRET = "correct horse battery";

  static byte[] data(int size, long seed) {
    byte[] b = new byte[size];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < size; i++) {
      b[i] = (byte) r.nextInt(256);
    }
    return b;
  }

  static byte[] encrypt(byte[] plain, int writeSize) throws IOException {
    return encrypt(plain, writeSize, false);
  }

  static byte[] encrypt(byte[] plain, int writeSize, boolean pipelined) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (Passphrase p = Passphrase.of(SECRET, "passphrase");
        PgpEncryptingOutputStream enc = new PgpEncryptingOutputStream(out, p, "backup.tar", pipelined)) {
      for (int off = 0; off < plain.length; off += writeSize) {
        enc.write(plain, off, Math.min(writeSize, plain.length - off));
      }
    }
    return out.toByteArray();
  }

  static byte[] decryptWithBouncyCastle(byte[] cipher, String pass) throws IOException {
    try (Passphrase p = Passphrase.of(pass, "passphrase");
        InputStream in = PgpDecryption.openWithBouncyCastle(
            new java.io.BufferedInputStream(new ByteArrayInputStream(cipher)), p, "passphrase")) {
      return in.readAllBytes();
    }
  }

  /** Sizes around every framing edge: empty, tiny, the 192 and 8384 length codings, one chunk, chunks plus one. */
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 15, 16, 17, 185, 186, 191, 192, 8377, 8378, 8383, 8384, 1048570, 1048576, 1048577,
      2 * 1048576 - 6, 2 * 1048576, 3 * 1048576 + 12345})
  void bouncyCastleReadsEveryFraming(int size) throws IOException {
    byte[] plain = data(size, size);
    // One write of the whole message (2 MiB pieces past 4 MiB) and three sizes that cut it.
    for (int writeSize : new int[] {1 << 20, 10240, 4093, size + 7 > (1 << 22) ? 1 << 21 : size + 7}) {
      for (boolean pipelined : new boolean[] {false, true}) {
        assertThat(decryptWithBouncyCastle(encrypt(plain, writeSize, pipelined), SECRET))
            .as("size %d, writes of %d, pipelined %s", size, writeSize, pipelined).isEqualTo(plain);
      }
    }
  }

  @Test
  void wrongPassphraseIsNamed() throws IOException {
    byte[] cipher = encrypt(data(5000, 1), 4096);
    assertThatThrownBy(() -> decryptWithBouncyCastle(cipher, "not the right one"))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.WRONG_PASSPHRASE);
          assertThat(e.getMessage()).contains("passphrase").doesNotContain(SECRET).doesNotContain("not the right one");
        });
  }

  @Test
  void flippedByteFailsIntegrityCheck() throws IOException {
    byte[] cipher = encrypt(data(3 * 1048576, 2), 1 << 16);
    cipher[cipher.length / 2] ^= 0x01;
    assertThatThrownBy(() -> decryptWithBouncyCastle(cipher, SECRET))
        .isInstanceOfSatisfying(BackupException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.ARCHIVE_CORRUPT));
  }

  @Test
  void truncatedMessageFails() throws IOException {
    byte[] cipher = encrypt(data(3 * 1048576, 3), 1 << 16);
    byte[] cut = Arrays.copyOf(cipher, cipher.length - 1000);
    assertThatThrownBy(() -> decryptWithBouncyCastle(cut, SECRET))
        .isInstanceOfSatisfying(BackupException.class,
            e -> assertThat(e.code()).isIn(ErrorCode.ARCHIVE_INCOMPLETE, ErrorCode.ARCHIVE_CORRUPT));
  }

  @Test
  void shortPassphraseIsRefusedNamingTheField() {
    assertThatThrownBy(() -> Passphrase.of("elevenchars", "passphrase"))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.field()).isEqualTo("passphrase");
          assertThat(e.getMessage()).contains("passphrase").contains("12").doesNotContain("elevenchars");
        });
  }

  @Test
  void passphraseNeverPrints() {
    assertThat(Passphrase.of(SECRET, "p").toString()).doesNotContain(SECRET);
  }
}
