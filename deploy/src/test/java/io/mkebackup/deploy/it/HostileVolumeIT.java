package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.io.FileNames;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.backup.BackupProcedure;
import io.mkebackup.worker.backup.BackupRequest;
import io.mkebackup.worker.pipeline.SpoolDirectory;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.EtcdClient;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Backups of a manager whose backup directory and volumes are written by someone else: spools
 * never go to the backup directory, a volume that swaps its files and directories for links to a
 * canary never gets the canary into the archive, and names that are not UTF-8 are kept byte for
 * byte with no locale at all. The real engine, etcd, GnuPG and GNU tar.
 */
@Tag("integration")
class HostileVolumeIT {
  static final String SECRET = "hostile volume passphrase";
  static DemoFixture demo;
  /** A value in etcd: a clear snapshot anywhere shows it. */
  static final String ETCD_MARKER = "etcd-secret-" + UUID.randomUUID();

  @BeforeAll
  static void up() throws IOException {
    demo = DemoFixture.create(20, 0);
    try (EtcdClient etcd = EtcdClient.connect(demo.etcdEndpoint())) {
      etcd.put("/registry/secrets/default/hostile-volume-it", ETCD_MARKER);
    }
  }

  @AfterAll
  static void down() throws IOException {
    demo.close();
  }

  enum Planted { SYMLINK, FOREIGN_FILE }

