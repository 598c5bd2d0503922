package io.mkebackup.worker.source;

import io.mkebackup.common.io.FileNames;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Opens a file for reading only once it is proved to be the regular file expected, without ever
 * opening anything else. An open(2) for reading has effects of its own on what is not a regular
 * file: it blocks forever on a FIFO until a writer comes, and a device's driver acts on the open
 * (a watchdog starts its countdown, a tape rewinds). A process that can write into a volume can
 * swap a file it owns for such a node between our look at it and our open. So the name is opened
 * with O_PATH | O_NOFOLLOW, which opens nothing (no driver is called, a FIFO does not block, a link
 * is not followed); the inode that descriptor holds is checked (regular file, the expected device
 * and inode); and only then is it opened for reading through {@code /proc/self/fd/N}, which reaches
 * that same inode whatever happens to the name meanwhile.
 *
 * <p>Linux on x86 or ARM only (O_PATH, /proc, the flags' values); elsewhere, or without JNA's
 * native library, it opens nothing and says so (fail closed).
 */
public final class RegularFiles {
  private static final Logger LOG = Logger.getLogger(RegularFiles.class.getName());
  private static final int O_PATH = 010000000;
  private static final int O_CLOEXEC = 02000000;
  /** O_NOFOLLOW differs between the x86 and the ARM Linux ABIs. */
  private static final int O_NOFOLLOW = System.getProperty("os.arch").matches("aarch64|arm.*") ? 0100000 : 0400000;
  private static final int ENOENT = 2;
  private static final int ENOTDIR = 20;

  private interface LibC extends Library {
    int open(byte[] path, int flags) throws LastErrorException;

    int close(int fd) throws LastErrorException;
  }

  private static final LibC LIBC = load();

  private static LibC load() {
    if (!System.getProperty("os.name").equals("Linux") || !Files.isDirectory(Path.of("/proc/self/fd"))
        || !System.getProperty("os.arch").matches("amd64|x86_64|aarch64|arm.*")) {
      LOG.warning("not Linux on x86 or ARM with /proc: files in volumes cannot be read from disk safely here");
      return null;
    }
    try {
      return Native.load("c", LibC.class);
    } catch (LinkageError | RuntimeException e) {
      LOG.warning("cannot load the C library through JNA (" + e + "): files in volumes cannot be read from"
          + " disk safely here");
      return null;
    }
  }

  private RegularFiles() {}

  /** A file that is not the regular file expected: a node of another kind, a link, another inode. */
  public static final class NotTheFile extends FileSystemException {
    private static final long serialVersionUID = 1L;

    NotTheFile(Path file, String reason) {
      super(file.toString(), null, reason);
    }
  }

  /**
   * Opens {@code file} for reading if, without following a link, it is a regular file with the
   * given file key (device and inode, as {@code Files.readAttributes(..., "fileKey")} gives it).
   *
   * @param expectedKey null to accept any regular file
   * @throws NoSuchFileException when there is no such name
   * @throws NotTheFile when the name is a link, a directory, a FIFO, a socket, a device or another
   *     inode than the one expected (nothing was opened for reading)
   */
  public static SeekableByteChannel open(Path file, Object expectedKey) throws IOException {
    if (LIBC == null) {
      // Fail closed: an ordinary open could block on a FIFO or open a device.
      throw new FileSystemException(file.toString(), null, "cannot open it safely here (no O_PATH through JNA"
          + " and /proc); back this volume up with --source docker");
    }
    byte[] name = FileNames.bytes(file);
    byte[] cString = Arrays.copyOf(name, name.length + 1);
    int fd;
    try {
      fd = LIBC.open(cString, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    } catch (LastErrorException e) {
      if (e.getErrorCode() == ENOENT || e.getErrorCode() == ENOTDIR) {
        throw new NoSuchFileException(file.toString());
      }
      throw new FileSystemException(file.toString(), null, "open(O_PATH) failed, errno " + e.getErrorCode());
    }
    try {
      Path held = Path.of("/proc/self/fd/" + fd);
      // Following the magic link reaches the inode the descriptor holds, not the name.
      Map<String, Object> a = Files.readAttributes(held, "unix:mode,fileKey");
      int type = (Integer) a.get("mode") & 0170000;
      if (type != 0100000) {
        throw new NotTheFile(file, "not a regular file (" + kind(type) + ")");
      }
      if (expectedKey != null && !expectedKey.equals(a.get("fileKey"))) {
        throw new NotTheFile(file, "another file than the one listed");
      }
      return Files.newByteChannel(held, StandardOpenOption.READ);
    } finally {
      try {
        LIBC.close(fd);
      } catch (LastErrorException ignored) {
        // an O_PATH descriptor: nothing was written through it
      }
    }
  }

  static String kind(int type) {
    return switch (type) {
      case 0120000 -> "a symbolic link";
      case 0040000 -> "a directory";
      case 0010000 -> "a FIFO";
      case 0140000 -> "a socket";
      case 0020000 -> "a character device";
      case 0060000 -> "a block device";
      default -> "type " + Integer.toOctalString(type);
    };
  }
}
