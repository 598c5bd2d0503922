package io.mkebackup.worker.pipeline.openpgp;

import static io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStreamTest.SECRET;
import static io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStreamTest.data;
import static io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStreamTest.encrypt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Date;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEKeyEncryptionMethodGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The bulk OpenPGP reader on what our writer and GnuPG 2.2 write, whole and damaged. */
class PgpMessageReaderTest {

  /** Decrypts with the bulk reader, failing the test if it would leave the message to Bouncy Castle. */
  static byte[] readFast(byte[] message, String pass) throws IOException {
    try (Passphrase p = Passphrase.of(pass, "passphrase");
        InputStream in = PgpMessageReader.open(new BufferedInputStream(new ByteArrayInputStream(message)), p,
            "passphrase")) {
      assertThat(in).as("the bulk reader takes the message").isNotNull();
      return in.readAllBytes();
    }
  }

  static BackupException failure(byte[] message) {
    Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> readFast(message, SECRET));
    assertThat(t).as("reading the damaged message fails").isInstanceOf(BackupException.class);
    return (BackupException) t;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 15, 16, 17, 185, 186, 191, 192, 8377, 8378, 8383, 8384, 1048570, 1048576, 1048577,
      2 * 1048576 - 6, 2 * 1048576, 3 * 1048576 + 12345})
  void readsEveryFramingOurWriterMakes(int size) throws IOException {
    byte[] plain = data(size, size);
    for (int writeSize : new int[] {1 << 20, 4093}) {
      assertThat(readFast(encrypt(plain, writeSize, writeSize > 5000), SECRET)).as("size %d", size).isEqualTo(plain);
    }
  }

  @Test
  void wrongPassphraseIsNamedAtOpen() throws IOException {
    byte[] message = encrypt(data(5000, 1), 4096);
    assertThatThrownBy(() -> readFast(message, "not the right one"))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.WRONG_PASSPHRASE);
          assertThat(e.field()).isEqualTo("passphrase");
          assertThat(e.getMessage()).doesNotContain(SECRET).doesNotContain("not the right one");
        });
  }

  /** A byte flipped anywhere in the encrypted data, the MDC's header or its hash fails the read. */
  @ParameterizedTest
  @ValueSource(ints = {40, 1000, 1048576 + 10, 2 * 1048576, -22, -21, -20, -10, -1})
  void flippedByteFails(int where) throws IOException {
    byte[] message = encrypt(data(3 * 1048576, 2), 1 << 16);
    int at = where < 0 ? message.length + where : where;
    message[at] ^= 0x01;
    assertThat(failure(message).code()).as("flip at %d of %d", at, message.length).isEqualTo(ErrorCode.ARCHIVE_CORRUPT);
  }

  /** Cut in the headers, in the prefix, at a part boundary, in the middle, in the MDC, one byte short. */
  @ParameterizedTest
  @ValueSource(ints = {5, 16, 20, 30, 1048576 + 17, 1048576 + 18, 1048576 + 19, 1500000, -22, -1})
  void truncatedMessageFails(int cut) throws IOException {
    byte[] message = encrypt(data(3 * 1048576, 3), 1 << 16);
    byte[] shorter = Arrays.copyOf(message, cut < 0 ? message.length + cut : cut);
    assertThat(failure(shorter).code()).as("cut at %d of %d", shorter.length, message.length)
        .isIn(ErrorCode.ARCHIVE_INCOMPLETE, ErrorCode.ARCHIVE_CORRUPT);
  }

  @Test
  void dataAfterTheMessageIsRefused() throws IOException {
    byte[] message = encrypt(data(100_000, 4), 1 << 16);
    byte[] longer = Arrays.copyOf(message, message.length + 7);
    assertThat(failure(longer).getMessage()).contains("after its encrypted packet");
  }

  @Test
  void messageWithoutIntegrityPacketIsRefused() throws IOException {
    byte[] message = encrypt(data(100_000, 5), 1 << 16);
    // Our SEIPD header is at offset 15: 0xD2 (new format, tag 18); 0xC9 makes it tag 9, the old SED packet.
    assertThat(message[15] & 0xFF).isEqualTo(0xD2);
    message[15] = (byte) 0xC9;
    assertThat(failure(message).getMessage()).contains("no OpenPGP integrity packet");
  }

  /** Two session packets with encrypted session keys: left to Bouncy Castle, which decrypts it. */
  @Test
  void unusualMessagesGoToBouncyCastle() throws Exception {
    byte[] plain = data(300_000, 6);
    PGPEncryptedDataGenerator generator = new PGPEncryptedDataGenerator(
        new JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256).setWithIntegrityPacket(true)
            .setSecureRandom(new SecureRandom()));
    var sha256 = new JcaPGPDigestCalculatorProviderBuilder().build().get(HashAlgorithmTags.SHA256);
    generator.addMethod(new JcePBEKeyEncryptionMethodGenerator(SECRET.toCharArray(), sha256));
    generator.addMethod(new JcePBEKeyEncryptionMethodGenerator("another passphrase".toCharArray(), sha256));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (OutputStream enc = generator.open(bytes, new byte[1 << 16]);
        OutputStream lit = new PGPLiteralDataGenerator().open(enc, PGPLiteralData.BINARY, "x", new Date(),
            new byte[1 << 16])) {
      lit.write(plain);
    }
    try (Passphrase p = Passphrase.of(SECRET, "passphrase")) {
      InputStream in = new BufferedInputStream(new ByteArrayInputStream(bytes.toByteArray()));
      assertThat(PgpMessageReader.open(in, p, "passphrase")).isNull();
      assertThat(in.read()).as("the stream is back at its first octet").isEqualTo(bytes.toByteArray()[0] & 0xFF);
      try (InputStream clear = PgpDecryption.open(new ByteArrayInputStream(bytes.toByteArray()), p, "passphrase")) {
        assertThat(clear.readAllBytes()).isEqualTo(plain);
      }
    }
  }

  @Test
  void closingEarlyStopsTheDecryptingThread() throws IOException {
    byte[] message = encrypt(data(8 * 1048576, 7), 1 << 20);
    try (Passphrase p = Passphrase.of(SECRET, "passphrase");
        InputStream in = PgpDecryption.open(new ByteArrayInputStream(message), p, "passphrase")) {
      assertThat(in.readNBytes(1000)).hasSize(1000);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.getName().equals("mke-backup-decrypt")));
  }
}
