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
 */
public final class DiskVolumeSource implements VolumeSource {
  private static final String ATTRS = "unix:mode,uid,gid,lastModifiedTime,size,fileKey";
  private final Consumer<String> warnings;

  /** @param warnings told of entries skipped (sockets, devices, files that vanished) */
  public DiskVolumeSource(Consumer<String> warnings) {
    this.warnings = warnings;
  }

  /** Whether this process can read the volume's mountpoint. */
  public static boolean canRead(DockerEngine.VolumeInfo volume) {
    Path m = volume.mountpoint();
    return m != null && Files.isDirectory(m) && Files.isReadable(m) && Files.isExecutable(m);
  }

  @Override
  public Copied copy(DockerEngine.VolumeInfo volume, ArchiveWriter archive, ByteCounter progress) throws IOException {
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
    long[] totals = new long[2];
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      if (!(ds instanceof SecureDirectoryStream<Path> dir)) {
        throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "this platform cannot read a directory without"
            + " following links, so volume " + volume.fullName() + " cannot be read safely from disk; use --source docker");
      }
      sameFile(name, a.get("fileKey"), dir.getFileAttributeView(BasicFileAttributeView.class).readAttributes());
      archive.directory(name, info(a));
      walk(dir, root, "", volume.name(), archive, progress, totals);
    }
    return new Copied(totals[0], totals[1], "disk");
  }

  private void walk(SecureDirectoryStream<Path> dir, Path dirPath, String relative, String volume,
      ArchiveWriter archive, ByteCounter progress, long[] totals) throws IOException {
    List<Path> children = new ArrayList<>();
    for (Path p : dir) {
      children.add(p.getFileName());
    }
    children.sort(null); // by the names' bytes
    for (Path child : children) {
      String childName = FileNames.name(child);
      String childRelative = relative.isEmpty() ? childName : relative + "/" + childName;
      String name = ArchiveLayout.volumeEntry(volume, childRelative);
      // Path-based, so only trusted once the descriptor-relative look below finds the same file.
      Map<String, Object> a;
      try {
        a = Files.readAttributes(dirPath.resolve(child), ATTRS, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException gone) {
        vanished(name);
        continue;
      }
      Object listed = a.get("fileKey");
      int type = (Integer) a.get("mode") & 0170000;
      if (type == 0040000) {
        SecureDirectoryStream<Path> sub;
        try {
          sub = dir.newDirectoryStream(child, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
          vanished(name);
          continue;
        } catch (FileSystemException e) {
          throw changed(name, "it became a link or another kind of file (" + e.getReason() + ")");
        }
        try (sub) {
          sameFile(name, listed, sub.getFileAttributeView(BasicFileAttributeView.class).readAttributes());
          archive.directory(name, info(a));
          walk(sub, dirPath.resolve(child), childRelative, volume, archive, progress, totals);
        }
      } else if (type == 0120000) {
        String target;
        try {
          target = FileNames.decode(FileNames.bytes(Files.readSymbolicLink(dirPath.resolve(child))));
        } catch (NoSuchFileException gone) {
          vanished(name);
          continue;
        } catch (java.nio.file.NotLinkException e) {
          throw changed(name, "it was a symbolic link when listed and is something else now");
        }
        sameFile(name, listed, relativeAttributes(dir, child, name));
        String problem = ArchiveNames.linkProblem(childRelative, target);
        if (problem != null) {
          // Restore would refuse it; one such link (which anything writing into the volume can
          // make) must not stop every backup, so it is left out, and said.
          warnings.accept("the symbolic link " + FileNames.printable(name) + " " + problem + "; it is not backed up"
              + " (restore would refuse it): make it relative and inside its volume to keep it");
        } else {
          archive.symlink(name, target, info(a));
        }
      } else if (type == 0100000) {
        SeekableByteChannel channel;
        try {
          // The listed inode is this directory's entry (checked through its descriptor), so the
          // name opened below cannot reach a host file through a swapped parent; and it is never
          // opened for reading unless it is still that regular file: a FIFO or device swapped in
          // would block the backup forever or act on the open.
          sameFile(name, listed, relativeAttributes(dir, child, name));
          channel = RegularFiles.open(dirPath.resolve(child), listed);
        } catch (NoSuchFileException gone) {
          vanished(name);
          continue;
        } catch (FileSystemException e) {
          throw changed(name, "it became a link or another kind of file (" + e.getReason() + ")");
        }
        try (InputStream in = Channels.newInputStream(channel)) {
          // The inode read is the one listed; and the listed one is still this directory's entry.
          sameFile(name, listed, relativeAttributes(dir, child, name));
          long size = (Long) a.get("size");
          archive.file(name, info(a), size, in, progress);
          totals[0]++;
          totals[1] += size;
        }
      } else {
        warnings.accept(FileNames.printable(name) + " is a socket, FIFO or device; such entries are not backed up");
      }
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

  private void vanished(String name) {
    warnings.accept(FileNames.printable(name) + " vanished while the volume was read; skipped");
  }

  private static EntryInfo info(Map<String, Object> a) {
    return new EntryInfo((Integer) a.get("mode") & 07777, ((Number) a.get("uid")).longValue(),
        ((Number) a.get("gid")).longValue(), ((FileTime) a.get("lastModifiedTime")).toInstant());
  }
}
