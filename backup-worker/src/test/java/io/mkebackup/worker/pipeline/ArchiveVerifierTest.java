package io.mkebackup.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.io.FileNames;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The verifier's refusals, on real archive files made with the archive writer (which writes
 * whatever it is given, so each is otherwise a well-formed backup: metadata with every SHA-256,
 * 27 or more entries, the controller's key).
 */
class ArchiveVerifierTest {
  static final EntryInfo FILE = EntryInfo.rootOwned(0644, Instant.parse("2024-05-01T10:00:00Z"));
  static final EntryInfo DIR = EntryInfo.rootOwned(0755, Instant.parse("2024-05-01T10:00:00Z"));

  @TempDir
  Path dir;

  interface Twist {
    void apply(ArchiveWriter w) throws IOException;
  }

  /** A complete archive, the twist written after the ordinary entries; etcd recorded as left out. */
  Path archive(Twist twist) throws IOException {
    return archive(twist, true);
  }

  Path archive(Twist twist, boolean etcdLeftOut) throws IOException {
    Path file = Files.createTempFile(dir, "a-", ".tar");
    try (OutputStream out = Files.newOutputStream(file);
        ArchiveWriter w = new ArchiveWriter(out, Files.createTempDirectory(dir, "spool"), "t", false)) {
      w.directory("./ucp-controller-server-certs/", DIR);
      small(w, ArchiveLayout.REQUIRED_ENTRY, "key");
      w.directory("./ucp-a/", DIR);
      for (int i = 0; i < 30; i++) {
        small(w, "./ucp-a/f" + i, "content " + i);
      }
      twist.apply(w);
      w.finish(new ArchiveMetadata(null, null, "3.7.0", null, null, null, null, null, List.of(), List.of(), null, etcdLeftOut, List.of(), List.of(), null), FILE, null);
    }
    return file;
  }

  static void small(ArchiveWriter w, String name, String content) throws IOException {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    w.file(name, FILE, b.length, new ByteArrayInputStream(b), ArchiveWriter.ByteCounter.NONE);
  }

