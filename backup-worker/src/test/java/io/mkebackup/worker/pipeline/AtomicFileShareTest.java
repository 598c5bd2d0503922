package io.mkebackup.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An archive on a share someone else may write: the backup directory swapped for a link to
 * another directory while the archive is written makes nothing land there, even when that
 * directory holds a file of the temporary's name (which a rename by path would move into place).
 */
class AtomicFileShareTest {
  @TempDir
  Path base;

  @Test
  void theDirectorySwappedForALinkMidWriteKeepsTheArchiveInTheDirectoryOpened() throws IOException {
    Path backups = Files.createDirectories(base.resolve("backups")).toRealPath();
    Path outside = Files.createDirectories(base.resolve("etc")).toRealPath();
    Files.writeString(outside.resolve(".backup.tar.id1.part"), "planted");
    try (AtomicFile file = AtomicFile.create(backups.resolve("backup.tar"), "id1", true)) {
      file.stream().write("the archive".getBytes(StandardCharsets.UTF_8));
      Path moved = Files.move(backups, base.resolve("moved"));
      Files.createSymbolicLink(backups, outside);
      file.commit();
      assertThat(Files.readString(moved.resolve("backup.tar"))).isEqualTo("the archive");
      try (var left = Files.list(moved)) {
        assertThat(left.map(p -> p.getFileName().toString())).containsExactly("backup.tar");
      }
    }
    try (var there = Files.list(outside)) {
      assertThat(there.map(p -> p.getFileName().toString())).containsExactly(".backup.tar.id1.part");
    }
    assertThat(Files.readString(outside.resolve(".backup.tar.id1.part"))).isEqualTo("planted");
  }

  @Test
  void anUncommittedFileIsDeletedFromTheDirectoryOpenedNotThroughTheLink() throws IOException {
    Path backups = Files.createDirectories(base.resolve("backups")).toRealPath();
    Path outside = Files.createDirectories(base.resolve("etc")).toRealPath();
    Files.writeString(outside.resolve(".backup.tar.id2.part"), "planted");
    Path moved;
    try (AtomicFile file = AtomicFile.create(backups.resolve("backup.tar"), "id2", false)) {
      file.stream().write(1);
      moved = Files.move(backups, base.resolve("moved"));
      Files.createSymbolicLink(backups, outside);
    }
    try (var left = Files.list(moved)) {
      assertThat(left).isEmpty();
    }
    assertThat(Files.readString(outside.resolve(".backup.tar.id2.part"))).isEqualTo("planted");
  }

  @Test
  void aBackupDirectoryReachedThroughALinkIsRefusedByName() throws IOException {
    Path backups = Files.createDirectories(base.resolve("backups")).toRealPath();
    Path link = Files.createSymbolicLink(base.resolve("link"), backups);
    assertThatThrownBy(() -> AtomicFile.create(link.resolve("backup.tar"), "id3", false))
        .isInstanceOf(BackupException.class).hasMessageContaining(link.toString())
        .hasMessageContaining("leads through a link")
        .satisfies(e -> assertThat(((BackupException) e).code()).isEqualTo(ErrorCode.TARGET_NOT_WRITABLE));
    try (var left = Files.list(backups)) {
      assertThat(left).isEmpty();
    }
  }
}
