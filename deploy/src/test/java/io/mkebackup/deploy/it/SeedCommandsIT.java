package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.deploy.demo.DemoState;
import io.mkebackup.worker.source.DockerEngine;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's own backup commands, exactly as it writes them, with this project's image (built by
 * deploy/image/build.sh under a tag of this test's) in place of {@code docker/ucp:3.2.5}, and a
 * directory of the test's as the host side of {@code --volume /tmp:/backup}. The seed's commands
 * take no volume prefix, so they run on a demo state under MKE's own names (no prefix), which this
 * class creates and removes. The host's engine may hold deploy/demo.sh's unprefixed state, which
 * must stay as it is, so all of this happens on a Docker engine of the tests' own
 * (deploy/seed-engine.sh: its own socket, data root and bridge): the docker CLI talks to it through
 * {@code DOCKER_HOST}, and the one other change to the seed's text is the host side of the socket
 * mount, that engine's socket. A file lock keeps two runs of this class apart.
 */
@Tag("integration")
class SeedCommandsIT {
  static final String SECRET = "secret12chars";
  static final Path LOCK = Path.of("/tmp/mke-backup-unprefixed-demo-state.lock");
  static final Path ROOT = Cli.JAR.toAbsolutePath().getParent().getParent().getParent();
  static final String TAG = "mke-backup-seed-it:" + UUID.randomUUID().toString().substring(0, 8);
  /** The tests' own engine's socket on the host, the host side of the seed's socket mount. */
  static final String SOCKET = "/run/mke-backup-seed/docker.sock";
  static final String ENGINE = "unix://" + SOCKET;
  static FileChannel lockFile;
  static FileLock lock;
  static DemoFixture demo;

  @BeforeAll
  static void up() throws Exception {
    lockFile = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    lock = lockFile.lock();
    Tools.Out engine = Tools.sh(ROOT.resolve("deploy/seed-engine.sh") + " up");
    assertThat(engine.exit()).as(engine.text()).isZero();
    assertThat(engine.text()).contains(ENGINE);
    try (DockerEngine docker = DockerEngine.connect(ENGINE)) {
      if (!docker.ucpVolumes("").isEmpty()) { // a run that was killed left it: the engine is the tests' own
        new DemoState(new DemoState.Options(ENGINE, "", 0, 0, 0, 0, Scratch.dir("mke-demo-state-")),
            new PrintWriter(System.out, true)).remove();
      }
    }
    Tools.Out build = sh("MKE_BACKUP_IMAGE=" + TAG + " " + ROOT.resolve("deploy/image/build.sh"));
    assertThat(build.exit()).as(build.text()).isZero();
    demo = DemoFixture.createUnprefixed(ENGINE, 50, 0);
  }

  /** A shell script whose docker CLI talks to the tests' own engine. */
  static Tools.Out sh(String script) throws Exception {
    return Tools.sh("export DOCKER_HOST=" + ENGINE + "\n" + script);
  }

  @AfterAll
  static void down() throws Exception {
    try {
      if (demo != null) {
        demo.close();
      }
      sh("docker rmi " + TAG + " " + TAG.substring(0, TAG.indexOf(':')) + ":latest");
      Tools.Out engine = Tools.sh(ROOT.resolve("deploy/seed-engine.sh") + " down");
      assertThat(engine.exit()).as(engine.text()).isZero();
    } finally {
      if (lock != null) {
        lock.release();
      }
      if (lockFile != null) {
        lockFile.close();
      }
    }
  }

  /** The seed's first command; only the image and the host directory are ours. */
  static String fileCommand(String name, Path hostDir) {
    return """
        docker container run \\
            --rm \\
            --log-driver none \\
            --name %s \\
            --volume %s:/var/run/docker.sock \\
            --volume %s:/backup \\
            %s backup \\
            --file mybackup.tar \\
            --passphrase "secret12chars" \\
            --include-logs=false
        """.formatted(name, SOCKET, hostDir, TAG);
  }

  @Test
  void fileFormWritesIntoTheMountedDirectory(@TempDir Path host) throws Exception {
    Tools.Out run = sh(fileCommand("ucp", host));
    assertThat(run.exit()).as(run.text()).isZero();
    assertThat(Tools.listing(host)).containsExactly("mybackup.tar"); // no log: --include-logs=false
    // etcd was found through the Docker API and reached over the bridge network, with its certificates.
    assertThat(run.text()).containsPattern("etcd 3\\.4\\.\\d+ at https://\\d+\\.\\d+\\.\\d+\\.\\d+:2379")
        .contains("to write to /backup/mybackup.tar").contains("succeeded");
    checkArchive(host.resolve("mybackup.tar"), host);
  }

  @Test
  void stdoutFormStreamsTheArchive(@TempDir Path host) throws Exception {
    Tools.Out run = sh("""
        docker container run \\
            --rm \\
            --log-driver none \\
            --security-opt label=disable \\
            --name ucp \\
            --volume %s:/var/run/docker.sock \\
            %s backup \\
            --passphrase "secret12chars" > %s/mybackup.tar
        """.formatted(SOCKET, TAG, host));
    assertThat(run.exit()).as(run.text()).isZero();
    assertThat(run.text()).contains("to write to standard output").contains("succeeded");
    checkArchive(host.resolve("mybackup.tar"), host);
  }

  @Test
  void theContainerRunningTheBackupIsNotBackedUpWhateverItsName(@TempDir Path host) throws Exception {
    String name = "ucp-backup-" + UUID.randomUUID().toString().substring(0, 8);
    Tools.Out run = sh(fileCommand(name, host));
    assertThat(run.exit()).as(run.text()).isZero();
    List<String> entries = checkArchive(host.resolve("mybackup.tar"), host);
    assertThat(entries).contains("./ucp-kv.json", "./ucp-controller.json").doesNotContain("./" + name + ".json");
  }

  @Test
  void anAbsoluteFileIsHonoured(@TempDir Path host) throws Exception {
    Files.createDirectories(host.resolve("nightly"));
    Tools.Out run = sh("docker container run --rm --log-driver none --name ucp"
        + " --volume " + SOCKET + ":/var/run/docker.sock --volume " + host + ":/srv/backups " + TAG
        + " backup --file /srv/backups/nightly/abs.tar --passphrase \"secret12chars\" --include-logs");
    assertThat(run.exit()).as(run.text()).isZero();
    assertThat(Tools.listing(host.resolve("nightly"))).containsExactly("abs.log", "abs.tar");
    checkArchive(host.resolve("nightly/abs.tar"), host);
  }

  @Test
  void aFileWhoseDirectoryIsNotMountedIsRefusedBeforeAnyWork() throws Exception {
    Tools.Out run = sh("""
        docker container run --rm --log-driver none --name ucp \\
            --volume %s:/var/run/docker.sock \\
            %s backup --file mybackup.tar --passphrase "secret12chars" --include-logs=false
        """.formatted(SOCKET, TAG));
    assertThat(run.exit()).as(run.text()).isEqualTo(2);
    assertThat(run.text()).contains("--file /backup/mybackup.tar: /backup is not on a volume mounted into this"
        + " container (ucp)").contains("--volume /path/on/host:/backup").doesNotContain("validation");
  }

  /** gpg --decrypt | tar --list as the seed verifies a backup, and etcdctl on its snapshot. */
  static List<String> checkArchive(Path archive, Path dir) throws Exception {
    Path gnupg = Files.createTempDirectory(dir, "gnupg-");
    Tools.Out list = Tools.sh(Tools.gpgDecrypt(archive, SECRET, gnupg) + " | tar --list");
    assertThat(list.exit()).as(list.text()).isZero();
    List<String> entries = list.text().lines().toList();
    assertThat(entries).hasSizeGreaterThanOrEqualTo(27).contains(ArchiveLayout.REQUIRED_ENTRY);
    String snapshot = entries.stream().filter(ArchiveLayout::isSnapshotEntry).findFirst().orElseThrow();
    assertThat(snapshot).matches("\\./ucp-backup/\\d{13}/etcd\\.backup\\.db");
    Path x = Files.createTempDirectory(dir, "x-");
    Tools.Out extract = Tools.sh(Tools.gpgDecrypt(archive, SECRET, gnupg) + " | tar -x -C " + x + " " + snapshot);
    assertThat(extract.exit()).as(extract.text()).isZero();
    Tools.Out status = Tools.sh("ETCDCTL_API=3 etcdctl snapshot status -w json " + x.resolve(snapshot));
    assertThat(status.exit()).as(status.text()).isZero();
    assertThat(status.text()).containsPattern("\"totalKey\":([5-9]\\d|\\d{3,})");
    return entries;
  }
}
