package io.mkebackup.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Spools live in a private directory that this user owns, and die with their run. */
class SpoolDirectoryTest {
  @TempDir
  Path dir;

  @Test
  void aRunGetsAPrivateDirectoryThatIsRemovedWhenItCloses() throws Exception {
    Path root = dir.resolve("spool");
    Path run;
    try (SpoolDirectory spool = SpoolDirectory.create(root)) {
      run = spool.dir();
      assertThat(Files.getAttribute(root, "unix:mode")).isEqualTo(040700);
      assertThat(Files.getAttribute(run, "unix:mode")).isEqualTo(040700);
      try (OutputStream out = spool.create("etcd-snapshot.db")) {
        out.write(1);
      }
      assertThat(Files.getAttribute(run.resolve("etcd-snapshot.db"), "unix:mode")).isEqualTo(0100600);
      assertThatThrownBy(() -> spool.create("etcd-snapshot.db")).isInstanceOf(FileAlreadyExistsException.class);
    }
    assertThat(Files.exists(run)).isFalse();
  }

  @Test
  void aRootThatIsALinkOrNotPrivateIsRefused() throws Exception {
    Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
    Path link = Files.createSymbolicLink(dir.resolve("link"), elsewhere);
    assertThatThrownBy(() -> SpoolDirectory.create(link)).isInstanceOf(BackupException.class)
        .hasMessageContaining("not private").hasMessageContaining("not a directory");

    Path open = Files.createDirectory(dir.resolve("open"), PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> SpoolDirectory.create(open)).isInstanceOf(BackupException.class)
        .hasMessageContaining("mode 0777");

    Path foreign = Files.createDirectory(dir.resolve("foreign"), PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    Files.setAttribute(foreign, "unix:uid", 65534);
    assertThatThrownBy(() -> SpoolDirectory.create(foreign)).isInstanceOf(BackupException.class)
        .hasMessageContaining("owned by uid 65534");
    assertThat(elsewhere).isEmptyDirectory();
  }

  @Test
  void theRunsOfDeadProcessesAreSweptAndLiveOnesKept() throws Exception {
    Path root = dir.resolve("spool");
    try (SpoolDirectory live = SpoolDirectory.create(root)) {
      // A run whose process died: its lock file is there but nobody holds it.
      Path dead = Files.createDirectory(root.resolve("run-dead"));
      Files.writeString(dead.resolve("lock"), "");
      Files.writeString(dead.resolve("etcd-snapshot.db"), "secrets in clear");
      assertThat(SpoolDirectory.sweep(root)).isEqualTo(1);
      assertThat(Files.exists(dead, LinkOption.NOFOLLOW_LINKS)).isFalse();
      assertThat(Files.isDirectory(live.dir())).isTrue();
    }
  }

  /**
   * A run directory that cannot be removed (it may hold an etcd snapshot in clear) is logged
   * with its path, once. An immutable file (chattr +i, root on ext4 and the like) stands in for
   * whatever keeps it.
   */
  @Test
  void aRunDirectoryThatCannotBeRemovedIsLogged() throws Exception {
    java.util.List<java.util.logging.LogRecord> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger(SpoolDirectory.class.getName());
    java.util.logging.Handler handler = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord r) {
        logged.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    SpoolDirectory spool = SpoolDirectory.create(dir.resolve("spool"));
    Path stuck = spool.dir().resolve("etcd-snapshot.db");
    try (OutputStream out = spool.create("etcd-snapshot.db")) {
      out.write(1);
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(chattr("+i", stuck) == 0, "chattr +i works here");
    logger.addHandler(handler);
    try {
      spool.close();
    } finally {
      logger.removeHandler(handler);
      chattr("-i", stuck);
    }
    assertThat(Files.exists(stuck)).isTrue();
    assertThat(logged).singleElement().satisfies(r -> {
      assertThat(r.getLevel()).isEqualTo(java.util.logging.Level.WARNING);
      assertThat(r.getMessage()).contains(spool.dir().toString());
    });
  }

  static int chattr(String flag, Path file) throws Exception {
    Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor();
  }
}