  /**
   * Under every name the spools once had in the backup directory, a link to a canary or a 0666
   * file of another user waits: the backup succeeds, touches none of them, and leaves nothing in
   * clear anywhere (its spools were in a private directory, now gone).
   */
  @ParameterizedTest
  @EnumSource(Planted.class)
  void spoolsNeverGoToTheBackupDirectory(Planted planted, @TempDir Path dir) throws Exception {
    Path canary = Scratch.dir("canary-");
    Path target = Files.writeString(canary.resolve("target"), "the canary's own content");
    String id = UUID.randomUUID().toString();
    List<String> names = List.of(".mke-backup-etcd-" + id + ".part", ".mke-backup-entries-" + id + ".part",
        ".mke-backup-metadata-" + id + ".part");
    for (String n : names) {
      Path p = dir.resolve(n);
      if (planted == Planted.SYMLINK) {
        Files.createSymbolicLink(p, target);
      } else {
        Files.writeString(p, "");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-rw-rw-"));
        Files.setAttribute(p, "unix:uid", 65534, LinkOption.NOFOLLOW_LINKS);
      }
    }
    Map<String, String> plantedBefore = HostileArchiveIT.tree(dir);
    Map<String, String> canaryBefore = HostileArchiveIT.tree(canary);
    Path archive = dir.resolve("b.tar");
    try (Passphrase p = Passphrase.of(SECRET, "passphrase")) {
      new BackupProcedure(demo.config(SourceMode.DISK)).run(new BackupRequest(id, p, archive, null, null, "file"),
          e -> {});
    }
    assertThat(HostileArchiveIT.tree(canary)).isEqualTo(canaryBefore);
    Map<String, String> after = HostileArchiveIT.tree(dir);
    after.remove("b.tar");
    after.remove(""); // the directory itself, which got b.tar
    plantedBefore.remove("");
    assertThat(after).isEqualTo(plantedBefore);
    assertThat(Files.readAllBytes(archive)[0] & 0x80).as("an OpenPGP packet, not a tar").isNotZero();
    for (Path p : List.of(dir, canary)) {
      try (Stream<Path> files = Files.walk(p)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          if (Files.isRegularFile(f) && !f.equals(archive)) {
            assertThat(contains(Files.readAllBytes(f), ETCD_MARKER)).as(f.toString()).isFalse();
          }
        }
      }
    }
    // And the archive really holds the snapshot the marker is in.
    // (gpg, tar and grep must each succeed: pipefail; grep -c exits 1 when it counts none.)
    Tools.Run list = Tools.run(Tools.gpgDecrypt(archive, SECRET, dir) + " | tar -xO --wildcards './ucp-backup/*'"
        + " | grep -c " + ETCD_MARKER);
    assertThat(list.exit()).as("exit of gpg | tar | grep -c (1: no snapshot page holds the marker); stderr: %s",
        list.stderr()).isZero();
    assertThat(Integer.parseInt(list.stdout().strip())).as("snapshot pages holding the marker").isPositive();
    assertThat(runDirectories()).isEmpty();
    Tools.sh("rm -rf " + canary);
  }

  /** Run directories left in the default spool root. */
  static List<Path> runDirectories() throws IOException {
    try (Stream<Path> s = Files.list(SpoolDirectory.root(null))) {
      return s.filter(p -> p.getFileName().toString().startsWith("run-")).toList();
    }
  }

  /**
   * While backups read a volume, a thread keeps putting links to a canary in the place of the
   * volume's files and directories, as a process in a ucp-* container could: no archive ever
   * holds the canary's content. A backup that meets a link where it listed something else fails
   * naming it.
   */
  @Test
  void aVolumeSwappingItsFilesForLinksNeverLeaksTheCanary(@TempDir Path dir) throws Exception {
    String marker = "CANARY-" + UUID.randomUUID();
    Path canary = Scratch.dir("canary-");
    for (int k = 0; k < 10; k++) {
      Files.writeString(canary.resolve("f" + k), marker);
    }
    Path race = Files.createDirectory(demo.mountpoint("ucp-auth-worker-data").resolve("race"));
    for (int i = 0; i < 20; i++) {
      Path d = Files.createDirectory(race.resolve("d" + i));
      for (int k = 0; k < 10; k++) {
        Files.writeString(d.resolve("f" + k), "ordinary file " + i + "/" + k);
      }
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong swaps = new AtomicLong();
    CompletableFuture<Void> swapper = CompletableFuture.runAsync(() -> {
      Random r = new Random();
      while (!stop.get()) {
        int i = r.nextInt(20);
        try {
          if (r.nextBoolean()) {
            Path d = race.resolve("d" + i);
            Path aside = race.resolve(".d" + i + ".aside");
            Files.move(d, aside);
            Files.createSymbolicLink(d, canary);
            Files.delete(d);
            Files.move(aside, d);
          } else {
            Path f = race.resolve("d" + i).resolve("f" + r.nextInt(10));
            Path aside = f.resolveSibling(".aside");
            Files.move(f, aside);
            Files.createSymbolicLink(f, canary.resolve("f0"));
            Files.delete(f);
            Files.move(aside, f);
          }
          swaps.incrementAndGet();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }
    });
    int succeeded = 0;
    List<String> failures = new ArrayList<>();
    try {
      // Backups, not seconds, bound the race: at least 8, and on until one met a swapped file (a
      // busy machine changes how often one does, not whether).
      for (int run = 0; run < 8 || failures.isEmpty() && run < 60; run++) {
        Path archive = dir.resolve("race-" + run + ".tar");
        try {
          new BackupProcedure(demo.config(SourceMode.DISK)).run(
              new BackupRequest(UUID.randomUUID().toString(), null, archive, null, null, "file"), e -> {});
          succeeded++;
          assertThat(contains(Files.readAllBytes(archive), marker)).as("canary in " + archive).isFalse();
        } catch (BackupException e) {
          failures.add(e.getMessage());
          assertThat(e.getMessage()).contains("./ucp-auth-worker-data/race/")
              .contains("changed while the volume was read");
          assertThat(archive).doesNotExist();
        }
        assertThat(swapper).isNotDone();
      }
    } finally {
      stop.set(true);
      swapper.get(30, TimeUnit.SECONDS);
      Tools.sh("rm -rf " + race + " " + canary);
    }
    System.out.printf("HostileVolumeIT: %d swaps, %d backups succeeded, %d failed: %s%n", swaps.get(), succeeded,
        failures.size(), failures.stream().map(m -> m.substring(0, Math.min(120, m.length()))).toList());
    assertThat(failures).as("backups that met a swapped file").isNotEmpty();
  }

  /**
   * One symbolic link pointing out of its volume (anything writing into a ucp-* volume can make
   * one) does not stop the backup: the link is left out, a warning names it, the rest is there.
   */
  @Test
  void aLinkOutOfItsVolumeIsLeftOutWithAWarning(@TempDir Path dir) throws Exception {
    Path data = demo.mountpoint("ucp-auth-worker-data");
    Path link = Files.createSymbolicLink(data.resolve("to-etc"), Path.of("/etc"));
    Path up = Files.createSymbolicLink(data.resolve("up"), Path.of("../../../../etc/passwd"));
    try {
      Path archive = dir.resolve("links.tar");
      List<io.mkebackup.common.progress.ProgressEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
      new BackupProcedure(demo.config(SourceMode.DISK)).run(
          new BackupRequest(UUID.randomUUID().toString(), null, archive, null, null, "file"), events::add);
      List<String> warnings = events.stream()
          .filter(e -> e.kind() == io.mkebackup.common.progress.ProgressEvent.Kind.WARNING)
          .map(io.mkebackup.common.progress.ProgressEvent::message).toList();
      assertThat(warnings).anySatisfy(w -> assertThat(w).contains("./ucp-auth-worker-data/to-etc")
          .contains("absolute path /etc").contains("not backed up"));
      assertThat(warnings).anySatisfy(w -> assertThat(w).contains("./ucp-auth-worker-data/up")
          .contains("not backed up"));
      String listing = Tools.sh("tar -tvf " + archive).text();
      assertThat(listing).doesNotContain("to-etc").doesNotContain("./ucp-auth-worker-data/up")
          .contains("./ucp-auth-worker-data/");
    } finally {
      Files.delete(link);
      Files.delete(up);
    }
  }

  /**
   * {@code café-ü.txt} and a name holding byte 0xff (a file, and a directory with a file in it),
   * with no locale at all: backed up from disk, listed by GNU tar (plain and through gpg) and
   * extracted by it, verified, and restored, every name byte for byte. Through the Docker
   * archive API, which cannot pass such a name on, the backup fails naming it.
   */
  @Test
  void namesThatAreNotUtf8AreKeptByteForByteWithoutALocale(@TempDir Path dir) throws Exception {
    Path volume = demo.mountpoint("ucp-auth-api-certs");
    String cafe = "café-ü.txt";
    String bad = FileNames.decode(new byte[] {'b', 'a', 'd', (byte) 0xff, 'n', 'a', 'm', 'e'});
    String badDir = FileNames.decode(new byte[] {'d', 'i', 'r', (byte) 0xff});
    Files.writeString(volume.resolve(FileNames.relative(cafe)), "a UTF-8 name");
    Files.writeString(volume.resolve(FileNames.relative(bad)), "a name that is not UTF-8");
    Files.createDirectory(volume.resolve(FileNames.relative(badDir)));
    Files.writeString(volume.resolve(FileNames.relative(badDir + "/inner.txt")), "inside");
    Map<String, String> noLocale = new HashMap<>();
    for (String v : List.of("LANG", "LC_ALL", "LC_CTYPE", "LANGUAGE")) {
      noLocale.put(v, null);
    }
    String restorePrefix = "nx" + UUID.randomUUID().toString().substring(0, 8) + "-";
    try {
      Map<String, String> original = names(volume);
      assertThat(original).containsKeys(cafe, bad, badDir, badDir + "/inner.txt");

      Path plain = dir.resolve("plain.tar");
      Path encrypted = dir.resolve("encrypted.tar");
      for (Path archive : List.of(plain, encrypted)) {
        List<String> args = new ArrayList<>(List.of("backup", "--file", archive.toString(), "--source", "disk"));
        args.addAll(archive == plain ? List.of("--no-passphrase") : List.of("--passphrase", SECRET));
        args.addAll(demo.cliOptions());
        Cli.Result r = Cli.run(args, null, noLocale);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stderr()).doesNotContain("vanished").doesNotContain("skipped");
      }

      // The lines GNU tar must print, byte for byte, written out (not made by FileNames.encode, the
      // code under test): é and ü as UTF-8, and the lone byte 0xff as itself.
      byte[] prefix = "./ucp-auth-api-certs/".getBytes(StandardCharsets.US_ASCII);
      List<byte[]> expected = List.of(
          concat(prefix, new byte[] {'c', 'a', 'f', (byte) 0xc3, (byte) 0xa9, '-', (byte) 0xc3,
              (byte) 0xbc, '.', 't', 'x', 't', '\n'}),
          concat(prefix, new byte[] {'b', 'a', 'd', (byte) 0xff, 'n', 'a', 'm', 'e', '\n'}),
          concat(prefix, new byte[] {'d', 'i', 'r', (byte) 0xff, '/', '\n'}),
          concat(prefix, new byte[] {'d', 'i', 'r', (byte) 0xff, '/', 'i', 'n', 'n', 'e', 'r', '.',
              't', 'x', 't', '\n'}));
      for (String list : List.of("tar --list --quoting-style=literal -f " + plain,
          Tools.gpgDecrypt(encrypted, SECRET, dir) + " | tar --list --quoting-style=literal")) {
        Path out = dir.resolve("listing");
        Tools.Out t = Tools.sh("export LC_ALL=C; " + list + " > " + out);
        assertThat(t.exit()).as(t.text()).isZero();
        byte[] listing = Files.readAllBytes(out);
        for (byte[] line : expected) {
          assertThat(contains(listing, line)).as(list + " lists " + FileNames.printable(new String(line,
              StandardCharsets.ISO_8859_1))).isTrue();
        }
      }
      Path x = Files.createDirectory(dir.resolve("x"));
      Tools.Out extract = Tools.sh("export LC_ALL=C; tar -x -f " + plain + " -C " + x + " ./ucp-auth-api-certs");
      assertThat(extract.exit()).as(extract.text()).isZero();
      assertThat(names(x.resolve("ucp-auth-api-certs"))).isEqualTo(original);

      for (Path archive : List.of(plain, encrypted)) {
        List<String> args = new ArrayList<>(List.of("verify", archive.toString()));
        if (archive == encrypted) {
          args.addAll(List.of("--passphrase", SECRET));
        }
        Cli.Result v = Cli.run(args, null, noLocale);
        assertThat(v.exit()).as(v.stderr()).isZero();
      }

      Cli.Result restored = Cli.run(List.of("restore", "--file", plain.toString(), "--no-passphrase",
          "--volume-prefix", restorePrefix, "--etcd-peer-url", "http://127.0.0.1:" + DemoFixture.freePort()), null,
          noLocale);
      assertThat(restored.exit()).as(restored.stderr()).isZero();
      try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
        Path copy = docker.volumeMountpoint(restorePrefix + "ucp-auth-api-certs").orElseThrow();
        assertThat(names(copy)).isEqualTo(original);
      }

      List<String> viaDocker = new ArrayList<>(List.of("backup", "--file", dir.resolve("docker.tar").toString(),
          "--source", "docker", "--no-passphrase"));
      viaDocker.addAll(demo.cliOptions());
      Cli.Result r = Cli.run(viaDocker, null, noLocale);
      // Docker's own tar has already lost the byte (Commons Compress reads its PAX name as UTF-8).
      RestoreIT.assertOneLine(r, "ucp-auth-api-certs/bad", "is not UTF-8", "--source disk");
    } finally {
      // By Path, which keeps the bytes: a shell command would get the JVM's decoding of them.
      Files.deleteIfExists(volume.resolve(FileNames.relative(cafe)));
      Files.deleteIfExists(volume.resolve(FileNames.relative(bad)));
      Files.deleteIfExists(volume.resolve(FileNames.relative(badDir + "/inner.txt")));
      Files.deleteIfExists(volume.resolve(FileNames.relative(badDir)));
      try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
        for (String v : docker.volumeNames(restorePrefix)) {
          docker.removeVolume(v);
        }
      }
    }
  }

  /** Every name under a directory (as the bytes on disk, decoded losslessly) and its content. */
  static Map<String, String> names(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    collect(root, "", out);
    return out;
  }

  private static void collect(Path dir, String relative, Map<String, String> out) throws IOException {
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path p : s) {
        String name = relative + FileNames.name(p);
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          out.put(name, "dir");
          collect(p, name + "/", out);
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          out.put(name, CraftedArchive.sha256(Files.readAllBytes(p)));
        } else {
          out.put(name, "other");
        }
      }
    }
  }

  static byte[] concat(byte[]... parts) {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    for (byte[] p : parts) {
      b.writeBytes(p);
    }
    return b.toByteArray();
  }

  static boolean contains(byte[] hay, String needle) {
    return contains(hay, needle.getBytes(StandardCharsets.UTF_8));
  }

  static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
