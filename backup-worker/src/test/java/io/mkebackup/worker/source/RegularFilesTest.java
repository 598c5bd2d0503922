package io.mkebackup.worker.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.mkebackup.common.io.FileNames;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opening only the regular file expected, on real nodes: a FIFO (which an ordinary open for
 * reading would wait on forever), a device, a link, another inode, a name that is not UTF-8.
 */
class RegularFilesTest {
  @TempDir
  Path dir;

  static Object key(Path p) throws Exception {
    return Files.readAttributes(p, "unix:fileKey", LinkOption.NOFOLLOW_LINKS).get("fileKey");
  }

  @Test
  void theRegularFileListedIsRead() throws Exception {
    Path f = Files.writeString(dir.resolve("a"), "content");
    try (SeekableByteChannel c = RegularFiles.open(f, key(f)); InputStream in = Channels.newInputStream(c)) {
      assertThat(new String(in.readAllBytes())).isEqualTo("content");
    }
  }

  @Test
  void aFifoIsRefusedWithoutWaitingForAWriter() throws Exception {
    Path fifo = dir.resolve("fifo");
    Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertThat(p.waitFor()).isZero();
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(() -> RegularFiles.open(fifo, null))
        .isInstanceOf(RegularFiles.NotTheFile.class).hasMessageContaining("a FIFO"));
  }

  @Test
  void aDeviceIsRefused() {
    assertThatThrownBy(() -> RegularFiles.open(Path.of("/dev/null"), null))
        .isInstanceOf(RegularFiles.NotTheFile.class).hasMessageContaining("a character device");
  }

  @Test
  void aLinkIsNotFollowedEvenToTheFileListed() throws Exception {
    Path f = Files.writeString(dir.resolve("target"), "secret");
    Path link = Files.createSymbolicLink(dir.resolve("link"), f);
    assertThatThrownBy(() -> RegularFiles.open(link, key(f))).isInstanceOf(RegularFiles.NotTheFile.class)
        .hasMessageContaining("a symbolic link");
  }

  @Test
  void anotherInodeUnderTheSameNameIsRefused() throws Exception {
    Path f = Files.writeString(dir.resolve("a"), "first");
    Object listed = key(f);
    Files.delete(f);
    Files.writeString(dir.resolve("b"), "keep b's inode apart");
    Files.writeString(f, "second");
    assertThatThrownBy(() -> RegularFiles.open(f, listed)).isInstanceOf(RegularFiles.NotTheFile.class)
        .hasMessageContaining("another file");
  }

  @Test
  void aMissingNameIsNoSuchFile() {
    assertThatThrownBy(() -> RegularFiles.open(dir.resolve("none"), null)).isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> RegularFiles.open(dir.resolve("none/below"), null))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void aNameThatIsNotUtf8IsOpenedByItsBytes() throws Exception {
    Process p = new ProcessBuilder("sh", "-c", "printf 'raw name' > \"$1\"/x$(printf '\\377')", "sh", dir.toString())
        .start();
    assertThat(p.waitFor()).isZero();
    Path f;
    try (var s = Files.list(dir)) {
      f = s.findFirst().orElseThrow();
    }
    assertThat(FileNames.bytes(f.getFileName())).containsExactly('x', (byte) 0xff);
    try (SeekableByteChannel c = RegularFiles.open(f, key(f)); InputStream in = Channels.newInputStream(c)) {
      assertThat(new String(in.readAllBytes())).isEqualTo("raw name");
    }
  }
}
