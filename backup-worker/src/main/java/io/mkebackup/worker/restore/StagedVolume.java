package io.mkebackup.worker.restore;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.FileNames;
import io.mkebackup.worker.pipeline.AsyncOutputStream;
import io.mkebackup.worker.pipeline.DirectFileOutputStream;
import io.mkebackup.worker.pipeline.SpoolDirectory;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * One volume being restored. Its new contents are written into a private directory (root's,
 * mode 0700) on the volume's own file system, beside the volume's data (inside it only when the
 * volume is a file system of its own), where no container reaches them; {@link #swapIn()} then
 * renames the old contents out and the new ones in, and {@link #rollBack()} undoes that.
 *
 * <p>Writing never follows a link: the staging tree is built from entries that were checked to
 * lie beneath directories of the same archive, files are created with O_EXCL and no link
 * following, and symbolic links are only created by {@link #finishTree()}, after every file and
 * directory and after the whole archive was verified.
 */
final class StagedVolume {
  static final String PREFIX = ".mke-restore-";
  /** Files this large or larger are written with O_DIRECT where the file system suits. */
  static final long DIRECT_FROM = 4 << 20;
  /** The pieces handed to the writing thread: 4 in flight at most. */
  private static final int WRITE_CHUNK = 1 << 20;
  private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
  private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

  final String fullName;
  final Path mount;
  final boolean created;
  final boolean hadContents;
  private final boolean inside;
  private final Path staging;
  private final Path data;
  private final boolean keepSetid;
  /** O_DIRECT's alignment in the staging directory, 0 where files go through the page cache. */
  private final int alignment;
  private TarArchiveEntry rootEntry;
  private final List<Object[]> directories = new ArrayList<>();
  private final List<Object[]> symlinks = new ArrayList<>();
  private final List<Path> movedOut = new ArrayList<>();
  private final List<Path> movedIn = new ArrayList<>();
  private Map<String, Object> oldRoot;

  private StagedVolume(String fullName, Path mount, boolean created, boolean hadContents, boolean inside,
      Path staging, boolean keepSetid, int alignment) {
    this.fullName = fullName;
    this.mount = mount;
    this.created = created;
    this.hadContents = hadContents;
    this.inside = inside;
    this.staging = staging;
    this.data = staging.resolve("data");
    this.keepSetid = keepSetid;
    this.alignment = alignment;
  }

  /** Whether the volume's data directory holds anything. */
  static boolean hasContents(Path mount) throws IOException {
    try (DirectoryStream<Path> s = Files.newDirectoryStream(mount)) {
      return s.iterator().hasNext();
    }
  }

  /** Creates the staging directory of a volume whose data directory is {@code mount}. */
  static StagedVolume open(String fullName, Path mount, boolean created, boolean hadContents, boolean keepSetid)
      throws IOException {
    if (!Files.isDirectory(mount, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException("the mountpoint " + mount + " of volume " + fullName + " is not a directory");
    }
    // Beside the data directory (docker's own directory of the volume) when that is on the same
    // file system, so the swap is a rename and containers never see the staging directory.
    Path parent = mount.getParent();
    boolean inside = parent == null || !Files.getAttribute(mount, "unix:dev", LinkOption.NOFOLLOW_LINKS)
        .equals(Files.getAttribute(parent, "unix:dev", LinkOption.NOFOLLOW_LINKS));
    Path base = inside ? mount : parent;
    if (!inside) {
      removeAbandoned(base);
    }
    FileTime baseTime = Files.getLastModifiedTime(base, LinkOption.NOFOLLOW_LINKS);
    Path staging = Files.createDirectory(base.resolve(PREFIX + ProcessHandle.current().pid() + "-"
        + UUID.randomUUID().toString().substring(0, 8)), PRIVATE_DIR);
    if (inside) {
      Files.setLastModifiedTime(mount, baseTime);
    }
    Path data = Files.createDirectory(staging.resolve("data"), PRIVATE_DIR);
    return new StagedVolume(fullName, mount, created, hadContents, inside, staging, keepSetid,
        DirectFileOutputStream.alignment(data));
  }

  /** Staging directories beside volumes that a restore which died left behind. */
  private static void removeAbandoned(Path base) throws IOException {
    try (DirectoryStream<Path> s = Files.newDirectoryStream(base, PREFIX + "*")) {
      for (Path p : s) {
        String rest = p.getFileName().toString().substring(PREFIX.length());
        int dash = rest.indexOf('-');
        try {
          long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
          if (ProcessHandle.of(pid).isEmpty()) {
            SpoolDirectory.deleteTree(p);
          }
        } catch (NumberFormatException notOurs) {
          // not a name this class makes
        }
      }
    }
  }

  Path staging() {
    return staging;
  }

  /** Where the restored volume's tree goes before the swap (etcdctl writes there too). */
  Path data() {
    return data;
  }

  private Path at(String path) {
    return data.resolve(FileNames.relative(path));
  }

  void directory(String path, TarArchiveEntry e) throws IOException {
    if (path.isEmpty()) {
      rootEntry = e;
      return;
    }
    Path p = at(path);
    Files.createDirectory(p, PRIVATE_DIR);
    directories.add(new Object[] {p, e});
  }

  /**
   * A new regular file; its owner, mode and time are set when the stream closes. A file of
   * {@link #DIRECT_FROM} bytes or more goes to the disk with O_DIRECT where the file system suits
   * (as a backup's archive does): the kernel's copy into the page cache was a quarter of a
   * restore's CPU time, and a restore then does not evict the cache the manager's services use.
   */
  OutputStream file(String path, TarArchiveEntry e) throws IOException {
    Path p = at(path);
    FileChannel plain = FileChannel.open(p, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS));
    final DirectFileOutputStream direct;
    final AsyncOutputStream async;
    try {
      direct = e.getSize() >= DIRECT_FROM ? DirectFileOutputStream.open(p, plain, alignment) : null;
    } catch (RuntimeException | Error failure) {
      plain.close();
      throw failure;
    }
    try {
      // The direct writes go on a thread of their own, so the disk's time overlaps the reading,
      // decrypting and hashing instead of adding to it.
      async = direct == null ? null : new AsyncOutputStream(direct, WRITE_CHUNK, 2, "mke-backup-restore-writer");
    } catch (RuntimeException | Error failure) {
      direct.close();
      plain.close();
      throw failure;
    }
    OutputStream out = async != null ? async : Channels.newOutputStream(plain);
    return new FilterOutputStream(out) {
      private boolean closed;

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        if (closed) {
          return;
        }
        closed = true;
        try (plain) {
          if (direct != null) {
            try (direct) {
              async.finish();
              direct.finish();
            }
          }
        }
        attributes(p, e, path, true);
      }
    };
  }

  void hardlink(String path, String target) throws IOException {
    Files.createLink(at(path), at(target));
  }

  /** Kept until {@link #finishTree()}: no link exists in the staging tree while files are written. */
  void symlink(String path, String target, TarArchiveEntry e) {
    symlinks.add(new Object[] {path, target, e});
  }

  /** The spool of the etcd snapshot (ucp-kv only): private, beside the tree. */
  OutputStream snapshot() throws IOException {
    return Files.newOutputStream(Files.createFile(snapshotFile(), PRIVATE_FILE), StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS);
  }

  /** Whether files of {@link #DIRECT_FROM} bytes or more go to the disk with O_DIRECT (for tests). */
  boolean writesDirectly() {
    return alignment > 0;
  }

  Path snapshotFile() {
    return staging.resolve("etcd.backup.db");
  }

  /** Creates the symbolic links, then gives directories their attributes (deepest first). */
  void finishTree() throws IOException {
    for (Object[] s : symlinks) {
      Path link = at((String) s[0]);
      Files.createSymbolicLink(link, FileNames.relative((String) s[1]));
      TarArchiveEntry e = (TarArchiveEntry) s[2];
      owner(link, e);
      Files.getFileAttributeView(link, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(FileTime.from(e.getLastModifiedTime().toInstant()), null, null);
    }
    for (int i = directories.size() - 1; i >= 0; i--) {
      Object[] d = directories.get(i);
      attributes((Path) d[0], (TarArchiveEntry) d[1], null, false);
    }
  }

  /** Renames the old contents out of the volume and the new ones in; {@link #rollBack()} undoes it. */
  void swapIn() throws IOException {
    Path old = Files.createDirectory(staging.resolve("old"), PRIVATE_DIR);
    for (Path c : children(mount)) {
      if (inside && c.getFileName().equals(staging.getFileName())) {
        continue;
      }
      Files.move(c, old.resolve(c.getFileName()), StandardCopyOption.ATOMIC_MOVE);
      movedOut.add(c.getFileName());
    }
    for (Path c : children(data)) {
      Files.move(c, mount.resolve(c.getFileName()), StandardCopyOption.ATOMIC_MOVE);
      movedIn.add(c.getFileName());
    }
    if (rootEntry != null) {
      oldRoot = Files.readAttributes(mount, "unix:mode,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
      attributes(mount, rootEntry, null, false);
    }
  }

  /** Puts back what {@link #swapIn()} moved, as far as it got. */
  void rollBack() throws IOException {
    if (oldRoot != null) {
      Files.setAttribute(mount, "unix:uid", oldRoot.get("uid"), LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(mount, "unix:gid", oldRoot.get("gid"), LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(mount, "unix:mode", (Integer) oldRoot.get("mode") & 07777);
    }
    for (int i = movedIn.size() - 1; i >= 0; i--) {
      Files.move(mount.resolve(movedIn.get(i)), data.resolve(movedIn.get(i)), StandardCopyOption.ATOMIC_MOVE);
    }
    for (int i = movedOut.size() - 1; i >= 0; i--) {
      Path old = staging.resolve("old");
      Files.move(old.resolve(movedOut.get(i)), mount.resolve(movedOut.get(i)), StandardCopyOption.ATOMIC_MOVE);
    }
    if (oldRoot != null) {
      Files.setLastModifiedTime(mount, (FileTime) oldRoot.get("lastModifiedTime"));
    }
    movedIn.clear();
    movedOut.clear();
    oldRoot = null;
  }

  /** Marks the swap final: the old contents in the staging directory may go. */
  void committed() {
    movedOut.clear();
    movedIn.clear();
  }

  /** Whether old contents that a failed roll-back could not put back are still in the staging directory. */
  boolean holdsOldContents() {
    return !movedOut.isEmpty();
  }

  /** Removes the staging directory (and, after a committed swap, the old contents in it). */
  void discard() throws IOException {
    if (holdsOldContents()) {
      throw new IOException("the old contents of volume " + fullName + " could not all be put back; they are kept in "
          + staging.resolve("old") + ": move them back into " + mount + " by hand");
    }
    // Inside the volume, removing it touches the volume's directory: keep the time it had.
    FileTime rootTime = inside ? Files.getLastModifiedTime(mount, LinkOption.NOFOLLOW_LINKS) : null;
    SpoolDirectory.deleteTree(staging);
    if (rootTime != null) {
      Files.setLastModifiedTime(mount, rootTime);
    }
  }

  private static List<Path> children(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      s.forEach(out::add);
    }
    return out;
  }

  /**
   * Owner, then mode (chown clears setuid bits), then time. A file with a setuid or setgid bit is
   * refused unless --keep-setid was given: an archive is not trusted to plant a program that runs
   * as its owner. (On a directory, setgid only passes its group on to new files, and is kept.)
   */
  private void attributes(Path p, TarArchiveEntry e, String path, boolean file) throws IOException {
    int mode = e.getMode() & 07777;
    if (file && (mode & 06000) != 0 && !keepSetid) {
      throw new BackupException(ErrorCode.RESTORE_FAILED, "--keep-setid", FileNames.printable(fullName + "/" + path)
          + " has the " + ((mode & 04000) != 0 ? "setuid" : "setgid") + " bit, and restore does not plant such a"
          + " program from an archive unless asked: check where the archive comes from, then give --keep-setid", null);
    }
    owner(p, e);
    Files.setAttribute(p, "unix:mode", mode);
    Files.setLastModifiedTime(p, FileTime.from(e.getLastModifiedTime().toInstant()));
  }

  private static void owner(Path p, TarArchiveEntry e) throws IOException {
    Files.setAttribute(p, "unix:uid", (int) e.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(p, "unix:gid", (int) e.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
  }
}