  static VerifyReport verify(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return ArchiveVerifier.verify(in, null, "--passphrase");
    }
  }

  void refused(Twist twist, String... why) {
    assertThatThrownBy(() -> verify(archive(twist))).isInstanceOf(BackupException.class)
        .hasMessageContainingAll(why);
  }

  @Test
  void aWellFormedArchivePasses() throws Exception {
    VerifyReport r = verify(archive(w -> {
      w.directory("./ucp-a/sub/", DIR);
      small(w, "./ucp-a/sub/x", "x");
      w.hardlink("./ucp-a/sub/y", "./ucp-a/sub/x", FILE);
      w.symlink("./ucp-a/sub/up", "../f1", FILE);
    }));
    assertThat(r.volumes()).containsExactly("ucp-a", "ucp-controller-server-certs");
    assertThat(r.snapshotEntry()).isNull();
  }

  @Test
  void duplicatePathsAreRefused() {
    refused(w -> small(w, "./ucp-a/f1", "again"), "./ucp-a/f1", "appears twice");
    // A directory entry over a symbolic link is the same path.
    refused(w -> {
      w.symlink("./ucp-a/esc", "f1", FILE);
      w.directory("./ucp-a/esc/", DIR);
    }, "./ucp-a/esc/", "appears twice");
  }

  @Test
  void nothingMayLieBeneathASymbolicLink() {
    refused(w -> {
      w.symlink("./ucp-a/esc", "f1", FILE);
      small(w, "./ucp-a/esc/mke-pwn", "x");
    }, "./ucp-a/esc/mke-pwn", "lies beneath ./ucp-a/esc, which is a symbolic link");
    refused(w -> small(w, "./ucp-a/nodir/x", "x"), "comes before (or without) its directory ./ucp-a/nodir");
  }

  @Test
  void linksLeavingTheVolumeAreRefused() {
    refused(w -> w.symlink("./ucp-a/abs", "/etc", FILE), "./ucp-a/abs", "absolute path /etc");
    refused(w -> w.symlink("./ucp-a/up", "../../x", FILE), "./ucp-a/up", "leaves the volume");
    refused(w -> {
      w.symlink("./ucp-a/esc", "f1", FILE);
      w.hardlink("./ucp-a/h", "./ucp-a/esc/x", FILE);
    }, "./ucp-a/h", "not a regular file before it in the same volume");
    refused(w -> w.hardlink("./ucp-a/h", "/etc/shadow", FILE), "not a regular file");
    refused(w -> w.hardlink("./ucp-a/h", "./ucp-controller-server-certs/key.pem", FILE), "same volume");
    refused(w -> w.hardlink("./ucp-a/h", "./ucp-a/later", FILE), "before it");
  }

  @Test
  void volumesNotNamedUcpAreRefused() {
    refused(w -> {
      w.directory("./evil/", DIR);
      small(w, "./evil/x", "x");
    }, "./evil/", "not an MKE volume");
  }

  @Test
  void aMissingEtcdSnapshotNeedsTheMetadataToSaySo() throws Exception {
    assertThatThrownBy(() -> verify(archive(w -> {}, false))).isInstanceOf(BackupException.class)
        .hasMessageContaining("no etcd snapshot");
  }

  @Test
  void aPassphraseForAPlainArchiveIsRefused() throws Exception {
    Path plain = archive(w -> {});
    try (Passphrase p = Passphrase.of("a passphrase long enough", "--passphrase");
        InputStream in = Files.newInputStream(plain)) {
      assertThatThrownBy(() -> ArchiveVerifier.verify(in, p, "--passphrase")).isInstanceOf(BackupException.class)
          .hasMessageContaining("not encrypted").extracting(e -> ((BackupException) e).code())
          .isEqualTo(ErrorCode.ARCHIVE_UNAUTHENTICATED);
    }
  }

  /**
   * A changed byte in an encrypted archive decrypts to a garbled tar header long before the
   * integrity packet at the end: the user is told of the failed integrity check, not of a strange
   * entry name.
   */
  @Test
  void aDamagedEncryptedArchiveIsReportedAsFailingItsIntegrityCheck() throws Exception {
    // Large enough that decryption, which reads ahead in 1 MiB chunks, is far from the end when the
    // tar reader meets the damaged header.
    byte[] big = new byte[8 << 20];
    byte[] plain = Files.readAllBytes(archive(w -> w.file("./ucp-a/big", FILE, big.length,
        new ByteArrayInputStream(big), ArchiveWriter.ByteCounter.NONE)));
    int header = indexOf(plain, "./ucp-a/f15".getBytes(StandardCharsets.US_ASCII));
    java.io.ByteArrayOutputStream cipher = new java.io.ByteArrayOutputStream();
    try (Passphrase p = Passphrase.of("a passphrase long enough", "--passphrase");
        io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStream enc =
            new io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStream(cipher, p, "b.tar")) {
      enc.write(plain);
    }
    byte[] encrypted = cipher.toByteArray();
    // The OpenPGP framing before the tar is well under 256 bytes: some of these flips land in
    // f15's header name, the rest in its data or the next header; each must read as tampering.
    for (int shift = 0; shift < 256; shift += 16) {
      byte[] damaged = encrypted.clone();
      damaged[header + shift] ^= 0x04;
      try (Passphrase p = Passphrase.of("a passphrase long enough", "--passphrase")) {
        assertThatThrownBy(() -> ArchiveVerifier.verify(new ByteArrayInputStream(damaged), p, "--passphrase"))
            .as("a flip at " + (header + shift)).isInstanceOf(BackupException.class)
            .hasMessageContaining("integrity check");
      }
    }
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }

  @Test
  void devicesAndFifosAreRefused() throws Exception {
    for (byte type : new byte[] {TarConstants.LF_CHR, TarConstants.LF_BLK, TarConstants.LF_FIFO}) {
      Path file = dir.resolve("dev-" + (char) type + ".tar");
      try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(file))) {
        TarArchiveEntry root = new TarArchiveEntry("./ucp-a/", TarConstants.LF_DIR, true);
        tar.putArchiveEntry(root);
        tar.closeArchiveEntry();
        TarArchiveEntry dev = new TarArchiveEntry("./ucp-a/dev", type, true);
        tar.putArchiveEntry(dev);
        tar.closeArchiveEntry();
      }
      assertThatThrownBy(() -> verify(file)).isInstanceOf(BackupException.class)
          .hasMessageContaining("./ucp-a/dev").hasMessageContaining("a backup never holds");
    }
  }

  /** Names that are not UTF-8 pass through the writer, the metadata and the verifier unchanged. */
  @Test
  void namesThatAreNotUtf8AreVerifiedAndHandedOnExactly() throws Exception {
    String bad = "./ucp-a/" + FileNames.decode(new byte[] {'b', (byte) 0xff}) + "-café";
    Path file = archive(w -> small(w, bad, "x"));
    List<String> received = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file)) {
      ArchiveVerifier.verify(in, null, "--passphrase", new Recorder(received));
    }
    assertThat(received).contains("ucp-a/" + bad.substring("./ucp-a/".length()));
  }

  /** Records what a restore would be handed. */
  record Recorder(List<String> names) implements ArchiveSink {
    @Override
    public void directory(String volume, String path, TarArchiveEntry entry) {
      names.add(volume + "/" + path);
    }

    @Override
    public OutputStream file(String volume, String path, TarArchiveEntry entry) {
      names.add(volume + "/" + path);
      return OutputStream.nullOutputStream();
    }

    @Override
    public void hardlink(String volume, String path, String target, TarArchiveEntry entry) {
      names.add(volume + "/" + path);
    }

    @Override
    public void symlink(String volume, String path, String target, TarArchiveEntry entry) {
      names.add(volume + "/" + path);
    }

    @Override
    public OutputStream snapshot(String entry, long size) {
      return OutputStream.nullOutputStream();
    }
  }
}
