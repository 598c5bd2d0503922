package io.mkebackup.common.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The share's directory on a real file system, with real links swapped in: once open, writes,
 * renames and deletions stay in the directory that was opened; a path through a link is refused.
 */
class ShareDirectoryTest {
  @TempDir
  Path base;
  Path backups;
  Path outside;

  @BeforeEach
  void dirs() throws IOException {
    backups = Files.createDirectories(base.resolve("share/backups")).toRealPath();
    outside = Files.createDirectories(base.resolve("etc")).toRealPath();
    Files.writeString(outside.resolve("old.tar"), "not the share's");
    Files.writeString(outside.resolve("new.part"), "planted");
    Files.writeString(backups.resolve("old.tar"), "an old backup");
  }

  /** Swaps the backup directory for a link to {@code outside}; returns where the directory went. */
  Path swapForLink() throws IOException {
    Path moved = Files.move(backups, backups.resolveSibling("moved"));
    Files.createSymbolicLink(backups, outside);
    return moved;
  }

  @Test
  void aLinkSwappedInAfterTheOpenLeadsNowhere() throws IOException {
    Path moved;
    try (ShareDirectory share = ShareDirectory.open(backups)) {
      moved = swapForLink();
      try (FileChannel c = share.create("new.part")) {
        c.write(ByteBuffer.wrap("the backup".getBytes(StandardCharsets.UTF_8)));
        c.force(true);
      }
      share.rename("new.part", "new.tar");
      assertThat(share.delete("old.tar")).isTrue();
      assertThat(share.delete("old.tar")).isFalse();
      share.fsync();
      assertThat(share.names()).containsExactly("new.tar");
    }
    assertThat(Files.readString(moved.resolve("new.tar"))).isEqualTo("the backup");
    assertThat(moved.resolve("old.tar")).doesNotExist();
    // Outside: exactly as it was.
    try (var files = Files.list(outside)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("old.tar", "new.part");
    }
    assertThat(Files.readString(outside.resolve("old.tar"))).isEqualTo("not the share's");
    assertThat(Files.readString(outside.resolve("new.part"))).isEqualTo("planted");
  }

  @Test
  void aPathThroughALinkIsRefusedNamingItsTarget() throws IOException {
    Path link = Files.createSymbolicLink(base.resolve("link"), backups.getParent());
    assertThatThrownBy(() -> ShareDirectory.open(link.resolve("backups")))
        .isInstanceOf(FileSystemException.class).hasMessageContaining("leads through a link")
        .hasMessageContaining(backups.toString());
    swapForLink();
    assertThatThrownBy(() -> ShareDirectory.open(backups))
        .isInstanceOf(FileSystemException.class).hasMessageContaining("leads through a link");
  }

  /** A link that appears after the caller resolved the path (its checks) stops the open. */
  @Test
  void aLinkThatAppearsWhileOpeningStopsIt() throws IOException {
    swapForLink();
    assertThatThrownBy(() -> ShareDirectory.walk(backups))
        .isInstanceOf(FileSystemException.class).hasMessageContaining("changed while it was opened")
        .hasMessageContaining(backups.toString());
    Files.delete(backups);
    Files.createFile(backups);
    assertThatThrownBy(() -> ShareDirectory.walk(backups)).isInstanceOf(FileSystemException.class)
        .hasMessageContaining("changed while it was opened");
  }

  @Test
  void namesAreSingleComponents() throws IOException {
    try (ShareDirectory share = ShareDirectory.open(backups)) {
      for (String bad : new String[] {"", ".", "..", "../etc/old.tar", "a/b", "/etc/passwd"}) {
        assertThatThrownBy(() -> share.delete(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("not a plain file name");
      }
    }
    assertThat(backups.resolve("old.tar")).exists();
  }

  @Test
  void whatIsNotThereOrNotADirectoryIsNamed() throws IOException {
    assertThatThrownBy(() -> ShareDirectory.open(backups.resolve("absent")))
        .isInstanceOf(java.nio.file.NoSuchFileException.class);
    assertThatThrownBy(() -> ShareDirectory.open(backups.resolve("old.tar")))
        .isInstanceOf(java.nio.file.NotDirectoryException.class).hasMessageContaining("old.tar");
  }
}
