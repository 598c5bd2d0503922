package io.mkebackup.deploy.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Temporary files and directories the tests make outside JUnit's {@code @TempDir} (in static
 * helpers, or shared by a class): removed by {@link #remove} (ManagerCluster and DemoFixture call
 * it at close), else when the test JVM exits. Left behind they filled the host's /tmp run after
 * run (gigabytes of backups in each cluster's directory) until backups failed for want of space.
 */
final class Scratch {
  private static final Set<Path> MADE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> MADE.forEach(Scratch::remove), "scratch-removal"));
  }

  private Scratch() {}

  static Path dir(String prefix, FileAttribute<?>... attrs) throws IOException {
    return made(Files.createTempDirectory(prefix, attrs));
  }

  static Path file(String prefix, String suffix, FileAttribute<?>... attrs) throws IOException {
    return made(Files.createTempFile(prefix, suffix, attrs));
  }

  private static Path made(Path p) {
    MADE.add(p);
    return p;
  }

  /** Removes a file or a whole tree now; what cannot be removed is left (a test's cleanup never fails it). */
  static void remove(Path p) {
    MADE.remove(p);
    try {
      io.mkebackup.worker.pipeline.SpoolDirectory.deleteTree(p); // a file, or a tree without following links
    } catch (IOException e) {
      System.err.println("Scratch: cannot remove all of " + p + ": " + e);
    }
  }
}
