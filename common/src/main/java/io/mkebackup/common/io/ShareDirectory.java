package io.mkebackup.common.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * An open backup directory, to which every write, rename and deletion on the share is relative
 * ({@code openat}, {@code renameat}, {@code unlinkat} on its descriptor): once it is open, no path
 * is resolved again, so whoever may write the share (an NFS export several hosts mount) and swaps
 * the directory, or one above it, for a link makes nothing land or go outside the directory that
 * was opened.
 *
 * <p>{@link #open} takes a directory's real path (one the caller checked, as {@code JobRules} does
 * for a manager's backups: no link in it) and opens each of its components from {@code /} without
 * following links ({@code O_NOFOLLOW}): a link in the path, there from the start or swapped in
 * between the caller's checks and the open, makes the open fail rather than lead elsewhere. Names
 * given to the other methods are single components: no separator, not {@code .} or {@code ..}.
 * Not thread-safe.
 */
public final class ShareDirectory implements AutoCloseable {
  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

  private final Path path;
  private final SecureDirectoryStream<Path> dir;

  private ShareDirectory(Path path, SecureDirectoryStream<Path> dir) {
    this.path = path;
    this.dir = dir;
  }

  /**
   * Opens the directory at {@code dir}, a real path (see the class comment).
   *
   * @throws NoSuchFileException when it does not exist
   * @throws java.nio.file.NotDirectoryException when it is not a directory
   * @throws FileSystemException when the path leads through a link, now or while it is opened; the
   *     message names the directory and the link's target
   */
  public static ShareDirectory open(Path dir) throws IOException {
    Path given = dir.toAbsolutePath().normalize();
    Path real = given.toRealPath();
    if (!real.equals(given)) {
      throw new FileSystemException(given.toString(), null, "leads through a link (to " + real
          + "); backups are written only to a directory named by its real path");
    }
    if (!Files.isDirectory(real, NOFOLLOW)) {
      throw new java.nio.file.NotDirectoryException(real.toString());
    }
    return walk(real);
  }

  /** Opens each component of {@code real} from {@code /}, following no link. */
  static ShareDirectory walk(Path real) throws IOException {
    SecureDirectoryStream<Path> current = secure(Files.newDirectoryStream(real.getRoot()), real);
    try {
      for (Path component : real) {
        SecureDirectoryStream<Path> next;
        try {
          next = current.newDirectoryStream(component, NOFOLLOW);
        } catch (NoSuchFileException e) {
          throw e;
        } catch (FileSystemException e) {
          throw new FileSystemException(real.toString(), null, "changed while it was opened (" + component
              + ": " + e.getReason() + "); nothing was written there");
        }
        current.close();
        current = next;
      }
      return new ShareDirectory(real, current);
    } catch (IOException | RuntimeException e) {
      current.close();
      throw e;
    }
  }

  private static SecureDirectoryStream<Path> secure(DirectoryStream<Path> stream, Path real) throws IOException {
    if (stream instanceof SecureDirectoryStream<Path> s) {
      return s;
    }
    stream.close();
    throw new FileSystemException(real.toString(), null,
        "this platform offers no descriptor-relative file operations (openat); mke-backup needs Linux");
  }

  /** The directory's path as resolved when it was opened, for messages. */
  public Path path() {
    return path;
  }

  /** Creates a new file (never an existing one, never through a link) and opens it for writing. */
  public FileChannel create(String name, FileAttribute<?>... attributes) throws IOException {
    return channel(name, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
        attributes);
  }

  /** Opens an existing file for reading and writing with the given extra options, never through a link. */
  public FileChannel openForWrite(String name, OpenOption... extra) throws IOException {
    java.util.Set<OpenOption> options = new java.util.HashSet<>(List.of(extra));
    options.add(StandardOpenOption.WRITE);
    options.add(StandardOpenOption.READ);
    options.add(LinkOption.NOFOLLOW_LINKS);
    return channel(name, options);
  }

  private FileChannel channel(String name, Set<? extends OpenOption> options, FileAttribute<?>... attributes)
      throws IOException {
    // On Linux the channel is a FileChannel (sun.nio.fs.UnixSecureDirectoryStream): force() works.
    return (FileChannel) dir.newByteChannel(component(name), options, attributes);
  }

  /** Renames {@code from} to {@code to} in this directory, replacing {@code to} atomically. */
  public void rename(String from, String to) throws IOException {
    dir.move(component(from), dir, component(to));
  }

  /** Deletes the file; false when there was none. Never follows a link (a link is deleted as itself). */
  public boolean delete(String name) throws IOException {
    try {
      dir.deleteFile(component(name));
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /** The names in the directory, as it lists them now. */
  public List<String> names() {
    List<String> names = new ArrayList<>();
    for (Path p : dir) {
      names.add(p.getFileName().toString());
    }
    return names;
  }

  /** Makes the directory's entries (a rename, a new file) durable. */
  public void fsync() throws IOException {
    try (FileChannel self = (FileChannel) dir.newByteChannel(Path.of("."), Set.of(StandardOpenOption.READ))) {
      self.force(true);
    }
  }

  private static Path component(String name) {
    Path p = Path.of(name);
    if (name.isEmpty() || p.getNameCount() != 1 || p.isAbsolute() || name.contains("/") || name.equals(".")
        || name.equals("..")) {
      throw new IllegalArgumentException("not a plain file name: " + FileNames.printable(name, 80));
    }
    return p;
  }

  @Override
  public void close() throws IOException {
    dir.close();
  }
}
