package io.mkebackup.deploy.cli;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import io.mkebackup.common.cluster.HazelcastBackupCatalog;
import io.mkebackup.common.cluster.HazelcastBackupLock;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.backup.ClusterRootCa;
import io.mkebackup.worker.run.BackupRun;
import java.nio.file.Path;
import java.util.List;

/**
 * The CLI's share of the cluster: when cluster members are configured, a backup from the CLI
 * joins as a Hazelcast client (with the cluster secret, as the managers: the CLI runs on one), takes the same lock the managers take (freed by Hazelcast if this
 * process dies) and records itself in the catalog; without members it does nothing.
 */
final class ClusterLease implements AutoCloseable {
  private final HazelcastInstance client;
  private final String node;

  private ClusterLease(HazelcastInstance client, String node) {
    this.client = client;
    this.node = node;
  }

  /**
   * @param secretFile the cluster secret's file, or null to derive the secret from this manager's
   *     MKE cluster root CA as the managers do
   */
  static ClusterLease join(List<String> members, String clusterName, Path secretFile, BackupConfig config) {
    if (members == null || members.isEmpty()) {
      return new ClusterLease(null, null);
    }
    String node = config.nodeName();
    ClusterTrust trust = ClusterTrust.derive(ClusterRootCa.secret(secretFile, "--cluster-secret-file", config));
    try {
      return new ClusterLease(HazelcastClient.newHazelcastClient(
          new ClusterSettings(clusterName, "127.0.0.1", 0, members, node).clientConfig(trust)), node);
    } catch (RuntimeException e) {
      throw new BackupException(ErrorCode.CLUSTER_UNAVAILABLE, "--cluster-members", "cannot reach the backup cluster "
          + clusterName + " at " + members + " (" + e.getMessage() + "); without its lock this backup could run"
          + " beside another, so it does not start. Check the managers (they log 'trust fingerprint "
          + trust.fingerprint() + "' when they hold the same cluster secret as this host), or drop --cluster-members",
          e);
    }
  }

  /**
   * Runs the backup: in a cluster as a {@link BackupRun} (the cluster's lock on this thread, the
   * record in its catalog, the lease as the writer's fence); without one, just the work. The CLI
   * prints its own progress and counts nothing, so the run publishes no event and meters nothing.
   *
   * @return the outcome; {@link BackupRun.Outcome#recorded()} is false when the cluster had
   *     already ended this backup (this process was paused or cut off, and a member marked it FAILED)
   */
  BackupRun.Outcome run(String id, boolean encrypted, Path file, Path logFile, BackupRun.Work work) {
    if (client == null) {
      return new BackupRun.Outcome(null, true, work.run(Fence.NONE, event -> {}), null);
    }
    Path dir = file == null ? null : file.toAbsolutePath().getParent();
    return new BackupRun(new HazelcastBackupLock(client), new HazelcastBackupCatalog(client, null), event -> {}, BackupRun.Meter.NONE)
        .run(id, node, () -> BackupRecord.inProgress(id, encrypted, file == null ? "" : file.getFileName().toString(),
            logFile == null ? "" : logFile.getFileName().toString(), dir == null ? "" : dir.toString(), node,
            client.getLocalEndpoint().getUuid().toString(), "cli"), record -> {}, work);
  }

  @Override
  public void close() {
    if (client != null) {
      client.shutdown();
    }
  }
}
