package io.mkebackup.deploy.it;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Temporary files and directories the tests make outside JUnit's {@code @TempDir} (in static
 * helpers, or shared by a class): removed when they are closed, else when the test JVM exits. Left
 * behind they filled the host's /tmp run after run (gigabytes of backups in each cluster's
 * directory) until backups failed for want of space.
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
      if (!Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.deleteIfExists(p);
        return;
      }
      Files.walkFileTree(p, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
          Files.deleteIfExists(f);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path f, IOException e) {
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          Files.deleteIfExists(d);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      System.err.println("Scratch: cannot remove all of " + p + ": " + e);
    }
  }
}
