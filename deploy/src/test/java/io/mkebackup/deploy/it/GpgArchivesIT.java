package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.EntryInfo;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code mke-backup verify} on archives encrypted by GnuPG itself, not by mke-backup: a plain
 * archive (made with the archive writer) put through {@code gpg --symmetric} with each AES key
 * size, with ASCII armor, and with a cipher mke-backup does not read (Camellia). verify names the
 * cipher the archive really uses, reads armor, and names what it cannot read instead of calling it
 * damaged.
 */
@Tag("integration")
class GpgArchivesIT {
  static final String SECRET = "gpg-archives-it-passphrase";
  static Path dir;
  static Path plain;
  static Path passFile;

  @BeforeAll
  static void archive() throws Exception {
    dir = Scratch.dir("gpg-archives-");
    passFile = dir.resolve("pass");
    Files.writeString(passFile, SECRET + "\n");
    plain = dir.resolve("plain.tar");
    EntryInfo file = EntryInfo.rootOwned(0644, Instant.parse("2024-05-01T10:00:00Z"));
    EntryInfo directory = EntryInfo.rootOwned(0755, Instant.parse("2024-05-01T10:00:00Z"));
    try (OutputStream out = Files.newOutputStream(plain);
        ArchiveWriter w = new ArchiveWriter(out, Files.createDirectory(dir.resolve("spool")), "it", false)) {
      w.directory("./ucp-controller-server-certs/", directory);
      small(w, ArchiveLayout.REQUIRED_ENTRY, "key", file);
      w.directory("./ucp-a/", directory);
      for (int i = 0; i < 30; i++) {
        small(w, "./ucp-a/f" + i, "content " + i, file);
      }
      w.finish(new ArchiveMetadata(null, null, "3.7.0", null, null, null, null, null, List.of(), List.of(), null, true, List.of(), List.of(), null), file, null);
    }
  }

  static void small(ArchiveWriter w, String name, String content, EntryInfo info) throws Exception {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    w.file(name, info, b.length, new ByteArrayInputStream(b), ArchiveWriter.ByteCounter.NONE);
  }

  @AfterAll
  static void clean() throws Exception {
    // The agent gpg started would otherwise race the removal of the directory.
    new ProcessBuilder("gpgconf", "--homedir", dir.resolve("gnupg").toString(), "--kill", "gpg-agent").start().waitFor();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      try (var files = Files.list(dir.resolve("gnupg"))) {
        return files.noneMatch(f -> f.getFileName().toString().startsWith("S.gpg-agent"));
      }
    });
    try (var all = Files.walk(dir)) {
      all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** gpg --symmetric on the plain archive, with these options. */
  static Path gpg(String name, String... options) throws Exception {
    Path home = Files.createDirectories(dir.resolve("gnupg"));
    Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    Path out = dir.resolve(name);
    List<String> cmd = new ArrayList<>(List.of("gpg", "--batch", "--yes", "--homedir", home.toString(),
        "--pinentry-mode", "loopback", "--passphrase-file", passFile.toString(), "--symmetric", "--output",
        out.toString()));
    cmd.addAll(List.of(options));
    cmd.add(plain.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(log).isZero();
    return out;
  }

  static Cli.Result verify(Path archive) throws Exception {
    return Cli.run(List.of("verify", archive.toString(), "--passphrase-file", passFile.toString()));
  }

  @ParameterizedTest
  @CsvSource({"AES128,AES-128", "AES192,AES-192", "AES256,AES-256"})
  void verifyNamesTheCipherGpgUsed(String algo, String named) throws Exception {
    Cli.Result r = verify(gpg(algo + ".gpg", "--cipher-algo", algo));
    assertThat(r.exit()).as(r.stderr()).isZero();
    assertThat(r.out()).contains("encrypted (OpenPGP " + named + ", integrity packet checked)")
        .doesNotContain("ASCII-armored");
  }

  @Test
  void verifyReadsAnAsciiArmoredArchive() throws Exception {
    Path armored = gpg("armored.asc", "--cipher-algo", "AES128", "--armor");
    assertThat(Files.readString(armored)).startsWith("-----BEGIN PGP MESSAGE-----");
    Cli.Result r = verify(armored);
    assertThat(r.exit()).as(r.stderr()).isZero();
    assertThat(r.out()).contains("encrypted (OpenPGP AES-128, integrity packet checked), ASCII-armored");
  }

  @Test
  void verifyNamesACipherItDoesNotRead() throws Exception {
    Cli.Result r = verify(gpg("camellia.gpg", "--cipher-algo", "CAMELLIA256"));
    assertThat(r.exit()).isNotZero();
    assertThat(r.stderr()).contains("unsupported cipher Camellia-256").doesNotContain("damaged");
  }
}
