package io.mkebackup.deploy.cli;

import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * Where a backup finds this manager's state and how it may read it (the options that make its
 * {@link BackupConfig}); each option also reads an MKE_BACKUP_* variable.
 */
public final class BackupConfigOptions {
  @Option(names = "--docker-host", paramLabel = "URL",
      defaultValue = "${env:MKE_BACKUP_DOCKER_HOST:-unix:///var/run/docker.sock}",
      description = "Docker engine (default: ${DEFAULT-VALUE}; env MKE_BACKUP_DOCKER_HOST)")
  String dockerHost;

  @Option(names = "--etcd-endpoint", paramLabel = "URL",
      defaultValue = "${env:MKE_BACKUP_ETCD_ENDPOINT:-auto}",
      description = "the one ucp-kv etcd member to snapshot (a URL), 'auto' to find the ucp-kv container, its address"
          + " and its client certificates (ucp-kv-certs) through the Docker API as MKE does, or 'none' to leave"
          + " ucp-kv out (default: ${DEFAULT-VALUE}; env MKE_BACKUP_ETCD_ENDPOINT)")
  String etcdEndpoint;

  @Option(names = "--etcd-timeout", paramLabel = "SECONDS",
      defaultValue = "${env:MKE_BACKUP_ETCD_TIMEOUT_SECONDS:-30}",
      description = "how long one etcd call may take, 1 to 600 (default: ${DEFAULT-VALUE}; env"
          + " MKE_BACKUP_ETCD_TIMEOUT_SECONDS)")
  long etcdTimeoutSeconds;

  @Option(names = "--etcd-cacert", paramLabel = "PEM", defaultValue = "${env:MKE_BACKUP_ETCD_CACERT}",
      description = "CA bundle that signed etcd's server certificate (https endpoints)")
  Path etcdCa;

  @Option(names = "--etcd-cert", paramLabel = "PEM", defaultValue = "${env:MKE_BACKUP_ETCD_CERT}",
      description = "client certificate for etcd's mutual TLS")
  Path etcdCert;

  @Option(names = "--etcd-key", paramLabel = "PEM", defaultValue = "${env:MKE_BACKUP_ETCD_KEY}",
      description = "client key for etcd's mutual TLS")
  Path etcdKey;

  @Option(names = "--volume-prefix", paramLabel = "PREFIX", defaultValue = "${env:MKE_BACKUP_VOLUME_PREFIX:-}",
      description = "prefix of the ucp-* volume and container names on the engine (default none)")
  String volumePrefix;

  @Option(names = "--exclude-volume", paramLabel = "NAME", split = ",",
      description = "ucp-* volumes to leave out (default: ucp-metrics-data,ucp-node-certs,ucp-backup)")
  List<String> excluded;

  @Option(names = "--source", paramLabel = "MODE", defaultValue = "${env:MKE_BACKUP_SOURCE:-auto}",
      description = "how volumes are read: auto (from disk when readable, else Docker), docker, disk")
  String source;

  @Option(names = "--node", paramLabel = "NAME", defaultValue = "${env:MKE_BACKUP_NODE}",
      description = "node name recorded in the backup (default: the host name)")
  String node;

  @Option(names = "--max-rate", paramLabel = "MiB/s", defaultValue = "${env:MKE_BACKUP_MAX_RATE_MIB:-0}",
      description = "read at most this many MiB per second, so the backup does not starve the manager's disk"
          + " (default 0: no cap; env MKE_BACKUP_MAX_RATE_MIB)")
  double maxRateMib;

  @Option(names = "--max-freeze", paramLabel = "SECONDS", defaultValue = "${env:MKE_BACKUP_MAX_FREEZE_SECONDS:-30}",
      description = "the longest a volume's writers (the auth store) may stay paused for its copy; past it they are"
          + " unpaused and the backup fails (default 30; env MKE_BACKUP_MAX_FREEZE_SECONDS)")
  double maxFreezeSeconds;

  BackupConfig toConfig() {
    String nodeName = node;
    if (nodeName == null || nodeName.isBlank()) {
      try {
        nodeName = InetAddress.getLocalHost().getHostName();
      } catch (UnknownHostException e) {
        nodeName = "localhost";
      }
    }
    SourceMode mode = switch (source.toLowerCase(java.util.Locale.ROOT)) {
      case "auto" -> SourceMode.AUTO;
      case "docker" -> SourceMode.DOCKER;
      case "disk" -> SourceMode.DISK;
      default -> throw io.mkebackup.common.BackupException.invalid("--source",
          "--source must be auto, docker or disk, not '" + source + "'");
    };
    EtcdEndpoint etcd = null;
    if (!"none".equalsIgnoreCase(etcdEndpoint)) {
      if ((etcdCert == null) != (etcdKey == null)) {
        throw io.mkebackup.common.BackupException.invalid("--etcd-cert",
            "--etcd-cert and --etcd-key go together");
      }
      if (EtcdEndpoint.AUTO.equalsIgnoreCase(etcdEndpoint) && (etcdCa != null || etcdCert != null)) {
        throw io.mkebackup.common.BackupException.invalid("--etcd-cert", "--etcd-cacert, --etcd-cert and --etcd-key"
            + " go with an --etcd-endpoint URL; with --etcd-endpoint auto they come from the ucp-kv-certs volume");
      }
      etcd = new EtcdEndpoint(etcdEndpoint, etcdCa, etcdCert, etcdKey,
          EtcdEndpoint.timeout(etcdTimeoutSeconds, "--etcd-timeout", "--etcd-timeout"));
    }
    Set<String> exclude = excluded == null ? BackupConfig.DEFAULT_EXCLUDED : new HashSet<>(excluded);
    return new BackupConfig(nodeName, dockerHost, volumePrefix, exclude, mode, etcd,
        BackupConfig.DEFAULT_HELPER_IMAGE, null, BackupConfig.rate(maxRateMib, "--max-rate"),
        BackupConfig.maxFreeze(maxFreezeSeconds, "--max-freeze"));
  }
}
