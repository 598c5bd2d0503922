package io.mkebackup.worker.source;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveWriter;
import io.mkebackup.common.archive.ArchiveWriter.ByteCounter;
import io.mkebackup.common.archive.EntryInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** Reads a volume straight from its mountpoint, for a process that may read it (root, usually). */
public final class DiskVolumeSource implements VolumeSource {
  private static final String ATTRS = "unix:mode,uid,gid,lastModifiedTime,size";
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
    long[] totals = new long[2];
    walk(volume.mountpoint(), "", volume.name(), archive, progress, totals);
    return new Copied(totals[0], totals[1], "disk");
  }

  private void walk(Path path, String relative, String volume, ArchiveWriter archive, ByteCounter progress,
      long[] totals) throws IOException {
    Map<String, Object> a;
    try {
      a = Files.readAttributes(path, ATTRS, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException gone) {
      warnings.accept(ArchiveLayout.volumeEntry(volume, relative) + " vanished while the volume was read; skipped");
      return;
    }
    int mode = (Integer) a.get("mode");
    EntryInfo info = new EntryInfo(mode & 07777, ((Number) a.get("uid")).longValue(),
        ((Number) a.get("gid")).longValue(), ((FileTime) a.get("lastModifiedTime")).toInstant());
    String name = ArchiveLayout.volumeEntry(volume, relative);
    int type = mode & 0170000;
    if (type == 0040000) {
      archive.directory(name, info);
      List<Path> children = new ArrayList<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(path)) {
        ds.forEach(children::add);
      }
      children.sort(null);
      for (Path child : children) {
        String childRelative = relative.isEmpty() ? child.getFileName().toString()
            : relative + "/" + child.getFileName();
        walk(child, childRelative, volume, archive, progress, totals);
      }
    } else if (type == 0120000) {
      archive.symlink(name, Files.readSymbolicLink(path).toString(), info);
    } else if (type == 0100000) {
      long size = (Long) a.get("size");
      // FileInputStream reads into the array without NIO's temporary direct buffer; the type was
      // checked without following links just above.
      try (InputStream in = new java.io.FileInputStream(path.toFile())) {
        archive.file(name, info, size, in, progress);
      } catch (java.io.FileNotFoundException gone) {
        warnings.accept(name + " vanished while the volume was read; skipped");
        return;
      }
      totals[0]++;
      totals[1] += size;
    } else {
      warnings.accept(name + " is a socket, FIFO or device; such entries are not backed up");
    }
  }
}
