package io.mkebackup.worker.source;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveNames;
import io.mkebackup.common.io.FileNames;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import io.mkebackup.worker.pipeline.EntryInfo;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads volumes through the Docker archive API ({@code docker cp}) of a created, never-started
 * helper container that mounts them, re-emitting each entry under {@code ./<volume>/}. Works for a
 * process that may use the Docker socket but not read {@code /var/lib/docker}.
 *
 * <p>The volumes the helper mounts under {@link DockerEngine#MOUNT_ROOT} come in one response,
 * the archive of that directory (in name order, as the backup asks for them): every request costs
 * dockerd about 0.17 s of set-up (it mounts the container's file system), whatever the volume's
 * size, and most MKE volumes hold a few certificates. A volume mounted elsewhere (the auth store,
 * which the backup copies after etcd) has a request of its own.
 */
public final class DockerArchiveVolumeSource implements VolumeSource, AutoCloseable {
  private static final String ROOT = DockerEngine.MOUNT_ROOT.substring(1, DockerEngine.MOUNT_ROOT.length() - 1);

  private final ContainerEngine docker;
  private final String helperId;
  private final List<DockerEngine.VolumeInfo> together;
  private final String helperImage;
  private final Map<String, String> helperLabels;
  private final Consumer<String> warnings;
  private int next;
  private TarArchiveInputStream shared;
  private TarArchiveEntry pending;

  /**
   * @param together the volumes the helper mounts under {@link DockerEngine#MOUNT_ROOT}, in the
   *     order the backup asks for them (sorted by name, as dockerd sends them); any other volume
   *     is mounted at {@link DockerEngine#APART_ROOT}
   * @param helperImage and {@code helperLabels}: for a second helper, should a file have to be read
   *     on its own while the first one's response is open (dockerd locks a container until its
   *     archive has been read)
   */
  public DockerArchiveVolumeSource(ContainerEngine docker, String helperId, List<DockerEngine.VolumeInfo> together,
      String helperImage, Map<String, String> helperLabels, Consumer<String> warnings) {
    this.docker = docker;
    this.helperId = helperId;
    this.together = List.copyOf(together);
    this.helperImage = helperImage;
    this.helperLabels = Map.copyOf(helperLabels);
    this.warnings = warnings;
  }

  @Override
  public Copied copy(DockerEngine.VolumeInfo volume, ArchiveWriter archive, ByteCounter progress) throws IOException {
    int at = indexOf(volume);
    if (at >= 0) {
      // Volumes of the response not asked for (read from disk after all) are passed over.
      List<String> passed = together.subList(next, at).stream().map(v -> ROOT + "/" + v.fullName()).toList();
      next = at + 1;
      try {
        return copyTogether(volume, passed, archive, progress);
      } catch (IOException | RuntimeException | Error e) {
        closeShared();
        throw e;
      }
    }
    try (InputStream in = docker.archive(helperId, mountedAt(volume) + volume.fullName());
        TarArchiveInputStream tar = new TarArchiveInputStream(in, FileNames.CHARSET_NAME)) {
      // Entries arrive as <full volume name>/<path>.
      String prefix = volume.fullName();
      Counts counts = new Counts();
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        entry(volume, prefix, e, tar, archive, progress, counts);
      }
      return new Copied(counts.files, counts.bytes, "docker");
    }
  }

  /** Where the helper mounts {@code volume}. */
  private String mountedAt(DockerEngine.VolumeInfo volume) {
    return together.stream().anyMatch(v -> v.fullName().equals(volume.fullName()))
        ? DockerEngine.MOUNT_ROOT : DockerEngine.APART_ROOT;
  }

  /** Ends the shared response, whatever is left of it (a backup that failed between volumes). */
  @Override
  public void close() {
    closeShared();
  }

  /** Where {@code volume} is in the shared response from the next volume on, or -1. */
  private int indexOf(DockerEngine.VolumeInfo volume) {
    for (int i = next; i < together.size(); i++) {
      if (together.get(i).fullName().equals(volume.fullName())) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The next volume asked for from the shared response: its entries, up to the first of the
   * volume after it; entries under {@code passed} (volumes before it not asked for) are skipped.
   */
  private Copied copyTogether(DockerEngine.VolumeInfo volume, List<String> passed, ArchiveWriter archive,
      ByteCounter progress) throws IOException {
    if (shared == null) {
      shared = new TarArchiveInputStream(docker.archive(helperId, "/" + ROOT), FileNames.CHARSET_NAME);
    }
    // Entries arrive as vol/<full volume name>/<path>, after vol/ itself.
    String prefix = ROOT + "/" + volume.fullName();
    Counts counts = new Counts();
    boolean seen = false;
    for (TarArchiveEntry e = nextShared(); e != null; e = nextShared()) {
      String n = e.getName();
      if (n.equals(ROOT + "/") || n.equals(ROOT)) {
        continue;
      }
      if (!under(prefix, n)) {
        if (!seen && passed.stream().anyMatch(p -> under(p, n))) {
          continue;
        }
        if (!seen) {
          throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "volume " + volume.name() + ": the Docker engine"
              + " sent " + FileNames.printable(n) + " where this volume's first entry was due; back it up from disk"
              + " (--source disk, as root) if this repeats");
        }
        pending = e;
        break;
      }
      seen = true;
      entry(volume, prefix, e, shared, archive, progress, counts);
    }
    if (!seen) {
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "volume " + volume.name() + ": the Docker engine's"
          + " archive ended before this volume; back it up from disk (--source disk, as root) if this repeats");
    }
    if (next == together.size()) {
      if (pending != null) {
        throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "volume " + volume.name() + ": the Docker engine"
            + " sent " + FileNames.printable(pending.getName()) + " after the last volume asked for; back the"
            + " volumes up from disk (--source disk, as root) if this repeats");
      }
      closeShared();
    }
    return new Copied(counts.files, counts.bytes, "docker");
  }

  private TarArchiveEntry nextShared() throws IOException {
    TarArchiveEntry e = pending;
    pending = null;
    return e != null ? e : shared.getNextEntry();
  }

  private void closeShared() {
    pending = null;
    try {
      if (shared != null) {
        shared.close();
      }
    } catch (IOException ignored) {
      // the response is abandoned either way
    }
    shared = null;
  }

  private static final class Counts {
    long files;
    long bytes;
  }

  /** One entry named {@code <prefix>/<path>} of {@code volume}, into the archive. */
  private void entry(DockerEngine.VolumeInfo volume, String prefix, TarArchiveEntry e, InputStream data,
      ArchiveWriter archive, ByteCounter progress, Counts counts) throws IOException {
    String n = e.getName();
    if (n.indexOf('\uFFFD') >= 0 || e.isSymbolicLink() && e.getLinkName().indexOf('\uFFFD') >= 0) {
      // Docker puts a name that is not UTF-8 in a PAX record, which Commons Compress reads
      // as UTF-8, replacing what it cannot decode: the name would not be kept byte for byte.
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "volume " + volume.name() + ": the name of "
          + FileNames.printable(n.startsWith(ROOT + "/") ? n.substring(ROOT.length() + 1) : n)
          + " is not UTF-8 and the Docker archive API cannot pass it on byte for"
          + " byte; back this volume up from disk (--source disk, as root), or rename the file");
    }
    String relative = relative(volume, prefix, n);
    String name = ArchiveLayout.volumeEntry(volume.name(), relative);
    EntryInfo info = info(e);
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
    } else if (e.isLink() && !inside(prefix, e.getLinkName())) {
      // Docker sends a second name of a file as a hard link to the first one it sent, which it
      // knows by inode number alone: in one response over volumes on different file systems
      // (tmpfs, NFS) two unrelated files can share one. Such a file is read by its own name.
      copyOnItsOwn(volume, relative, name, archive, progress, counts);
    } else if (e.isLink()) {
      archive.hardlink(name, ArchiveLayout.volumeEntry(volume.name(), relative(volume, prefix, e.getLinkName())), info);
    } else if (e.isFile()) {
      archive.file(name, info, e.getSize(), new FullReads(data), progress);
      counts.files++;
      counts.bytes += e.getSize();
    } else {
      warnings.accept(FileNames.printable(name) + " is a socket, FIFO or device; such entries are not backed up");
    }
  }

  private static EntryInfo info(TarArchiveEntry e) {
    return new EntryInfo(e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(),
        e.getLastModifiedTime().toInstant());
  }

  /** Whether {@code n} names {@code prefix} itself or something under it. */
  private static boolean under(String prefix, String n) {
    return n.equals(prefix) || n.startsWith(prefix + "/");
  }

  /** Whether {@code n} names something under {@code prefix}, not {@code prefix} itself. */
  private static boolean inside(String prefix, String n) {
    return n.startsWith(prefix + "/") && n.length() > prefix.length() + 1;
  }

  /**
   * A file of {@code volume} at {@code relative}, through a request of its own to a helper of its
   * own: dockerd holds the first helper until its response has been read whole.
   */
  private void copyOnItsOwn(DockerEngine.VolumeInfo volume, String relative, String name, ArchiveWriter archive,
      ByteCounter progress, Counts counts) throws IOException {
    String helper = docker.createHelper(helperImage, volume.fullName().substring(0,
        volume.fullName().length() - volume.name().length()) + "mke-backup-helper-file-" + UUID.randomUUID(),
        List.of(volume.fullName()), helperLabels);
    try (InputStream in = docker.archive(helper, DockerEngine.MOUNT_ROOT + volume.fullName() + "/" + relative);
        TarArchiveInputStream tar = new TarArchiveInputStream(in, FileNames.CHARSET_NAME)) {
      TarArchiveEntry e = tar.getNextEntry();
      if (e == null || !e.isFile()) {
        throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "volume " + volume.name() + ": "
            + FileNames.printable(name) + " changed while it was read; run the backup again");
      }
      archive.file(name, info(e), e.getSize(), new FullReads(tar), progress);
      counts.files++;
      counts.bytes += e.getSize();
    } finally {
      try {
        docker.removeContainer(helper);
      } catch (RuntimeException ignored) {
        // a leftover helper is labelled and harmless (never started)
      }
    }
  }

  /** The path inside the volume of an entry or hard-link target named {@code <prefix>/<path>}. */
  private static String relative(DockerEngine.VolumeInfo volume, String prefix, String n) {
    if (!under(prefix, n)) {
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "volume " + volume.name() + ": the Docker engine sent "
          + FileNames.printable(n) + ", which is not inside the volume; back it up from disk (--source disk, as"
          + " root) if this repeats");
    }
    String relative = inside(prefix, n) ? n.substring(prefix.length() + 1) : "";
    return relative.endsWith("/") ? relative.substring(0, relative.length() - 1) : relative;
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
