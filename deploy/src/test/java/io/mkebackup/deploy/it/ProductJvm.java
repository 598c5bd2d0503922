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
 * <p>The archive is made once per built jar (its name carries the jar's size and time), by a
 * manager of one member that starts and is stopped, under a lock across the test JVMs that run at
 * once. If it cannot be made, tests run plain {@code java}: slower, nothing else changes. The
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
      Path archive = jar.resolveSibling("mke-backup-" + Files.size(jar) + "-"
          + Files.getLastModifiedTime(jar).toMillis() + ".jsa");
      try (RandomAccessFile lockFile = new RandomAccessFile(jar.resolveSibling("mke-backup.jsa.lock").toFile(), "rw");
          FileLock lock = lockFile.getChannel().lock()) {
        if (!Files.exists(archive)) {
          make(jar, archive);
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
    Path dir = Files.createTempDirectory("mke-cds-");
    Path partial = archive.resolveSibling(archive.getFileName() + ".part");
    Files.deleteIfExists(partial);
    try {
      Path secret = dir.resolve("secret");
      Files.writeString(secret, "cds-training-secret-" + System.nanoTime());
      Path log = dir.resolve("manager.log");
      ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-XX:ArchiveClassesAtExit=" + partial, "-Xlog:cds*=off", "-Xmx256m", "-jar", jar.toString(), "manager")
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
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
      if (!Files.exists(partial) || Files.size(partial) == 0) {
        throw new IOException("the training manager wrote no archive: " + tail(log));
      }
      Files.move(partial, archive, StandardCopyOption.ATOMIC_MOVE);
      // Archives of earlier builds of the jar are of no use any more.
      try (var old = Files.newDirectoryStream(archive.getParent(), "mke-backup-*.jsa")) {
        for (Path f : old) {
          if (!f.equals(archive)) {
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
