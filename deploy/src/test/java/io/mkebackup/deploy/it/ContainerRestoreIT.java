package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.restore.SiblingRestore;
import io.mkebackup.worker.source.DockerEngine;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Restore as MKE runs it: the image built by deploy/image/build.sh, in a container given only the
 * Docker socket, the archive on its stdin ({@code docker container run --rm -i --log-driver none
 * -v /var/run/docker.sock:/var/run/docker.sock IMAGE restore ... < backup.tar}). It cannot see the
 * volumes' directories, so it restores through a sibling container of its image. Each test uses a
 * volume prefix of its own (the seed's command with one added), never the unprefixed state.
 */
@Tag("integration")
class ContainerRestoreIT {
  static final String SECRET = RestoreIT.SECRET;
  static String image;
  static String repository;

  final String prefix = "cr" + UUID.randomUUID().toString().substring(0, 8) + "-";
  @TempDir
  Path dir;

  @BeforeAll
  static void buildImage() throws Exception {
    repository = "mke-backup-restore-it-" + UUID.randomUUID().toString().substring(0, 8);
    image = repository + ":test";
    ContainerImageIT.buildImage(image);
  }

  @AfterAll
  static void removeImage() throws Exception {
    Tools.sh("docker rmi " + image + " " + repository + ":latest");
  }

  @AfterEach
  void noHelperLeft() throws Exception {
    try {
      // Whatever happened, no sibling of a restore of this test may be left, in any state.
      assertThat(helpers()).as("restore siblings left").isEmpty();
    } finally {
      try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
        docker.volumeNames(prefix).forEach(docker::removeVolume);
      }
    }
  }

  /** Sibling containers of this test's restores (named by the restore container's label value). */
  List<String> helpers() throws Exception {
    Tools.Out ps = Tools.sh("docker ps -a --filter label=" + SiblingRestore.LABEL + " --format '{{.ID}} {{.Label \""
        + SiblingRestore.LABEL + "\"}}'");
    assertThat(ps.exit()).as(ps.text()).isZero();
    List<String> mine = new java.util.ArrayList<>();
    for (String line : ps.text().lines().filter(l -> !l.isBlank()).toList()) {
      String parent = line.substring(line.indexOf(' ') + 1);
      // The restore container may be gone already (--rm): then its name is unknown, so any sibling counts.
      Tools.Out name = Tools.sh("docker inspect -f '{{.Name}}' " + parent);
      if (name.exit() != 0 || name.text().contains("/" + prefix)) {
        mine.add(line);
      }
    }
    return mine;
  }

  /** The seed's restore command, with this test's prefix and options, the archive on stdin. */
  String restoreCommand(String name, String mounts, String options, Path archive) {
    return restoreCommand(name, mounts, options, archive, prefix);
  }

  static String restoreCommand(String name, String mounts, String options, Path archive, String volumePrefix) {
    return "docker container run --rm -i --log-driver none --name " + name
        + " --volume /var/run/docker.sock:/var/run/docker.sock " + mounts + " " + image + " restore " + options
        + " --volume-prefix " + volumePrefix + " < " + archive;
  }

  List<String> volumes() {
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      return docker.volumeNames(prefix);
    }
  }

  static List<String> errorLines(Tools.Out r) {
    return r.text().lines().filter(l -> l.startsWith("mke-backup: error: ")).toList();
  }

  @Test
  void aBackupComesBackByteForByteAndEtcdAnswersEveryKey() throws Exception {
    try (DemoFixture demo = DemoFixture.create(200, 0)) {
      String p = demo.prefix;
      Map<String, String> files = RestoreIT.trees(demo);
      Map<String, String> keys = RestoreIT.keys(demo);
      assertThat(files).hasSizeGreaterThan(30);
      assertThat(keys).hasSizeGreaterThanOrEqualTo(200);
      Path pass = dir.resolve("passphrase");
      Files.writeString(pass, SECRET + "\n");
      Path archive = dir.resolve("mybackup.tar");
      // Taken from the disk by the host's CLI: the Docker archive API (a backup in a container) gives
      // whole-second mtimes, and this test proves that the restore keeps what the archive holds.
      RestoreIT.backup(demo, archive, true);

      // The volumes exist and are not empty: refused, nothing changed.
      String peer = " --etcd-peer-url http://127.0.0.1:" + demo.peerPort;
      Tools.Out notEmpty = Tools.sh(restoreCommand(prefix + "ucp", "", "--passphrase " + SECRET + peer, archive, p));
      assertThat(notEmpty.exit()).as(notEmpty.text()).isEqualTo(1);
      assertThat(errorLines(notEmpty)).as(notEmpty.text()).singleElement().asString()
          .contains("exists and is not empty", "--force");
      assertThat(RestoreIT.trees(demo)).isEqualTo(files);

      demo.demo.remove();
      assertThat(RestoreIT.volumes(demo)).isEmpty();
      // --dry-run, the passphrase from a file mounted into the container: nothing created.
      Tools.Out dry = Tools.sh(restoreCommand(prefix + "ucp", "--volume " + pass + ":/run/pass:ro",
          "--passphrase-file /run/pass --dry-run" + peer, archive, p));
      assertThat(dry.exit()).as(dry.text()).isZero();
      assertThat(dry.text()).contains("restoring through the Docker engine")
          .contains("would restore volume " + p + "ucp-kv (create) from the etcd snapshot")
          .contains("dry run: nothing written");
      assertThat(RestoreIT.volumes(demo)).isEmpty();

      // The command as an admin types it (the passphrase as a value), the archive on stdin.
      Tools.Out r = Tools.sh(restoreCommand(prefix + "ucp", "", "--passphrase \"" + SECRET + "\"" + peer, archive, p));
      assertThat(r.exit()).as(r.text()).isZero();
      assertThat(r.text()).contains("restoring through the Docker engine").contains("verify: ok")
          .contains("integrity packet checked").contains("etcd: done").contains("OK: restored 11 volumes");
      assertThat(r.text()).doesNotContain(SECRET);
      assertThat(RestoreIT.trees(demo)).isEqualTo(files);
      demo.demo.ensure(); // starts etcd on the restored ucp-kv, changing nothing
      String output = demo.output.toString();
      assertThat(output.substring(output.lastIndexOf("created container " + p + "ucp-kv")))
          .contains("etcd runs in container").doesNotContain("Kubernetes-shaped keys");
      assertThat(RestoreIT.keys(demo)).isEqualTo(keys);
      assertThat(RestoreIT.trees(demo)).isEqualTo(files);
    }
  }

  static Stream<Arguments> hostile() {
    return Stream.of(
        Arguments.of("symlink parent (absolute), file and directory through it",
            (Function<CraftedArchive, CraftedArchive>) a -> a.dir("./ucp-evil/", 0755)
                .symlink("./ucp-evil/esc", "CANARY/cron.d").file("./ucp-evil/esc/mke-pwn", 0755, "* * * * * root sh")
                .dir("./ucp-evil/esc/", 0777), new String[] {"./ucp-evil/esc", "absolute path"}),
        Arguments.of("hard link to a path outside",
            (Function<CraftedArchive, CraftedArchive>) a -> a.dir("./ucp-evil/", 0755)
                .hardlink("./ucp-evil/h", "CANARY/keep.txt"),
            new String[] {"./ucp-evil/h", "not a regular file before it"}));
  }

  /**
   * The canary is a directory the sibling sees (a volume of its own, under the engine's volume
   * directory that the sibling mounts), outside the volumes the archive names.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("hostile")
  void hostileArchivesAreRefusedAndChangeNothing(String name, Function<CraftedArchive, CraftedArchive> twist,
      String[] why) throws Exception {
    String canaryVolume = "canary-" + prefix;
    Path canary;
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      canary = docker.createVolume(canaryVolume, Map.of());
    }
    try {
      Files.writeString(canary.resolve("keep.txt"), "the canary's own content");
      Files.createDirectory(canary.resolve("cron.d"));
      Map<String, String> before = HostileArchiveIT.tree(canary);
      Path archive = twist.apply(CraftedArchive.backup().withCanary(canary)).write(dir.resolve("hostile.tar"));
      for (String options : List.of("--no-passphrase", "--no-passphrase --force")) {
        Tools.Out r = Tools.sh(restoreCommand(prefix + "ucp", "", options, archive));
        assertThat(r.exit()).as(r.text()).isEqualTo(1);
        assertThat(r.text()).contains("restoring through the Docker engine").doesNotContain("Exception");
        assertThat(errorLines(r)).as(r.text()).singleElement().asString().contains(why);
        assertThat(volumes()).as("volumes left by a refused restore").isEmpty();
        assertThat(HostileArchiveIT.tree(canary)).isEqualTo(before);
        assertThat(helpers()).isEmpty();
      }
    } finally {
      try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
        docker.removeVolume(canaryVolume);
      }
    }
  }

  /**
   * kill -9 of the restore's container while its sibling writes (--force, onto a volume that holds
   * data): the sibling's stdin closes with the attach, it puts back what it did (the existing
   * volume as it was, with no staging directory beside its data; the volume it created removed)
   * and ends, and the engine removes it. Nothing is left running, nor stopped.
   */
  @Test
  void killedMidRestoreLeavesNoHelperAndEveryVolumeAsItWas() throws Exception {
    byte[] big = new byte[8 << 20];
    new Random(7).nextBytes(big);
    Path archive = CraftedArchive.backup().file("./ucp-a/big", 0644, big).write(dir.resolve("big.tar"));
    byte[] bytes = Files.readAllBytes(archive);
    Path existing;
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      existing = docker.createVolume(prefix + "ucp-a", Map.of());
    }
    Files.writeString(existing.resolve("old.txt"), "the volume's old contents");
    Files.createDirectory(existing.resolve("old-dir"));
    Files.createSymbolicLink(existing.resolve("old-link"), Path.of("old.txt"));
    Map<String, String> before = HostileArchiveIT.tree(existing);
    String name = prefix + "ucp";
    Process run = new ProcessBuilder("bash", "-c", restoreCommand(name, "", "--no-passphrase --force",
        Path.of("/dev/stdin")))
        .redirectErrorStream(true).redirectOutput(dir.resolve("run.txt").toFile()).start();
    try (OutputStream stdin = run.getOutputStream()) {
      // Most of the archive, well into the big file, then nothing more: the restore waits mid-way.
      stdin.write(Arrays.copyOf(bytes, bytes.length * 3 / 4));
      stdin.flush();
      await("the sibling writes the volumes").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(300))
          .until(() -> Files.readString(dir.resolve("run.txt")).contains("volume " + prefix + "ucp-a: writing"));
      assertThat(helpers()).hasSize(1);
      assertThat(volumes()).containsExactly(prefix + "ucp-a", prefix + "ucp-controller-server-certs");
      assertThat(Tools.listing(existing.getParent())).hasSizeGreaterThan(1); // its staging directory
      Tools.Out kill = Tools.sh("docker kill --signal KILL " + name);
      assertThat(kill.exit()).as(kill.text()).isZero();
      await("the sibling gone, its volumes removed").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(500))
          .untilAsserted(() -> {
            assertThat(helpers()).isEmpty();
            assertThat(volumes()).containsExactly(prefix + "ucp-a");
            assertThat(Tools.listing(existing.getParent())).containsExactly("_data");
          });
      assertThat(HostileArchiveIT.tree(existing)).isEqualTo(before);
    } catch (IOException pipeClosed) {
      throw new AssertionError(Files.readString(dir.resolve("run.txt")), pipeClosed);
    } finally {
      run.waitFor(1, TimeUnit.MINUTES);
      run.destroyForcibly();
      Tools.sh("docker rm -f " + name);
    }
  }
}
