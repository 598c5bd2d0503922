package io.mkebackup.worker.source;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveNames;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import io.mkebackup.worker.pipeline.EntryInfo;
import io.mkebackup.common.io.FileNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Reads a volume straight from its mountpoint, for a process that may read it (root, usually).
 *
 * <p>The volume is written by the containers that use it, which may swap any file or directory
 * for a link while it is read. So nothing is ever opened by path: each directory and file is
 * opened relative to its parent's open descriptor without following a link (openat with
 * O_NOFOLLOW, through {@link SecureDirectoryStream}), and must be the file that was listed (same
 * device and inode, compared relative to that descriptor; for a directory, the descriptor's own).
 * A mismatch fails the backup naming the file. Names are kept as the bytes on disk
 * ({@link FileNames}), whatever the JVM's locale.
 *
 * <p>The walk itself ({@link #walk}) hands what it finds to a {@link Visitor}: {@link #copy}'s
 * writes it into the archive; a staged copy ({@code freeze.StagedCopy}) copies it into the spool
 * before and while a volume's writers are paused.
 */
public final class DiskVolumeSource implements VolumeSource {
  /** What the walk reads of each entry; ctime tells a staged copy whether a file changed since. */
  public static final String ATTRS = "unix:mode,uid,gid,lastModifiedTime,ctime,size,fileKey";
  private final Consumer<String> warnings;

  /** @param warnings told of entries skipped (sockets, devices, files that vanished) */
  public DiskVolumeSource(Consumer<String> warnings) {
    this.warnings = warnings;
  }

  /**
   * What a walk finds, in the archive's order (each directory before its entries, names sorted by
   * their bytes). {@code name} is the archive entry's name, {@code relative} the path inside the
   * volume ("" for its root), {@code attrs} the entry's {@link #ATTRS}.
   */
  public interface Visitor {
    void directory(String name, String relative, Map<String, Object> attrs) throws IOException;

    void symlink(String name, String relative, String target, Map<String, Object> attrs) throws IOException;

    /** Whether {@link #file} needs the file's bytes (else it gets null, and nothing is opened). */
    default boolean wantsContent(String relative, Map<String, Object> attrs) {
      return true;
    }

    /**
     * A regular file; {@code in} reads the very inode listed (checked before and after), from its
     * start, or is null when {@link #wantsContent} said no. The walk closes it.
     */
    void file(String name, String relative, Map<String, Object> attrs, SeekableByteChannel in) throws IOException;
  }

  /** Whether this process can read the volume's mountpoint. */
  public static boolean canRead(DockerEngine.VolumeInfo volume) {
    Path m = volume.mountpoint();
    return m != null && Files.isDirectory(m) && Files.isReadable(m) && Files.isExecutable(m);
  }

  @Override
  public Copied copy(DockerEngine.VolumeInfo volume, ArchiveWriter archive, ByteCounter progress) throws IOException {
    ToArchive to = new ToArchive(archive, progress, warnings);
    walk(volume, to, true);
    return new Copied(to.files, to.bytes, "disk");
  }

  /**
   * Walks a volume without ever following a link.
   *
   * @param strict true: a file that changes kind or identity while it is read stops the walk
   *     (the backup); false (a copy taken while the volume's writers run, to be checked again
   *     frozen): such an entry is left out, silently, as is one that vanished
   */
  public void walk(DockerEngine.VolumeInfo volume, Visitor visitor, boolean strict) throws IOException {
    if (!canRead(volume)) {
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "cannot read volume " + volume.fullName()
          + " at its mountpoint " + volume.mountpoint() + "; run as root or use the Docker archive API");
    }
    Path root = volume.mountpoint();
    String name = ArchiveLayout.volumeEntry(volume.name(), "");
    Map<String, Object> a = Files.readAttributes(root, ATTRS, LinkOption.NOFOLLOW_LINKS);
    if (((Integer) a.get("mode") & 0170000) != 0040000) {
      throw changed(name, "the volume's mountpoint " + root + " is not a directory");
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      if (!(ds instanceof SecureDirectoryStream<Path> dir)) {
        throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "this platform cannot read a directory without"
            + " following links, so volume " + volume.fullName() + " cannot be read safely from disk; use --source docker");
      }
      sameFile(name, a.get("fileKey"), dir.getFileAttributeView(BasicFileAttributeView.class).readAttributes());
      visitor.directory(name, "", a);
      walk(dir, root, "", volume.name(), visitor, strict ? warnings : w -> { }, strict);
    }
  }

  private void walk(SecureDirectoryStream<Path> dir, Path dirPath, String relative, String volume,
      Visitor visitor, Consumer<String> warn, boolean strict) throws IOException {
    List<Path> children = new ArrayList<>();
    for (Path p : dir) {
      children.add(p.getFileName());
    }
    children.sort(null); // by the names' bytes
    for (Path child : children) {
      try {
        child(dir, dirPath, relative, volume, child, visitor, warn, strict);
      } catch (BackupException e) {
        if (strict || e.code() != ErrorCode.VOLUME_READ_FAILED) {
          throw e;
        }
        // changed under a running writer: the frozen walk reads it
      }
    }
  }

  private void child(SecureDirectoryStream<Path> dir, Path dirPath, String relative, String volume, Path child,
      Visitor visitor, Consumer<String> warn, boolean strict) throws IOException {
    String childName = FileNames.name(child);
    String childRelative = relative.isEmpty() ? childName : relative + "/" + childName;
    String name = ArchiveLayout.volumeEntry(volume, childRelative);
    // Path-based, so only trusted once the descriptor-relative look below finds the same file.
    Map<String, Object> a;
    try {
      a = Files.readAttributes(dirPath.resolve(child), ATTRS, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException gone) {
      warn.accept(vanished(name));
      return;
    }
    Object listed = a.get("fileKey");
    int type = (Integer) a.get("mode") & 0170000;
    if (type == 0040000) {
      SecureDirectoryStream<Path> sub;
      try {
        sub = dir.newDirectoryStream(child, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException gone) {
        warn.accept(vanished(name));
        return;
      } catch (FileSystemException e) {
        throw changed(name, "it became a link or another kind of file (" + e.getReason() + ")");
      }
      try (sub) {
        sameFile(name, listed, sub.getFileAttributeView(BasicFileAttributeView.class).readAttributes());
        visitor.directory(name, childRelative, a);
        walk(sub, dirPath.resolve(child), childRelative, volume, visitor, warn, strict);
      }
    } else if (type == 0120000) {
      String target;
      try {
        target = FileNames.decode(FileNames.bytes(Files.readSymbolicLink(dirPath.resolve(child))));
      } catch (NoSuchFileException gone) {
        warn.accept(vanished(name));
        return;
      } catch (java.nio.file.NotLinkException e) {
        throw changed(name, "it was a symbolic link when listed and is something else now");
      }
      sameFile(name, listed, relativeAttributes(dir, child, name));
      visitor.symlink(name, childRelative, target, a);
    } else if (type == 0100000) {
      if (!visitor.wantsContent(childRelative, a)) {
        sameFile(name, listed, relativeAttributes(dir, child, name));
        visitor.file(name, childRelative, a, null);
        return;
      }
      SeekableByteChannel channel;
      try {
        // The listed inode is this directory's entry (checked through its descriptor), so the
        // name opened below cannot reach a host file through a swapped parent; and it is never
        // opened for reading unless it is still that regular file: a FIFO or device swapped in
        // would block the backup forever or act on the open.
        sameFile(name, listed, relativeAttributes(dir, child, name));
        channel = RegularFiles.open(dirPath.resolve(child), listed);
      } catch (NoSuchFileException gone) {
        warn.accept(vanished(name));
        return;
      } catch (FileSystemException e) {
        throw changed(name, "it became a link or another kind of file (" + e.getReason() + ")");
      }
      try (channel) {
        // The inode read is the one listed; and the listed one is still this directory's entry.
        sameFile(name, listed, relativeAttributes(dir, child, name));
        visitor.file(name, childRelative, a, channel);
      }
    } else {
      warn.accept(FileNames.printable(name) + " is a socket, FIFO or device; such entries are not backed up");
    }
  }

  /** The visitor of a plain copy: every entry straight into the archive. */
  public static final class ToArchive implements Visitor {
    private final ArchiveWriter archive;
    private final ByteCounter progress;
    private final Consumer<String> warnings;
    long files;
    long bytes;

    public ToArchive(ArchiveWriter archive, ByteCounter progress, Consumer<String> warnings) {
      this.archive = archive;
      this.progress = progress;
      this.warnings = warnings;
    }

    @Override
    public void directory(String name, String relative, Map<String, Object> a) throws IOException {
      archive.directory(name, info(a));
    }

    @Override
    public void symlink(String name, String relative, String target, Map<String, Object> a) throws IOException {
      String problem = ArchiveNames.linkProblem(relative, target);
      if (problem != null) {
        // Restore would refuse it; one such link (which anything writing into the volume can
        // make) must not stop every backup, so it is left out, and said.
        warnings.accept("the symbolic link " + FileNames.printable(name) + " " + problem + "; it is not backed up"
            + " (restore would refuse it): make it relative and inside its volume to keep it");
      } else {
        archive.symlink(name, target, info(a));
      }
    }

    @Override
    public void file(String name, String relative, Map<String, Object> a, SeekableByteChannel in) throws IOException {
      file(name, a, (Long) a.get("size"), Channels.newInputStream(in));
    }

    /** A regular file of {@code size} bytes (its attributes otherwise from {@code a}). */
    public void file(String name, Map<String, Object> a, long size, InputStream in) throws IOException {
      archive.file(name, info(a), size, in, progress);
      files++;
      bytes += size;
    }

    public long files() {
      return files;
    }

    public long bytes() {
      return bytes;
    }
  }

  private static BasicFileAttributes relativeAttributes(SecureDirectoryStream<Path> dir, Path child, String name)
      throws IOException {
    try {
      return dir.getFileAttributeView(child, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
    } catch (NoSuchFileException gone) {
      throw changed(name, "it was removed while it was read");
    }
  }

  /** The file reached through the open descriptors must be the one listed (device and inode). */
  private static void sameFile(String name, Object listed, BasicFileAttributes opened) {
    if (listed == null || !listed.equals(opened.fileKey())) {
      throw changed(name, "it is no longer the file that was listed (another file or a link took its place)");
    }
  }

  private static BackupException changed(String name, String why) {
    return new BackupException(ErrorCode.VOLUME_READ_FAILED, FileNames.printable(name) + " changed while the volume"
        + " was read: " + why + "; nothing is read through a link, so the backup stops. Run it again");
  }

  private static String vanished(String name) {
    return FileNames.printable(name) + " vanished while the volume was read; skipped";
  }

  /** An entry's owner, mode and mtime, from its {@link #ATTRS}. */
  public static EntryInfo info(Map<String, Object> a) {
    return new EntryInfo((Integer) a.get("mode") & 07777, ((Number) a.get("uid")).longValue(),
        ((Number) a.get("gid")).longValue(), ((FileTime) a.get("lastModifiedTime")).toInstant());
  }
}
