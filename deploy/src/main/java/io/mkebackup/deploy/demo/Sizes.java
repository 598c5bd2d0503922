package io.mkebackup.deploy.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

final class Sizes {
  private Sizes() {}

  static long onDisk(Path root) throws IOException {
    try (var s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }
}
