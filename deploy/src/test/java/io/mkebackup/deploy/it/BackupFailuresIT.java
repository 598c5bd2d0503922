package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every way a backup or a verification can fail, through the CLI a user runs: one clear line on
 * stderr, a non-zero exit, nothing left behind, and an existing file of the same name untouched.
 */
@Tag("integration")
class BackupFailuresIT {
  static final String SECRET = "failure tests secret";
  static final String OLD = "an earlier backup that must survive";
  static DemoFixture demo;
  static Path goodEncrypted;
  static Path goodPlain;
  @TempDir
  static Path shared;

  @BeforeAll
  static void up() throws Exception {
    demo = DemoFixture.create(50, 0);
    goodEncrypted = shared.resolve("good.tar");
    Cli.Result r = backup(List.of("--file", goodEncrypted.toString(), "--passphrase", SECRET));
    assertThat(r.exit()).as(r.stderr()).isZero();
    goodPlain = shared.resolve("good-plain.tar");
    r = backup(List.of("--file", goodPlain.toString(), "--no-passphrase"));
    assertThat(r.exit()).as(r.stderr()).isZero();
  }

  @AfterAll
  static void down() throws IOException {
    demo.close();
  }

  static Cli.Result backup(List<String> options) throws Exception {
    List<String> args = new ArrayList<>(List.of("backup"));
    args.addAll(demo.cliOptions());
    args.addAll(options);
    return Cli.run(args);
  }

  /** A directory holding only an older backup of the name the failing run targets. */
  static Path withExistingBackup(Path dir) throws IOException {
    Files.writeString(dir.resolve("b.tar"), OLD);
    return dir.resolve("b.tar");
  }

  static void assertOneLineFailure(Cli.Result r, int exit, String... fragments) {
    assertThat(r.exit()).as(r.stderr()).isEqualTo(exit);
    List<String> errors = r.stderr().lines().filter(l -> l.startsWith("mke-backup: error: ")).toList();
    assertThat(errors).as(r.stderr()).hasSize(1);
    assertThat(errors.get(0)).doesNotContain(SECRET).doesNotContain("Exception");
    if (fragments.length > 0) {
      assertThat(errors.get(0)).contains(fragments);
    }
  }

  static void assertUntouched(Path dir, Path existing) throws IOException {
    assertThat(Tools.listing(dir)).containsExactly(existing.getFileName().toString());
    assertThat(Files.readString(existing)).isEqualTo(OLD);
  }

