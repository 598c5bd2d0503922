package io.mkebackup.worker.pipeline.openpgp;

import static io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStreamTest.SECRET;
import static io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStreamTest.data;
import static io.mkebackup.worker.pipeline.openpgp.PgpMessageReaderTest.failure;
import static io.mkebackup.worker.pipeline.openpgp.PgpMessageReaderTest.readFast;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Interoperability with stock GnuPG 2.2, run as a process: it reads what we write, we read what it writes. */
@Tag("integration")
class GnupgInteropIT {
  /** The interop contract: stock GnuPG 2.2 decrypts what we write, across partial-body boundaries. */
  @ParameterizedTest
  @ValueSource(ints = {0, 100, 8384, 1048577, 5 * 1048576 + 3})
  void gnupgDecryptsIt(int size, @TempDir Path dir) throws Exception {
    byte[] plain = PgpEncryptingOutputStreamTest.data(size, 7 + size);
    Path enc = dir.resolve("x.gpg");
    Files.write(enc, PgpEncryptingOutputStreamTest.encrypt(plain, 10240, size % 2 == 1));
    Path out = dir.resolve("x.out");
    Process p = new ProcessBuilder("gpg", "--batch", "--homedir", dir.toString(), "--pinentry-mode", "loopback",
        "--passphrase", SECRET, "--output", out.toString(), "--decrypt", enc.toString())
        .redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(log).isZero();
    assertThat(log).contains("AES256");
    assertThat(Files.readAllBytes(out)).isEqualTo(plain);
  }

  /** What GnuPG 2.2 writes: S2K with SHA-1, definite lengths from a file, partial ones from a pipe. */
  @ParameterizedTest
  @CsvSource({"none,0", "none,5000", "none,3145745", "zip,5000", "zip,3145745", "zlib,0", "zlib,3145745",
      "bzip2,5000", "bzip2,3145745", "none,41943040", "zlib,41943040"})
  void readsWhatGnupgWrites(String compression, int size, @TempDir Path dir) throws Exception {
    // Half random, half zeros, so compression has something to do.
    byte[] plain = data(size, size);
    Arrays.fill(plain, size / 2, size, (byte) 0);
    Path in = dir.resolve("in.bin");
    Files.write(in, plain);
    for (boolean fromPipe : new boolean[] {false, true}) {
      Path out = dir.resolve("out.gpg");
      ProcessBuilder gpg = new ProcessBuilder("gpg", "--batch", "--yes", "--homedir", dir.toString(),
          "--pinentry-mode", "loopback", "--passphrase", SECRET, "--symmetric", "--cipher-algo", "AES256",
          "--compress-algo", compression, "--output", out.toString())
          .redirectErrorStream(true);
      if (fromPipe) {
        gpg.redirectInput(in.toFile());
      } else {
        gpg.command().add(in.toString());
      }
      Process p = gpg.start();
      String log = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).as(log).isZero();
      byte[] message = Files.readAllBytes(out);
      assertThat(readFast(message, SECRET)).as("%s, %d bytes, from a pipe: %s", compression, size, fromPipe)
          .isEqualTo(plain);
      if (size > 100_000 && !fromPipe) {
        byte[] flipped = message.clone();
        flipped[flipped.length / 2] ^= 0x10;
        assertThat(failure(flipped).code()).isEqualTo(ErrorCode.ARCHIVE_CORRUPT);
        for (int cut : List.of(flipped.length / 2, flipped.length - 1)) {
          assertThat(failure(Arrays.copyOf(message, cut)).code())
              .isIn(ErrorCode.ARCHIVE_INCOMPLETE, ErrorCode.ARCHIVE_CORRUPT);
        }
      }
    }
    // The agent gpg started would otherwise race the removal of the directory.
    new ProcessBuilder("gpgconf", "--homedir", dir.toString(), "--kill", "gpg-agent").start().waitFor();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      try (var files = Files.list(dir)) {
        return files.noneMatch(f -> f.getFileName().toString().startsWith("S.gpg-agent"));
      }
    });
  }
}
