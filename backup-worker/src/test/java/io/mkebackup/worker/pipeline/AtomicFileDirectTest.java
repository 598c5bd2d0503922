package io.mkebackup.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files written with O_DIRECT (the temporary directory is on ext4 here) hold exactly the bytes
 * written, whatever their length against the block size and however they were split, and an
 * uncommitted one leaves nothing.
 */
class AtomicFileDirectTest {
  @TempDir
  Path dir;

  /** O_DIRECT is what is proved here: required, not left to the code's own rule. */
  @org.junit.jupiter.api.BeforeEach
  void requireDirectIo() throws java.io.IOException {
    DirectIoRequired.in(dir);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 511, 4095, 4096, 4097, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 777})
  void directWritesKeepEveryByte(int size) throws Exception {
    byte[] data = new byte[size];
    new Random(size).nextBytes(data);
    Path target = dir.resolve("a.tar");
    try (AtomicFile f = AtomicFile.create(target, "t" + size, true)) {
      assertThat(f.writesDirectly()).as("O_DIRECT on " + Files.getFileStore(dir).type()).isTrue();
      UnevenWrites.write(f.stream(), data);
      f.commit();
    }
    assertThat(Files.readAllBytes(target)).isEqualTo(data);
    assertThat(Files.getPosixFilePermissions(target)).extracting(Object::toString)
        .containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");
    assertThat(leftovers()).isZero();
  }

  @Test
  void anUncommittedDirectFileLeavesNothingAndKeepsTheOldOne() throws Exception {
    Path target = dir.resolve("b.tar");
    Files.writeString(target, "the previous backup");
    try (AtomicFile f = AtomicFile.create(target, "t", true)) {
      assertThat(f.writesDirectly()).isTrue();
      f.stream().write(new byte[(1 << 20) + 5]);
    }
    assertThat(Files.readString(target)).isEqualTo("the previous backup");
    assertThat(leftovers()).isZero();
  }

  /**
   * Whoever may write the backup directory could rename a file of their own over the new one's
   * name before it is opened a second time for O_DIRECT; that second descriptor is then refused.
   */
  @Test
  void aFileRenamedOverTheNewOneIsNotWrittenThrough() throws Exception {
    Path part = dir.resolve(".c.tar.t.part");
    Path theirs = Files.writeString(dir.resolve("theirs"), "");
    int block = (int) Files.getFileStore(dir).getBlockSize();
    try (java.nio.channels.FileChannel plain = java.nio.channels.FileChannel.open(part,
        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
      try (java.nio.channels.FileChannel same = direct(part)) {
        assertThat(DirectFileOutputStream.sameFile(plain, same, block)).isTrue();
      }
      Files.move(theirs, part, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      try (java.nio.channels.FileChannel swapped = direct(part)) {
        assertThat(DirectFileOutputStream.sameFile(plain, swapped, block)).isFalse();
      }
    }
  }

  static java.nio.channels.FileChannel direct(Path p) throws java.io.IOException {
    return java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE,
        java.nio.file.StandardOpenOption.READ, com.sun.nio.file.ExtendedOpenOption.DIRECT);
  }

  long leftovers() throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(AtomicFile::isTemporary).count();
    }
  }
}
