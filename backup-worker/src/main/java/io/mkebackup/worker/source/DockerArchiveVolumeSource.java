package io.mkebackup.worker.source;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveNames;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import io.mkebackup.worker.pipeline.EntryInfo;
import io.mkebackup.common.io.FileNames;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.Consumer;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads a volume through the Docker archive API ({@code docker cp}) of a created, never-started
 * helper container that mounts it, re-emitting each entry under {@code ./<volume>/}. Works for a
 * process that may use the Docker socket but not read {@code /var/lib/docker}.
 */
public final class DockerArchiveVolumeSource implements VolumeSource {
  private final ContainerEngine docker;
  private final String helperId;
  private final Consumer<String> warnings;

  public DockerArchiveVolumeSource(ContainerEngine docker, String helperId, Consumer<String> warnings) {
    this.docker = docker;
    this.helperId = helperId;
    this.warnings = warnings;
  }

  @Override
  public Copied copy(DockerEngine.VolumeInfo volume, ArchiveWriter archive, ByteCounter progress) throws IOException {
    long files = 0;
    long bytes = 0;
    try (InputStream raw = docker.archive(helperId, DockerEngine.MOUNT_ROOT + volume.fullName());
        TarArchiveInputStream tar = new TarArchiveInputStream(raw, FileNames.CHARSET_NAME)) {
      InputStream fullReads = new FullReads(tar);
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        // Entries arrive as <full volume name>/<path>; the archive names them by volume name.
        String n = e.getName();
        if (n.indexOf('\uFFFD') >= 0 || e.isSymbolicLink() && e.getLinkName().indexOf('\uFFFD') >= 0) {
          // Docker puts a name that is not UTF-8 in a PAX record, which Commons Compress reads
          // as UTF-8, replacing what it cannot decode: the name would not be kept byte for byte.
          throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "volume " + volume.name() + ": the name of "
              + FileNames.printable(n) + " is not UTF-8 and the Docker archive API cannot pass it on byte for"
              + " byte; back this volume up from disk (--source disk, as root), or rename the file");
        }
        int slash = n.indexOf('/');
        String relative = slash < 0 ? "" : n.substring(slash + 1);
        if (relative.endsWith("/")) {
          relative = relative.substring(0, relative.length() - 1);
        }
        String name = ArchiveLayout.volumeEntry(volume.name(), relative);
        EntryInfo info = new EntryInfo(e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(),
            e.getLastModifiedTime().toInstant());
        if (e.isDirectory()) {
          archive.directory(name, info);
        } else if (e.isSymbolicLink()) {
          String problem = ArchiveNames.linkProblem(relative, e.getLinkName());
          if (problem != null) {
            // Restore would refuse it; one such link (which anything writing into the volume can
            // make) must not stop every backup, so it is left out, and said.
            warnings.accept("the symbolic link " + FileNames.printable(name) + " " + problem + "; it is not backed"
                + " up (restore would refuse it): make it relative and inside its volume to keep it");
          } else {
            archive.symlink(name, e.getLinkName(), info);
          }
        } else if (e.isLink()) {
          // Docker sends a second name of a file as a hard link to the first one it sent.
          String first = e.getLinkName();
          int s = first.indexOf('/');
          archive.hardlink(name, ArchiveLayout.volumeEntry(volume.name(), s < 0 ? "" : first.substring(s + 1)), info);
        } else if (e.isFile()) {
          archive.file(name, info, e.getSize(), fullReads, progress);
          files++;
          bytes += e.getSize();
        } else {
          warnings.accept(FileNames.printable(name) + " is a socket, FIFO or device; such entries are not backed up");
        }
      }
    }
    return new Copied(files, bytes, "docker");
  }

  /**
   * Fills each read of an entry's data as far as the entry goes. The engine's response arrives
   * in pieces of 16 to 32 KiB, and the archive writer hands every read to its hashing thread as
   * one buffer: a hand-off per 32 KiB instead of per MiB cost more than the copy itself.
   */
  private static final class FullReads extends FilterInputStream {
    FullReads(InputStream in) {
      super(in);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.readNBytes(b, off, len);
      return n == 0 && len > 0 ? -1 : n;
    }
  }
}
