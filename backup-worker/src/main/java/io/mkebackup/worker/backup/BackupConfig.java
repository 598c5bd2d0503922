package io.mkebackup.worker.backup;

import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * How the backup procedure finds the MKE state of this manager. Built once (from CLI options or the
 * service configuration) and immutable.
 *
 * @param nodeName recorded as the backup's node
 * @param dockerHost e.g. unix:///var/run/docker.sock
 * @param volumePrefix prepended to every ucp-* name on the engine (empty for MKE itself; tests use
 *     one so they cannot collide); entries in the archive never carry it
 * @param excludedVolumes ucp-* volumes (without prefix) that are not backed up
 * @param sourceMode how volume data is read
 * @param etcd where ucp-kv's etcd answers, or null to leave ucp-kv out (with a warning)
 * @param helperImage the image the never-started helper container is created from
 * @param spoolDir the private directory (this user's, mode 0700, on local disk) that holds each run's
 *     spools (the etcd snapshot, the entry list); null for {@link
 *     io.mkebackup.worker.pipeline.SpoolDirectory#defaultRoot()}. Never the backup directory.
 * @param maxBytesPerSecond caps the rate volume and snapshot bytes are read at, so a backup does not
 *     starve the manager's own disk traffic; 0 for no cap
 * @param maxFreeze the longest a volume's writers may stay paused for its copy; past it they are
 *     unpaused and the backup fails (default {@link #DEFAULT_MAX_FREEZE})
 */
public record BackupConfig(
    String nodeName,
    String dockerHost,
    String volumePrefix,
    Set<String> excludedVolumes,
    SourceMode sourceMode,
    EtcdEndpoint etcd,
    String helperImage,
    Path spoolDir,
    long maxBytesPerSecond,
    Duration maxFreeze) {

  public static final Set<String> DEFAULT_EXCLUDED = Set.of("ucp-metrics-data", "ucp-node-certs", ArchiveLayout.SNAPSHOT_VOLUME);
  public static final String DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";
  public static final String DEFAULT_HELPER_IMAGE = "mke-backup-helper:1";
  /**
   * Find ucp-kv as MKE's own backup container would: its container, address and client
   * certificates (ucp-kv-certs) through the Docker API, when the backup runs.
   */
  public static final String DEFAULT_ETCD = EtcdEndpoint.AUTO;

  public static final Duration DEFAULT_MAX_FREEZE = Duration.ofSeconds(30);

  public BackupConfig(String nodeName, String dockerHost, String volumePrefix, Set<String> excludedVolumes,
      SourceMode sourceMode, EtcdEndpoint etcd, String helperImage, Path spoolDir, long maxBytesPerSecond) {
    this(nodeName, dockerHost, volumePrefix, excludedVolumes, sourceMode, etcd, helperImage, spoolDir,
        maxBytesPerSecond, DEFAULT_MAX_FREEZE);
  }

  public BackupConfig {
    Objects.requireNonNull(nodeName);
    Objects.requireNonNull(dockerHost);
    volumePrefix = volumePrefix == null ? "" : volumePrefix;
    excludedVolumes = Set.copyOf(excludedVolumes);
    Objects.requireNonNull(sourceMode);
    Objects.requireNonNull(helperImage);
    if (maxBytesPerSecond < 0) {
      throw new IllegalArgumentException("maxBytesPerSecond < 0");
    }
    maxFreeze = maxFreeze == null ? DEFAULT_MAX_FREEZE : maxFreeze;
    if (maxFreeze.isNegative() || maxFreeze.isZero()) {
      throw new IllegalArgumentException("maxFreeze <= 0");
    }
  }

  /**
   * MiB/s to bytes/s; 0 means no cap. The CLI's --max-rate and the manager's maxRateMib both
   * come through here.
   */
  public static long rate(double mib, String field) {
    if (mib < 0 || Double.isNaN(mib)) {
      throw io.mkebackup.common.BackupException.invalid(field, field + " must be 0 (no cap) or a positive number of MiB/s");
    }
    return (long) (mib * 1024 * 1024);
  }

  public static BackupConfig defaults(String nodeName) {
    return new BackupConfig(nodeName, DEFAULT_DOCKER_HOST, "", DEFAULT_EXCLUDED, SourceMode.AUTO,
        EtcdEndpoint.auto(), DEFAULT_HELPER_IMAGE, null, 0);
  }

  public BackupConfig withVolumePrefix(String prefix) {
    return new BackupConfig(nodeName, dockerHost, prefix, excludedVolumes, sourceMode, etcd, helperImage, spoolDir, maxBytesPerSecond, maxFreeze);
  }

  public BackupConfig withSourceMode(SourceMode mode) {
    return new BackupConfig(nodeName, dockerHost, volumePrefix, excludedVolumes, mode, etcd, helperImage, spoolDir, maxBytesPerSecond, maxFreeze);
  }

  public BackupConfig withEtcd(EtcdEndpoint endpoint) {
    return new BackupConfig(nodeName, dockerHost, volumePrefix, excludedVolumes, sourceMode, endpoint, helperImage, spoolDir, maxBytesPerSecond, maxFreeze);
  }

  public BackupConfig withMaxFreeze(Duration max) {
    return new BackupConfig(nodeName, dockerHost, volumePrefix, excludedVolumes, sourceMode, etcd, helperImage, spoolDir, maxBytesPerSecond, max);
  }

  /** Seconds to the longest freeze, refusing what is not a positive number (the CLI's and the manager's field). */
  public static Duration maxFreeze(double seconds, String field) {
    if (!(seconds > 0) || seconds > 3600) {
      throw io.mkebackup.common.BackupException.invalid(field, field + " must be a number of seconds above 0 and at"
          + " most 3600");
    }
    return Duration.ofMillis((long) (seconds * 1000));
  }

  /** The same, with etcd's calls given at most {@code most} (readiness checks, which have less time). */
  public BackupConfig withEtcdTimeoutAtMost(java.time.Duration most) {
    if (etcd == null || etcd.timeout() == null || etcd.timeout().compareTo(most) <= 0) {
      return this;
    }
    return new BackupConfig(nodeName, dockerHost, volumePrefix, excludedVolumes, sourceMode, etcd.withTimeout(most),
        helperImage, spoolDir, maxBytesPerSecond, maxFreeze);
  }

  public BackupConfig withDockerHost(String host) {
    return new BackupConfig(nodeName, host, volumePrefix, excludedVolumes, sourceMode, etcd, helperImage, spoolDir, maxBytesPerSecond, maxFreeze);
  }

  /** How volume bytes are read. */
  public enum SourceMode {
    /** Straight from the volume's mountpoint when this process can read it, else the Docker archive API. */
    AUTO,
    /** Always through the Docker archive API of a created, never-started helper container. */
    DOCKER,
    /** Always from the mountpoint; fails when it cannot be read. */
    DISK
  }
}