  @Test
  void shortPassphraseIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
    Path existing = withExistingBackup(dir);
    Cli.Result r = backup(List.of("--file", existing.toString(), "--passphrase", "elevenchars"));
    assertOneLineFailure(r, 2, "--passphrase", "12");
    assertThat(r.stderr()).doesNotContain("elevenchars");
    assertUntouched(dir, existing);
  }

  @Test
  void missingPassphraseChoiceIsRefused(@TempDir Path dir) throws Exception {
    Path existing = withExistingBackup(dir);
    assertOneLineFailure(backup(List.of("--file", existing.toString())), 2, "--passphrase", "--no-passphrase");
    assertUntouched(dir, existing);
  }

  @Test
  void missingTargetDirectoryIsNamed(@TempDir Path dir) throws Exception {
    Path target = dir.resolve("no/such/dir/b.tar");
    assertOneLineFailure(backup(List.of("--file", target.toString(), "--passphrase", SECRET)), 1,
        dir.resolve("no/such/dir").toString(), "does not exist");
    assertThat(Tools.listing(dir)).isEmpty();
  }

  @Test
  void directoryNotWritableByTheUserIsNamedWithTheUid(@TempDir Path dir) throws Exception {
    Path existing = withExistingBackup(dir);
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(existing, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    List<String> args = new ArrayList<>(List.of("backup"));
    args.addAll(demo.cliOptions());
    args.addAll(List.of("--file", existing.toString(), "--passphrase", SECRET));
    Path out = Scratch.file("nobody-out-", ".bin");
    out.toFile().setWritable(true, false);
    Cli.Result r = Cli.runAs(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), List.of(),
        args, null, out);
    assertOneLineFailure(r, 1, dir.toString(), "not writable", "uid 65534");
    assertUntouched(dir, existing);
  }

  @Test
  void readOnlyFileSystemIsNamed(@TempDir Path dir) throws Exception {
    Path mnt = Files.createDirectory(dir.resolve("ro"));
    assertThat(Tools.sh("mount -t tmpfs -o size=1m,ro tmpfs " + mnt).exit()).isZero();
    try {
      assertOneLineFailure(backup(List.of("--file", mnt.resolve("b.tar").toString(), "--passphrase", SECRET)), 1,
          mnt.toString(), "not writable", "read-only file system");
      assertThat(Tools.listing(mnt)).isEmpty();
    } finally {
      Tools.sh("umount " + mnt);
    }
  }

  /**
   * The estimate cannot see volumes read through Docker, so the disk fills mid-stream: on tmpfs
   * (written through the page cache) and on ext4 (written with O_DIRECT).
   */
  @ParameterizedTest
  @ValueSource(strings = {"tmpfs", "ext4"})
  void diskFullMidStreamLeavesNothingAndKeepsTheOldFile(String fileSystem, @TempDir Path dir) throws Exception {
    Path mnt = Files.createDirectory(dir.resolve("small"));
    Path image = dir.resolve("small.img");
    String mount = fileSystem.equals("tmpfs") ? "mount -t tmpfs -o size=3m tmpfs " + mnt
        : "truncate -s 4M " + image + " && mkfs.ext4 -q -F -O ^has_journal " + image + " && mount -o loop " + image
            + " " + mnt;
    Tools.Out mounted = Tools.sh(mount);
    assertThat(mounted.exit()).as(mounted.toString()).isZero();
    try {
      assertThat(Files.getFileStore(mnt).type()).isEqualTo(fileSystem);
      Path target = Files.createDirectory(mnt.resolve("backups")); // beside ext4's lost+found
      Path existing = withExistingBackup(target);
      Cli.Result r = backup(List.of("--file", existing.toString(), "--passphrase", SECRET, "--source", "docker"));
      assertOneLineFailure(r, 1, "no space left in " + target);
      assertUntouched(target, existing);
    } finally {
      Tools.sh("umount " + mnt);
    }
  }

  @Test
  void etcdDownIsNamed(@TempDir Path dir) throws Exception {
    Path existing = withExistingBackup(dir);
    List<String> args = new ArrayList<>(List.of("backup", "--volume-prefix", demo.prefix, "--etcd-endpoint",
        "http://127.0.0.1:" + DemoFixture.freePort(), "--file", existing.toString(), "--passphrase", SECRET));
    assertOneLineFailure(Cli.run(args), 1, "etcd (ucp-kv) does not answer at http://127.0.0.1:");
    assertUntouched(dir, existing);
  }

  /**
   * An etcd that takes the connection and never answers: given up after --etcd-timeout (not the
   * default 30 s), named; a time-out out of range is refused naming the option.
   */
  @Test
  void aSilentEtcdIsGivenUpAfterEtcdTimeout(@TempDir Path dir) throws Exception {
    Path existing = withExistingBackup(dir);
    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      List<java.net.Socket> held = java.util.Collections.synchronizedList(new ArrayList<>());
      Thread accept = new Thread(() -> {
        try {
          while (true) {
            held.add(silent.accept());
          }
        } catch (IOException closed) {
          // the test is over
        }
      });
      accept.setDaemon(true);
      accept.start();
      List<String> args = new ArrayList<>(List.of("backup", "--volume-prefix", demo.prefix, "--etcd-endpoint",
          "http://127.0.0.1:" + silent.getLocalPort(), "--etcd-timeout", "2", "--file", existing.toString(),
          "--passphrase", SECRET));
      long start = System.nanoTime();
      Cli.Result r = Cli.run(args);
      double seconds = (System.nanoTime() - start) / 1e9;
      assertOneLineFailure(r, 1, "etcd (ucp-kv) does not answer at http://127.0.0.1:" + silent.getLocalPort(),
          "DEADLINE_EXCEEDED");
      assertThat(seconds).as("given up after about 2 s, not 30").isLessThan(20);
      assertThat(held).as("it did connect").isNotEmpty();
      for (java.net.Socket s : held) {
        s.close();
      }
    }
    assertUntouched(dir, existing);
    for (String bad : new String[] {"0", "601"}) {
      assertOneLineFailure(Cli.run(List.of("backup", "--etcd-endpoint", "http://127.0.0.1:1", "--etcd-timeout", bad,
          "--file", existing.toString(), "--passphrase", SECRET)), 2,
          "--etcd-timeout must be a number of seconds from 1 to 600, not " + bad);
    }
    assertUntouched(dir, existing);
  }

  @Test
  void unreachableDockerEngineIsNamed(@TempDir Path dir) throws Exception {
    Path existing = withExistingBackup(dir);
    List<String> args = new ArrayList<>(List.of("backup", "--docker-host", "unix:///run/no-such-docker.sock",
        "--file", existing.toString(), "--passphrase", SECRET));
    assertOneLineFailure(Cli.run(args), 1, "cannot reach the Docker engine at unix:///run/no-such-docker.sock");
    assertUntouched(dir, existing);
  }

  @Test
  void verifyNamesAWrongPassphrase() throws Exception {
    Cli.Result r = Cli.run(List.of("verify", goodEncrypted.toString(), "--passphrase", "a wrong passphrase"));
    assertOneLineFailure(r, 1, "passphrase does not decrypt");
    assertThat(r.stderr()).doesNotContain("a wrong passphrase");
  }

  /**
   * Cuts anywhere in an OpenPGP message; in a plain tar, inside the metadata entry, before the
   * end-of-archive blocks, and between the two (cutting only the zero padding after them loses
   * nothing, and GNU tar and verify rightly accept that).
   */
  @Test
  void verifyCatchesATruncatedArchive(@TempDir Path dir) throws Exception {
    long encrypted = Files.size(goodEncrypted);
    long lastData = lastNonZeroByte(goodPlain);
    long dataEnd = (lastData / 512 + 1) * 512;
    List<Object[]> cuts = List.of(
        new Object[] {goodEncrypted, encrypted / 2}, new Object[] {goodEncrypted, encrypted - 1},
        new Object[] {goodEncrypted, encrypted - 2000},
        new Object[] {goodPlain, Files.size(goodPlain) / 2}, new Object[] {goodPlain, lastData - 100},
        new Object[] {goodPlain, dataEnd}, new Object[] {goodPlain, dataEnd + 512});
    for (Object[] c : cuts) {
      Path good = (Path) c[0];
      long cut = (Long) c[1];
      Path truncated = dir.resolve("cut-" + cut + "-" + good.getFileName());
      try (var in = Files.newInputStream(good); var out = Files.newOutputStream(truncated)) {
        out.write(in.readNBytes((int) cut));
      }
      List<String> args = new ArrayList<>(List.of("verify", truncated.toString()));
      if (good == goodEncrypted) {
        args.addAll(List.of("--passphrase", SECRET));
      }
      Cli.Result r = Cli.run(args);
      assertOneLineFailure(r, 1);
      assertThat(r.stderr()).as(truncated.toString()).containsAnyOf("cut short", "ends too early");
    }
    Path paddingOnly = dir.resolve("padding-cut.tar");
    try (var in = Files.newInputStream(goodPlain); var out = Files.newOutputStream(paddingOnly)) {
      out.write(in.readNBytes((int) dataEnd + 1024));
    }
    Cli.Result whole = Cli.run(List.of("verify", paddingOnly.toString()));
    assertThat(whole.exit()).as(whole.stderr()).isZero();
  }

  static long lastNonZeroByte(Path p) throws IOException {
    byte[] all = Files.readAllBytes(p); // a small test archive
    for (int i = all.length - 1; i >= 0; i--) {
      if (all[i] != 0) {
        return i;
      }
    }
    throw new IllegalStateException("all zeros");
  }

  @Test
  void verifyCatchesAFlippedByte(@TempDir Path dir) throws Exception {
    for (Path good : List.of(goodEncrypted, goodPlain)) {
      Path flipped = dir.resolve("flipped-" + good.getFileName());
      Files.copy(good, flipped);
      // Encrypted: any byte mid-archive, which the OpenPGP integrity packet (MDC) covers. Plain: a
      // byte in the middle of the largest volume file's data, so the one reason that can be right is
      // that entry's SHA-256 in the metadata.
      long at = flipped.toFile().length() / 2;
      String entry = null;
      if (good == goodPlain) {
        try (org.apache.commons.compress.archivers.tar.TarFile tar =
            new org.apache.commons.compress.archivers.tar.TarFile(flipped.toFile())) {
          org.apache.commons.compress.archivers.tar.TarArchiveEntry largest = tar.getEntries().stream()
              .filter(e -> e.isFile() && e.getSize() > 0 && !e.getName().startsWith("./ucp-backup/")
                  && !e.getName().equals("./backup-metadata.json"))
              .max(java.util.Comparator.comparingLong(org.apache.commons.compress.archivers.tar.TarArchiveEntry::getSize))
              .orElseThrow();
          entry = largest.getName();
          at = largest.getDataOffset() + largest.getSize() / 2;
        }
      }
      try (RandomAccessFile f = new RandomAccessFile(flipped.toFile(), "rw")) {
        f.seek(at);
        int b = f.read();
        f.seek(at);
        f.write(b ^ 0x10);
      }
      List<String> args = new ArrayList<>(List.of("verify", flipped.toString()));
      if (good == goodEncrypted) {
        args.addAll(List.of("--passphrase", SECRET));
      }
      Cli.Result r = Cli.run(args);
      if (good == goodEncrypted) {
        assertOneLineFailure(r, 1, "failed its OpenPGP integrity check");
      } else {
        assertOneLineFailure(r, 1, entry.substring(2), "differs from what the metadata recorded");
      }
    }
    // And the originals still pass.
    assertThat(Cli.run(List.of("verify", goodPlain.toString())).exit()).isZero();
    Cli.Result ok = Cli.run(List.of("verify", goodEncrypted.toString(), "--passphrase", SECRET));
    assertThat(ok.exit()).as(ok.stderr()).isZero();
    assertThat(ok.out()).startsWith("OK ");
  }
}
