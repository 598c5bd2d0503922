package io.mkebackup.worker.restore;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.ProductInfo;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveVerifier;
import io.mkebackup.common.archive.VerifyReport;
import io.mkebackup.common.crypto.PgpDecryption;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.worker.source.DockerEngine;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Restores a manager's MKE state from an archive: verifies it whole first, checks its version,
 * recreates every backed-up volume with the same bytes, modes, owners, mtimes and links (writing
 * through the volumes' mountpoints, so it runs as root on the manager), and restores ucp-kv from
 * the etcd snapshot into a fresh data directory with {@code etcdctl snapshot restore} (which checks
 * the snapshot's hash). On failure it removes the volumes it created.
 */
public final class RestoreEngine {
  /** Label on the volumes a restore creates. */
  public static final String LABEL = "io.mkebackup.restored-from";

  /**
   * @param volumePrefix prefix of the volume names on the engine (as the backup's engine option)
   * @param etcdName the etcd member name of the restored ucp-kv
   * @param etcdPeerUrl the peer URL the restored member advertises
   * @param spoolDir where the etcd snapshot is spooled
   */
  public record Options(String dockerHost, String volumePrefix, boolean force, boolean dryRun, String etcdName,
      String etcdPeerUrl, Path spoolDir) {}

  /** What a restore did (or, dry, would do). */
  public record Report(String productVersion, List<String> volumes, long files, long bytes, boolean etcd,
      List<String> warnings) {}

  private final Options options;
  private final Consumer<String> progress;

  public RestoreEngine(Options options, Consumer<String> progress) {
    this.options = options;
    this.progress = progress;
  }

  public Report run(Path archive, Passphrase passphrase) throws IOException {
    List<String> warnings = new ArrayList<>();
    progress.accept("verify: reading the whole archive before touching anything");
    VerifyReport verified;
    try (InputStream in = Files.newInputStream(archive)) {
      verified = ArchiveVerifier.verify(in, passphrase, "--passphrase");
    }
    progress.accept("verify: ok, " + verified.entries() + " entries, " + verified.files() + " files, "
        + ProgressFormat.bytes(verified.bytes()) + (verified.encrypted() ? ", integrity packet checked" : ""));

    String theirs = verified.productVersion();
    String ours = ProductInfo.version();
    if (!majorMinor(theirs).equals(majorMinor(ours))) {
      if (!options.force()) {
        throw new BackupException(ErrorCode.VERSION_MISMATCH, "--force", "the archive was made by " + ProductInfo.NAME
            + " " + theirs + " and this is " + ours + "; a backup restores only onto the same major.minor version"
            + " (" + majorMinor(ours) + ".x). Restore it with " + majorMinor(theirs) + ".x, or give --force to"
            + " restore anyway at your own risk", null);
      }
      String w = "--force: restoring a " + theirs + " backup onto " + ours + " (different major.minor)";
      warnings.add(w);
      progress.accept("warning: " + w);
    }

    List<String> volumes = new ArrayList<>(new TreeSet<>(verified.volumes()));
    volumes.remove(ArchiveLayout.SNAPSHOT_VOLUME);
    boolean etcd = verified.snapshotEntry() != null;
    List<String> targets = new ArrayList<>(volumes);
    if (etcd) {
      targets.add(ArchiveLayout.ETCD_VOLUME);
    }

    try (DockerEngine docker = DockerEngine.connect(options.dockerHost())) {
      Map<String, Path> existing = new LinkedHashMap<>();
      List<String> nonEmpty = new ArrayList<>();
      for (String v : targets) {
        docker.volumeMountpoint(options.volumePrefix() + v).ifPresent(mount -> {
          existing.put(v, mount);
          if (!isEmpty(mount)) {
            nonEmpty.add(options.volumePrefix() + v);
          }
        });
      }
      if (!nonEmpty.isEmpty() && !options.force()) {
        throw new BackupException(ErrorCode.TARGET_NOT_EMPTY, "--force", "volumes " + nonEmpty + " exist and are not"
            + " empty; restore writes only into missing or empty volumes. Remove them (docker volume rm) or give"
            + " --force to replace their contents", null);
      }
      for (String v : targets) {
        String full = options.volumePrefix() + v;
        progress.accept((options.dryRun() ? "would restore " : "plan: restore ") + "volume " + full
            + (existing.containsKey(v) ? (nonEmpty.contains(full) ? " (exists, not empty: contents replaced, --force)"
                : " (exists, empty)") : " (create)")
            + (v.equals(ArchiveLayout.ETCD_VOLUME) ? " from the etcd snapshot " + verified.snapshotEntry()
                + " (etcdctl snapshot restore, member " + options.etcdName() + ")" : ""));
      }
      if (options.dryRun()) {
        progress.accept("dry run: nothing written");
        return new Report(theirs, targets, verified.files(), verified.bytes(), etcd, warnings);
      }
      if (!nonEmpty.isEmpty()) {
        String w = "--force: replacing the contents of " + nonEmpty + "; their old contents cannot be brought back";
        warnings.add(w);
        progress.accept("warning: " + w);
      }
      return write(archive, passphrase, docker, targets, existing, theirs, etcd, warnings);
    }
  }

  private Report write(Path archive, Passphrase passphrase, DockerEngine docker, List<String> targets,
      Map<String, Path> existing, String version, boolean etcd, List<String> warnings) throws IOException {
    List<String> created = new ArrayList<>();
    Path snapshot = null;
    try {
      Map<String, Path> mounts = new LinkedHashMap<>();
      for (String v : targets) {
        String full = options.volumePrefix() + v;
        Path mount = existing.get(v);
        if (mount == null) {
          mount = docker.createVolume(full, Map.of(LABEL, archive.getFileName().toString()));
          created.add(full);
        } else {
          clear(mount);
        }
        mounts.put(v, mount);
      }
      snapshot = Files.createTempFile(options.spoolDir(), ".mke-restore-etcd-", ".part");
      Extracted x = extract(archive, passphrase, mounts, snapshot);
      if (etcd) {
        Path mount = mounts.get(ArchiveLayout.ETCD_VOLUME);
        progress.accept("etcd: etcdctl snapshot restore into " + mount.resolve("datav3") + " (hash checked)");
        etcdRestore(snapshot, mount.resolve("datav3"));
        progress.accept("etcd: done");
      }
      progress.accept("restored " + targets.size() + " volumes, " + x.files + " files, " + ProgressFormat.bytes(x.bytes));
      return new Report(version, targets, x.files, x.bytes, etcd, warnings);
    } catch (IOException | RuntimeException e) {
      for (String v : created) {
        docker.removeVolume(v);
      }
      String undone = created.isEmpty() ? "" : "; removed the volumes it had created (" + created + ")";
      if (e instanceof BackupException b) {
        throw new BackupException(b.code(), b.field(), "restore failed: " + b.getMessage() + undone, b);
      }
      throw new BackupException(ErrorCode.RESTORE_FAILED, null, "restore failed: " + e.getMessage() + undone, e);
    } finally {
      if (snapshot != null) {
        Files.deleteIfExists(snapshot);
      }
    }
  }

  private record Extracted(long files, long bytes) {}

  /** Second pass: writes every volume entry under its mountpoint and spools the snapshot. */
  private Extracted extract(Path archive, Passphrase passphrase, Map<String, Path> mounts, Path snapshot)
      throws IOException {
    long files = 0;
    long bytes = 0;
    byte[] buffer = new byte[1 << 20];
    List<Object[]> directories = new ArrayList<>();
    String current = null;
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
        InputStream plain = PgpDecryption.open(raw, passphrase, "--passphrase");
        TarArchiveInputStream tar = new TarArchiveInputStream(plain, 10240, 512, "UTF-8", false)) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        String name = e.getName();
        if (ArchiveLayout.isSnapshotEntry(name)) {
          try (OutputStream out = Files.newOutputStream(snapshot, StandardOpenOption.TRUNCATE_EXISTING)) {
            tar.transferTo(out);
          }
          continue;
        }
        int slash = name.indexOf('/', 2);
        if (!name.startsWith("./") || slash < 0) {
          continue; // container configurations and the metadata entry
        }
        String volume = name.substring(2, slash);
        Path mount = mounts.get(volume);
        if (mount == null) {
          continue;
        }
        if (!volume.equals(current)) {
          current = volume;
          progress.accept("volume " + options.volumePrefix() + volume + ": writing");
        }
        String rel = name.substring(slash + 1);
        Path target = rel.isEmpty() ? mount : inside(mount, rel);
        if (e.isDirectory()) {
          Files.createDirectories(target);
          directories.add(new Object[] {target, e});
        } else if (e.isSymbolicLink()) {
          Files.createDirectories(target.getParent());
          Files.createSymbolicLink(target, Path.of(e.getLinkName()));
          owner(target, e);
          Files.getFileAttributeView(target, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
              .setTimes(FileTime.from(e.getLastModifiedTime().toInstant()), null, null);
        } else if (e.isLink()) {
          String link = e.getLinkName();
          String linkRel = link.startsWith("./" + volume + "/") ? link.substring(volume.length() + 3) : null;
          if (linkRel == null) {
            throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "hard link " + name + " points outside its volume: " + link);
          }
          Files.createDirectories(target.getParent());
          Files.createLink(target, inside(mount, linkRel));
        } else if (e.isFile()) {
          Files.createDirectories(target.getParent());
          try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int n = tar.read(buffer); n >= 0; n = tar.read(buffer)) {
              out.write(buffer, 0, n);
              bytes += n;
            }
          }
          attributes(target, e);
          files++;
        }
      }
    }
    // Directories last, deepest first, so that writing their children does not move their mtimes.
    for (int i = directories.size() - 1; i >= 0; i--) {
      attributes((Path) directories.get(i)[0], (TarArchiveEntry) directories.get(i)[1]);
    }
    return new Extracted(files, bytes);
  }

  /** The path of an entry below a mountpoint; an entry that would escape it is refused. */
  static Path inside(Path mount, String rel) {
    Path p = mount.resolve(rel).normalize();
    if (!p.startsWith(mount)) {
      throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "entry " + rel + " would be written outside its volume");
    }
    return p;
  }

  private static void attributes(Path p, TarArchiveEntry e) throws IOException {
    owner(p, e);
    Files.setAttribute(p, "unix:mode", e.getMode() & 07777);
    Files.setLastModifiedTime(p, FileTime.from(e.getLastModifiedTime().toInstant()));
  }

  private static void owner(Path p, TarArchiveEntry e) throws IOException {
    Files.setAttribute(p, "unix:uid", (int) e.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(p, "unix:gid", (int) e.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
  }

  private void etcdRestore(Path snapshot, Path dataDir) throws IOException {
    String peer = options.etcdPeerUrl();
    Path log = Files.createTempFile(options.spoolDir(), ".mke-restore-etcdctl-", ".log");
    try {
      ProcessBuilder pb = new ProcessBuilder("etcdctl", "snapshot", "restore", snapshot.toString(),
          "--data-dir", dataDir.toString(), "--name", options.etcdName(),
          "--initial-cluster", options.etcdName() + "=" + peer, "--initial-advertise-peer-urls", peer,
          "--initial-cluster-token", options.etcdName())
          .redirectErrorStream(true).redirectOutput(log.toFile());
      pb.environment().put("ETCDCTL_API", "3");
      Process p;
      try {
        p = pb.start();
      } catch (IOException e) {
        throw new BackupException(ErrorCode.RESTORE_FAILED, "cannot run etcdctl (" + e.getMessage()
            + "); install etcd-client", e);
      }
      if (!p.waitFor(5, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new BackupException(ErrorCode.RESTORE_FAILED, "etcdctl snapshot restore did not finish in 5 minutes");
      }
      if (p.exitValue() != 0) {
        String out = Files.readString(log).strip();
        throw new BackupException(ErrorCode.RESTORE_FAILED, "etcdctl snapshot restore failed: "
            + out.substring(Math.max(0, out.length() - 400)).replace('\n', ' '));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackupException(ErrorCode.RESTORE_FAILED, "interrupted during etcdctl snapshot restore", e);
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** "3.7.0-SNAPSHOT" -> "3.7". */
  static String majorMinor(String version) {
    String[] parts = version.split("[.-]");
    return parts.length >= 2 ? parts[0] + "." + parts[1] : version;
  }

  private static boolean isEmpty(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  /** Empties a volume's mountpoint (only with --force). */
  private static void clear(Path mount) throws IOException {
    Files.walkFileTree(mount, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        if (!dir.equals(mount)) {
          Files.delete(dir);
        }
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
