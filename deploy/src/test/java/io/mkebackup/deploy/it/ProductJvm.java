package io.mkebackup.deploy.it;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The command line tests start the product's jar with: this JDK's java and, when it could be made,
 * a class-data archive of the jar (AppCDS). A JVM of the product spends most of its start loading
 * classes from the 68 MB jar, and the tests start hundreds (three managers at a time, CLI runs):
 * three managers starting together were ready in 24 s without the archive and 19 s with it here.
 *
 * <p>The archive is made once per built jar and JVM (its name carries the jar's size and time and
 * the JVM's version), by a manager of one member that starts and is stopped, then checked with
 * {@code -Xshare:on}, under a lock across the test JVMs that run at once. If it cannot be made,
 * tests run plain {@code java}: slower, nothing else changes; a marker file beside it says why, and
 * the other test JVMs of the build do not try again. The
 * archive's own messages are kept off (a JVM that cannot use it would say so on stdout, where a
 * CLI writes its archive).
 */
final class ProductJvm {
  private static List<String> options;

  private ProductJvm() {}

  /** java, then the options that use the archive (none without one). */
  static synchronized List<String> java() {
    if (options == null) {
      options = archiveOptions();
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(options);
    return cmd;
  }

  private static List<String> archiveOptions() {
    Path jar = Cli.JAR.toAbsolutePath();
    try {
      // The jar and the JVM it was made by: another of either cannot use it.
      Path archive = jar.resolveSibling("mke-backup-" + Files.size(jar) + "-"
          + Files.getLastModifiedTime(jar).toMillis() + "-" + System.getProperty("java.vm.version").replaceAll(
              "[^A-Za-z0-9.]", "_") + ".jsa");
      Path failed = archive.resolveSibling(archive.getFileName() + ".failed");
      try (RandomAccessFile lockFile = new RandomAccessFile(jar.resolveSibling("mke-backup.jsa.lock").toFile(), "rw");
          FileLock lock = lockFile.getChannel().lock()) {
        if (Files.exists(failed)) {
          // another test JVM of this build tried and said why: not tried again
          return List.of();
        }
        if (!Files.exists(archive)) {
          try {
            make(jar, archive);
          } catch (IOException | RuntimeException e) {
            Files.writeString(failed, String.valueOf(e.getMessage()));
            throw e;
          }
        }
      }
      return List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds*=off");
    } catch (IOException | RuntimeException e) {
      System.out.println("ProductJvm: no class-data archive, tests start plain java: " + e.getMessage());
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /** A manager of one member runs until ready, is stopped, and its JVM writes the classes it loaded. */
  private static void make(Path jar, Path archive) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Path dir = Scratch.dir("mke-cds-");
    Path partial = archive.resolveSibling(archive.getFileName() + ".part");
    Files.deleteIfExists(partial);
    try {
      Path secret = dir.resolve("secret");
      Files.writeString(secret, "cds-training-secret-" + System.nanoTime());
      Path log = dir.resolve("manager.log");
      ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-XX:ArchiveClassesAtExit=" + partial, "-Xmx256m", "-jar", jar.toString(), "manager")
          .redirectErrorStream(true).redirectOutput(log.toFile());
      pb.environment().keySet().removeIf(k -> k.startsWith("MKE_"));
      int clusterPort = DemoFixture.freePort();
      pb.environment().putAll(Map.of(
          "MKE_BACKUP_CLUSTER_SECRET_FILE", secret.toString(),
          "MKE_BACKUP_CLUSTER_MEMBERS", "127.0.0.1:" + clusterPort,
          "MKE_BACKUP_CLUSTER_PORT", String.valueOf(clusterPort),
          "MKE_BACKUP_CLUSTER_NAME", "cds-training-" + System.nanoTime(),
          "MKE_BACKUP_HTTPS_PORT", String.valueOf(DemoFixture.freePort()),
          "MKE_BACKUP_BIND_ADDRESS", "127.0.0.1",
          "MKE_BACKUP_DATA_DIR", dir.resolve("data").toString(),
          "MKE_BACKUP_DEFAULT_DIR", dir.toString(),
          "MKE_BACKUP_ALLOWED_ROOTS", dir.toString(),
          "MKE_BACKUP_VOLUME_PREFIX", "cds-training-none-"));
      pb.environment().put("MKE_ADMIN_PASSWORD", "cds-training-password-" + System.nanoTime());
      pb.environment().put("MKE_BACKUP_NODE_NAME", "cds-training");
      Process p = pb.start();
      boolean exited;
      try {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.readString(log).contains(" ready at ")) {
          if (!p.isAlive() || System.nanoTime() > deadline) {
            throw new IOException("the training manager did not get ready: " + tail(log));
          }
          Thread.sleep(200);
        }
      } finally {
        p.destroy(); // SIGTERM: the JVM exits normally and writes the archive
        exited = p.waitFor(60, TimeUnit.SECONDS);
        if (!exited) {
          p.destroyForcibly();
        }
      }
      if (!exited || !Files.exists(partial) || Files.size(partial) == 0) {
        throw new IOException("the training manager wrote no whole archive: " + tail(log));
      }
      // -Xshare:on fails when the archive cannot be mapped, where the tests' -Xshare:auto would go
      // on without it.
      Process check = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-XX:SharedArchiveFile=" + partial, "-Xshare:on", "-jar", jar.toString(), "--version")
          .redirectErrorStream(true).redirectOutput(dir.resolve("check.log").toFile()).start();
      if (!check.waitFor(60, TimeUnit.SECONDS) || check.exitValue() != 0) {
        check.destroyForcibly();
        throw new IOException("the archive made cannot be used: " + tail(dir.resolve("check.log")));
      }
      Files.move(partial, archive, StandardCopyOption.ATOMIC_MOVE);
      // Archives of earlier builds of the jar are of no use any more.
      try (var old = Files.newDirectoryStream(archive.getParent(), "mke-backup-*.jsa*")) {
        for (Path f : old) {
          if (!f.equals(archive) && !f.getFileName().toString().endsWith(".part")) {
            Files.deleteIfExists(f);
          }
        }
      }
      System.out.printf("ProductJvm: made the class-data archive %s in %.1f s%n", archive.getFileName(),
          (System.nanoTime() - t0) / 1e9);
    } finally {
      Files.deleteIfExists(partial);
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  private static String tail(Path log) throws IOException {
    String text = Files.exists(log) ? Files.readString(log) : "";
    return text.substring(Math.max(0, text.length() - 2000));
  }
}
