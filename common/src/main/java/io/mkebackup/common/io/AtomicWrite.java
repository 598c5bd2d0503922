package io.mkebackup.common.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.UUID;

/**
 * A small file written so that it is born complete and stays so through a crash: written to a
 * hidden {@code .<name>.<random>.part} beside it (created new, not through a link, with its final
 * mode), fsynced, renamed over the name, and the directory fsynced so the rename itself is on disk.
 * A failure deletes the part file and leaves what was there before.
 */
public final class AtomicWrite {
  /** Owner read and write only. */
  public static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");

  private AtomicWrite() {}

  /** With exactly {@code mode}, whatever the process's umask. */
  public static void write(Path file, byte[] content, Set<PosixFilePermission> mode) throws IOException {
    write(file, content, mode, true);
  }

  /** With the mode a new file gets here ({@code rw-rw-rw-} less the process's umask), as Files.write gives. */
  public static void write(Path file, byte[] content) throws IOException {
    write(file, content, PosixFilePermissions.fromString("rw-rw-rw-"), false);
  }

  private static void write(Path file, byte[] content, Set<PosixFilePermission> mode, boolean exactly)
      throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Path part = dir.resolve("." + file.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8) + ".part");
    try {
      try (FileChannel out = FileChannel.open(part, Set.<java.nio.file.OpenOption>of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
          LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(mode))) {
        ByteBuffer b = ByteBuffer.wrap(content);
        while (b.hasRemaining()) {
          out.write(b);
        }
        out.force(true);
      }
      if (exactly) {
        // The umask may have taken bits away from the mode asked for.
        Files.setPosixFilePermissions(part, mode);
      }
      Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(part);
      throw e;
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }
}
