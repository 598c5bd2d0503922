package io.mkebackup.worker.restore;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.ProductInfo;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.io.FileNames;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.worker.pipeline.ArchiveVerifier;
import io.mkebackup.worker.pipeline.VerifyReport;
import io.mkebackup.worker.pipeline.openpgp.PgpDecryption;
import io.mkebackup.worker.source.DockerEngine;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Restores a manager's MKE state from an archive, reading it once: each entry is checked as it
 * streams ({@link ArchiveVerifier}) and written into a private staging directory beside its
 * volume ({@link Staging}); only when the whole archive is proved (integrity packet, every
 * SHA-256, the metadata) and its version checked are the staged contents swapped into the
 * volumes (writing through their mountpoints, so it runs as root on the manager), ucp-kv from the
 * etcd snapshot with {@code etcdctl snapshot restore} (which checks the snapshot's hash). A
 * failure at any point leaves every existing volume as it was and removes the volumes it created.
 */
public final class RestoreProcedure {
  /** Label on the volumes a restore creates. */
  public static final String LABEL = "io.mkebackup.restored-from";

  /**
   * @param volumePrefix prefix of the volume names on the engine (as the backup's --volume-prefix)
   * @param force restore another major.minor version, and replace the contents of non-empty volumes
   * @param etcdName the etcd member name of the restored ucp-kv
   * @param etcdPeerUrl the peer URL the restored member advertises
   * @param keepSetid restore files with setuid and setgid bits (such an archive is refused otherwise)
   */
  public record Options(String dockerHost, String volumePrefix, boolean force, boolean dryRun, String etcdName,
      String etcdPeerUrl, boolean keepSetid) {}

  /** What a restore did (or, dry, would do). */
  public record Report(String productVersion, List<String> volumes, long files, long bytes, boolean etcd,
      List<String> warnings) {}

  private final Options options;
  private final Consumer<String> progress;

  public RestoreProcedure(Options options, Consumer<String> progress) {
    this.options = options;
    this.progress = progress;
  }

  /**
   * @param archive the archive, read once
   * @param archiveBytes its size when known (a file), else -1
   * @param label recorded on the volumes it creates (the archive's file name)
   * @param passphrase null for an archive that is not encrypted (--no-passphrase)
   */
  public Report run(InputStream archive, long archiveBytes, String label, Passphrase passphrase) throws IOException {
    List<String> warnings = new ArrayList<>();
    long[] consumed = {0};
    BufferedInputStream in = new BufferedInputStream(new FilterInputStream(archive) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        consumed[0] += Math.max(n, 0);
        return n;
      }
    }, 1 << 16);
    if (passphrase == null && !PgpDecryption.isOpenPgp(in)) {
      warn(warnings, "the archive is not encrypted, so nothing proves who wrote it (anyone who can write to its"
          + " directory could have made it); restoring it because --no-passphrase was given");
    }
    progress.accept("verify: reading the archive once; every entry is checked and staged beside its volume, and"
        + " nothing replaces a volume's contents before the whole archive is proved");
    try (DockerEngine docker = DockerEngine.connect(options.dockerHost())) {
      Staging staging = new Staging(docker, options, label, archiveBytes, () -> consumed[0], progress);
      try {
        VerifyReport verified = ArchiveVerifier.verify(in, passphrase, "--passphrase", staging);
        progress.accept("verify: ok, " + verified.entries() + " entries, " + verified.files() + " files, "
            + ProgressFormat.bytes(verified.bytes()) + (verified.encrypted() ? ", integrity packet checked" : ""));
        String theirs = checkVersion(verified.productVersion(), warnings);
        boolean etcd = verified.snapshotEntry() != null;
        List<String> targets = new ArrayList<>(new TreeSet<>(staging.states().keySet()));
        refuseVolumesInUse(docker, targets);
        List<String> replaced = new ArrayList<>();
        for (String v : targets) {
          String full = options.volumePrefix() + v;
          String state = staging.states().get(v);
          if (state.equals("exists, not empty")) {
            replaced.add(full);
          }
          progress.accept((options.dryRun() ? "would restore " : "plan: restore ") + "volume " + full + " ("
              + (state.equals("exists, not empty") ? "exists, not empty: contents replaced, --force" : state) + ")"
              + (v.equals(ArchiveLayout.ETCD_VOLUME) ? " from the etcd snapshot " + verified.snapshotEntry()
                  + " (etcdctl snapshot restore, member " + options.etcdName() + ")" : ""));
        }
        if (options.dryRun()) {
          progress.accept("dry run: nothing written");
          return new Report(theirs, targets, verified.files(), verified.bytes(), etcd, warnings);
        }
        if (!replaced.isEmpty()) {
          warn(warnings, "--force: replacing the contents of " + replaced + "; the old contents are removed once the"
              + " new ones are in place");
        }
        StagedVolume kv = staging.etcdVolume();
        staging.commit(() -> {
          if (kv != null) {
            Path dataDir = kv.data().resolve("datav3");
            progress.accept("etcd: etcdctl snapshot restore into " + kv.mount.resolve("datav3") + " (hash checked)");
            etcdRestore(kv.snapshotFile(), dataDir, kv.staging());
            Files.deleteIfExists(kv.snapshotFile());
            progress.accept("etcd: done");
          }
        });
        progress.accept("restored " + targets.size() + " volumes, " + verified.files() + " files, "
            + ProgressFormat.bytes(verified.bytes()));
        return new Report(theirs, targets, verified.files(), verified.bytes(), etcd, warnings);
      } catch (IOException | RuntimeException e) {
        List<String> created = staging.discard();
        String undone = created.isEmpty() ? "" : "; removed the volumes it had created (" + created + ")";
        if (e instanceof BackupException b) {
          throw new BackupException(b.code(), b.field(), "restore failed: " + b.getMessage() + undone, b);
        }
        throw new BackupException(ErrorCode.RESTORE_FAILED, null, "restore failed: " + e.getMessage() + undone, e);
      }
    }
  }

  /**
   * Never writes under a running database: a volume that a running (or paused) container mounts
   * is refused, whatever --force says, naming the containers to stop first.
   */
  private void refuseVolumesInUse(DockerEngine docker, List<String> targets) {
    List<String> inUse = new ArrayList<>();
    for (String v : targets) {
      String full = options.volumePrefix() + v;
      List<String> running = docker.mounters(full).stream().filter(m -> m.running() || m.paused())
          .map(m -> m.name()).toList();
      if (!running.isEmpty()) {
        inUse.add(full + " (mounted by " + String.join(", ", running) + ")");
      }
    }
    if (!inUse.isEmpty()) {
      throw new BackupException(ErrorCode.VOLUME_IN_USE, null, "running containers use the volumes this restore"
          + " would write: " + String.join("; ", inUse) + ". Stop MKE's containers on this manager first (docker stop),"
          + " as MKE's own restore requires; --force does not override this", null);
    }
  }

  private void warn(List<String> warnings, String w) {
    warnings.add(w);
    progress.accept("warning: " + w);
  }

  /** Refuses another major.minor version unless --force; returns the archive's version. */
  private String checkVersion(String theirs, List<String> warnings) {
    String ours = ProductInfo.version();
    if (!majorMinor(theirs).equals(majorMinor(ours))) {
      if (!options.force()) {
        throw new BackupException(ErrorCode.VERSION_MISMATCH, "--force", "the archive was made by " + ProductInfo.NAME
            + " " + theirs + " and this is " + ours + "; a backup restores only onto the same major.minor version"
            + " (" + majorMinor(ours) + ".x). Restore it with " + majorMinor(theirs) + ".x, or give --force to"
            + " restore anyway at your own risk", null);
      }
      warn(warnings, "--force: restoring a " + theirs + " backup onto " + ours + " (different major.minor)");
    }
    return theirs;
  }

  private void etcdRestore(Path snapshot, Path dataDir, Path spool) throws IOException {
    String peer = options.etcdPeerUrl();
    Path log = Files.createTempFile(spool, "etcdctl-", ".log");
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
}
