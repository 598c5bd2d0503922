package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.source.DockerEngine;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Restore and verify against archives made by hand by whoever can write to the backup share,
 * each aimed at a canary directory outside the volumes: every one is refused with one line and
 * exit 1, creates no volume, and leaves the canary exactly as it was. Real tar files, the real
 * CLI, the real Docker engine.
 */
@Tag("integration")
class HostileArchiveIT {
  final String prefix = "hx" + UUID.randomUUID().toString().substring(0, 8) + "-";
  @TempDir
  Path dir;
  Path canary;
  Map<String, String> canaryBefore;

  @BeforeEach
  void canary() throws IOException {
    canary = Scratch.dir("canary-");
    Files.writeString(canary.resolve("keep.txt"), "the canary's own content");
    Files.createDirectory(canary.resolve("cron.d"));
    canaryBefore = tree(canary);
  }

  @AfterEach
  void cleanUp() throws Exception {
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      for (String v : volumes(docker)) {
        docker.removeVolume(v);
      }
    }
    Tools.sh("rm -rf " + canary);
  }

  /** Every volume whose name starts with this test's prefix, whatever follows. */
  List<String> volumes(DockerEngine docker) {
    return docker.volumeNames(prefix);
  }

  List<String> volumes() {
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      return volumes(docker);
    }
  }

  static Map<String, String> tree(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        out.put(root.relativize(p).toString(), RestoreIT.describe(p));
      }
    }
    return out;
  }

  Cli.Result restore(Path archive, String... options) throws Exception {
    List<String> args = new ArrayList<>(List.of("restore", "--file", archive.toString(), "--volume-prefix", prefix));
    args.addAll(List.of(options));
    return Cli.run(args);
  }

  void assertRefusedAndNothingChanged(Cli.Result r, String... fragments) throws IOException {
    RestoreIT.assertOneLine(r, fragments);
    assertThat(r.stderr()).doesNotContain("Exception");
    assertThat(volumes()).as("volumes left by a refused restore").isEmpty();
    assertThat(tree(canary)).isEqualTo(canaryBefore);
  }

  /** The corpus: what each archive adds to an ordinary backup, and what the refusal must say. */
  static Stream<Arguments> corpus() {
    return Stream.of(
        // The attack that worked: a symlinked parent to a directory outside, a file through it,
        // and a directory entry over it that made the outside directory 0777.
        hostile("symlink parent (absolute), file and directory through it", a -> a.dir("./ucp-evil/", 0755)
            .symlink("./ucp-evil/esc", "CANARY/cron.d").file("./ucp-evil/esc/mke-pwn", 0755, "* * * * * root sh")
            .dir("./ucp-evil/esc/", 0777), "./ucp-evil/esc", "absolute path"),
        hostile("symlink parent climbing out with ..", a -> a.dir("./ucp-evil/", 0755)
            .symlink("./ucp-evil/esc", "../../../../../../../../../../..CANARY/cron.d")
            .file("./ucp-evil/esc/mke-pwn", 0755, "x"), "./ucp-evil/esc", "leaves the volume"),
        hostile("file beneath a symlink that stays inside", a -> a.dir("./ucp-evil/", 0755)
            .dir("./ucp-evil/sub/", 0755).symlink("./ucp-evil/esc", "sub").file("./ucp-evil/esc/x", 0644, "x"),
            "./ucp-evil/esc/x", "lies beneath ./ucp-evil/esc, which is a symbolic link"),
        hostile("hard link through a symlink to outside", a -> a.dir("./ucp-evil/", 0755)
            .symlink("./ucp-evil/esc", "CANARY").hardlink("./ucp-evil/h", "./ucp-evil/esc/keep.txt"),
            "./ucp-evil/esc", "absolute path"),
        hostile("hard link through a symlink that stays inside", a -> a.dir("./ucp-evil/", 0755)
            .dir("./ucp-evil/sub/", 0755).file("./ucp-evil/sub/f", 0644, "f").symlink("./ucp-evil/esc", "sub")
            .hardlink("./ucp-evil/h", "./ucp-evil/esc/f"), "./ucp-evil/h", "not a regular file before it"),
        hostile("hard link to a path outside", a -> a.dir("./ucp-evil/", 0755)
            .hardlink("./ucp-evil/h", "CANARY/keep.txt"), "./ucp-evil/h", "not a regular file before it"),
        hostile("directory entry over a symlink", a -> a.dir("./ucp-evil/", 0755).dir("./ucp-evil/sub/", 0755)
            .symlink("./ucp-evil/esc", "sub").dir("./ucp-evil/esc/", 0777), "./ucp-evil/esc/", "appears twice"),
        hostile("absolute link target", a -> a.dir("./ucp-evil/", 0755).symlink("./ucp-evil/etc", "/etc"),
            "./ucp-evil/etc", "absolute path /etc"),
        hostile(".. link target", a -> a.dir("./ucp-evil/", 0755).symlink("./ucp-evil/up", "../../../../../etc"),
            "./ucp-evil/up", "leaves the volume"),
        hostile("duplicate entry", a -> a.file("./ucp-a/f3", 0644, "second content"), "./ucp-a/f3", "appears twice"),
        hostile("device entry", a -> a.dir("./ucp-evil/", 0755).device("./ucp-evil/null", 1, 3),
            "./ucp-evil/null", "character device"),
        hostile("a volume not named ucp-*", a -> a.dir("./evil/", 0755).file("./evil/x", 0644, "x"),
            "./evil/", "not an MKE volume"),
        hostile("an entry missing from the metadata", a -> a.unlistedFile("./ucp-a/extra", "x"),
            "entries its metadata does not list"),
        hostile("an etcd snapshot removed", a -> a.withoutHeader("etcd"), "no etcd snapshot"));
  }

  static Arguments hostile(String name, Function<CraftedArchive, CraftedArchive> twist, String... why) {
    return Arguments.of(name, twist, why);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void hostileArchivesAreRefusedAndChangeNothing(String name, Function<CraftedArchive, CraftedArchive> twist,
      String[] why) throws Exception {
    Path archive = twist.apply(CraftedArchive.backup().withCanary(canary)).write(dir.resolve("hostile.tar"));
    RestoreIT.assertOneLine(Cli.run(List.of("verify", archive.toString())), why);
    assertRefusedAndNothingChanged(restore(archive, "--no-passphrase"), why);
    assertRefusedAndNothingChanged(restore(archive, "--no-passphrase", "--force"), why);
  }

  /** Given --passphrase, an archive that is not encrypted (so not authenticated) is refused. */
  @Test
  void aPlainArchiveGivenAPassphraseIsRefused() throws Exception {
    Path archive = CraftedArchive.backup().write(dir.resolve("plain.tar"));
    assertRefusedAndNothingChanged(restore(archive, "--passphrase", "the passphrase of an archive"),
        "not encrypted", "--no-passphrase");
    Cli.Result verify = Cli.run(List.of("verify", archive.toString(), "--passphrase", "the passphrase of an archive"));
    RestoreIT.assertOneLine(verify, "not encrypted");
    // Without a passphrase it is restored, saying once that nothing proves who wrote it.
    Cli.Result plain = restore(archive, "--no-passphrase");
    assertThat(plain.exit()).as(plain.stderr()).isZero();
    assertThat(plain.stderr().lines().filter(l -> l.contains("not encrypted"))).hasSize(1)
        .allMatch(l -> l.startsWith("warning: ") && l.contains("nothing proves who wrote it"));
    assertThat(volumes()).containsExactly(prefix + "ucp-a", prefix + "ucp-controller-server-certs");
  }

  /**
   * The archive is read once: swapping the file for a hostile one as soon as the restore closes
   * it (where a restore of old, which read it twice, opened it again to extract) changes nothing.
   */
  @Test
  void theArchiveIsReadOnceSoASwapAfterVerifyingChangesNothing() throws Exception {
    Path archive = CraftedArchive.backup().file("./ucp-a/marker", 0644, "the good archive")
        .write(dir.resolve("archive.tar"));
    Path hostile = CraftedArchive.backup().withCanary(canary).file("./ucp-a/marker", 0644, "the hostile archive")
        .symlink("./ucp-a/esc", "CANARY").file("./ucp-a/esc/mke-pwn", 0644, "pwned")
        .write(dir.resolve("hostile.tar"));
    CompletableFuture<Void> swapper = CompletableFuture.runAsync(() -> {
      Path fd = await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(1))
          .until(() -> openedBy(archive), java.util.Optional::isPresent).orElseThrow();
      await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(1)).until(() -> !isLink(fd, archive));
      try {
        Files.move(hostile, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    Cli.Result r = restore(archive, "--no-passphrase");
    swapper.get(1, TimeUnit.MINUTES);
    assertThat(r.exit()).as(r.stderr()).isZero();
    assertThat(tree(canary)).isEqualTo(canaryBefore);
    assertThat(volumes()).containsExactly(prefix + "ucp-a", prefix + "ucp-controller-server-certs");
    assertThat(Files.readString(mount(prefix + "ucp-a").resolve("marker"))).isEqualTo("the good archive");
  }

  /** The descriptor (/proc/<pid>/fd/<n>) of some process that has the file open. */
  static java.util.Optional<Path> openedBy(Path file) throws IOException {
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
          for (Path fd : fds) {
            if (isLink(fd, file)) {
              return java.util.Optional.of(fd);
            }
          }
        } catch (IOException gone) {
          // the process ended meanwhile
        }
      }
    }
    return java.util.Optional.empty();
  }

  static boolean isLink(Path fd, Path file) {
    try {
      return Files.readSymbolicLink(fd).equals(file);
    } catch (IOException closed) {
      return false;
    }
  }

  /** An archive with a setuid file is refused, unless --keep-setid asks for it. */
  @Test
  void aSetuidFileIsRefusedUnlessKeepSetidIsGiven() throws Exception {
    Path archive = CraftedArchive.backup().file("./ucp-a/tool", 06755, "#!/bin/sh\n").dir("./ucp-a/shared/", 02775)
        .write(dir.resolve("setuid.tar"));
    assertRefusedAndNothingChanged(restore(archive, "--no-passphrase"), prefix + "ucp-a/tool", "setuid",
        "--keep-setid");
    assertRefusedAndNothingChanged(restore(archive, "--no-passphrase", "--force"), "setuid", "--keep-setid");

    Cli.Result kept = restore(archive, "--no-passphrase", "--keep-setid");
    assertThat(kept.exit()).as(kept.stderr()).isZero();
    assertThat(Files.getAttribute(mount(prefix + "ucp-a").resolve("tool"), "unix:mode")).isEqualTo(0106755);
    assertThat(Files.getAttribute(mount(prefix + "ucp-a").resolve("shared"), "unix:mode")).isEqualTo(042775);
  }

  /**
   * A --force restore onto a volume that is a small file system of its own (a tmpfs mounted on
   * its data directory) runs out of space while staging: the old contents stay, untouched, and
   * the volume it had created is removed. Given the file, the lack of space is found before
   * writing; from stdin (size unknown), midway.
   */
  @Test
  void aForceRestoreThatFillsTheDiskLeavesTheOldContents() throws Exception {
    byte[] big = new byte[3 << 20];
    new Random(1).nextBytes(big);
    Path archive = CraftedArchive.backup().file("./ucp-a/big", 0644, big).write(dir.resolve("big.tar"));
    Path mount;
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      mount = docker.createVolume(prefix + "ucp-a", Map.of());
    }
    Tools.Out mounted = Tools.sh("mount -t tmpfs -o size=2m tmpfs " + mount);
    assertThat(mounted.exit()).as(mounted.text()).isZero();
    try {
      Files.writeString(mount.resolve("old.txt"), "the volume's old contents");
      Files.createDirectory(mount.resolve("old-dir"));
      Files.write(mount.resolve("old-dir/data"), new byte[500_000]);
      Files.createSymbolicLink(mount.resolve("old-link"), Path.of("old.txt"));
      Map<String, String> before = tree(mount);

      Cli.Result fromFile = restore(archive, "--no-passphrase", "--force");
      RestoreIT.assertOneLine(fromFile, prefix + "ucp-a", "free");
      assertThat(tree(mount)).isEqualTo(before);
      assertThat(volumes()).containsExactly(prefix + "ucp-a");

      List<String> args = List.of("restore", "--no-passphrase", "--force", "--volume-prefix", prefix);
      Cli.Result fromStdin = Cli.run(args, archive, Map.of());
      RestoreIT.assertOneLine(fromStdin, "no space left on the file system of volume " + prefix + "ucp-a",
          "removed the volumes it had created ([" + prefix + "ucp-controller-server-certs])");
      assertThat(fromStdin.stderr()).contains("volume " + prefix + "ucp-a: writing");
      assertThat(tree(mount)).isEqualTo(before);
      assertThat(volumes()).containsExactly(prefix + "ucp-a");
    } finally {
      Tools.sh("umount " + mount);
    }
  }

  static Path mount(String volume) {
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      return docker.volumeMountpoint(volume).orElseThrow();
    }
  }
}
