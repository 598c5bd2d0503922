package io.mkebackup.common.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicWriteTest {
  @TempDir
  Path dir;

  static String ls(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList().toString();
    }
  }

  @Test
  void theFileAppearsWholeWithItsModeAndNothingBeside() throws Exception {
    Path f = dir.resolve("admin-password");
    AtomicWrite.write(f, "secret\n".getBytes(StandardCharsets.UTF_8), AtomicWrite.PRIVATE);
    assertThat(Files.readString(f)).isEqualTo("secret\n");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
    AtomicWrite.write(f, "other\n".getBytes(StandardCharsets.UTF_8), AtomicWrite.PRIVATE);
    assertThat(Files.readString(f)).isEqualTo("other\n");
    assertThat(ls(dir)).isEqualTo("[admin-password]");
  }

  @Test
  void aFailedWriteLeavesWhatWasThere() throws Exception {
    Path f = dir.resolve("cert.pem");
    Files.writeString(f, "old");
    // A directory of the same name cannot be replaced by a file: the rename fails.
    Path blocked = Files.createDirectory(dir.resolve("blocked"));
    Files.writeString(blocked.resolve("inside"), "x");
    assertThatThrownBy(() -> AtomicWrite.write(blocked, "new".getBytes(StandardCharsets.UTF_8), AtomicWrite.PRIVATE))
        .isInstanceOf(java.io.IOException.class);
    assertThat(Files.readString(f)).isEqualTo("old");
    assertThat(ls(dir)).isEqualTo("[blocked, cert.pem]");
  }
}
