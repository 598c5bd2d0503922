package io.mkebackup.deploy.cli;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.BackupLease;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.worker.engine.BackupResult;
import io.mkebackup.worker.engine.EngineConfig;
import io.mkebackup.worker.source.ClusterRootCa;
import java.nio.file.Path;
import java.util.List;

/**
 * The CLI's share of the cluster: when cluster members are configured, a backup from the CLI
 * joins as a Hazelcast client (with the cluster secret, as the managers: the CLI runs on one), takes the same lock the managers take (freed by Hazelcast if this
 * process dies) and records itself in the catalog; without members it does nothing.
 */
final class ClusterLease implements AutoCloseable {
  private final HazelcastInstance client;
  private final BackupLease lease;
  private final BackupCatalog catalog;
  private BackupRecord record;

  private ClusterLease(HazelcastInstance client, BackupLease lease, BackupCatalog catalog, BackupRecord record) {
    this.client = client;
    this.lease = lease;
    this.catalog = catalog;
    this.record = record;
  }

  /** What the backup's writer asks before each chunk and the rename: the lease, or nothing without a cluster. */
  Fence fence() {
    return lease == null ? Fence.NONE : lease;
  }


  /**
   * @param secretFile the cluster secret's file, or null to derive the secret from this manager's
   *     MKE cluster root CA as the managers do
   */
  static ClusterLease take(List<String> members, String clusterName, Path secretFile, EngineConfig engine, String id,
      boolean encrypted, Path file, Path logFile) {
    if (members == null || members.isEmpty()) {
      return new ClusterLease(null, null, null, null);
    }
    String node = engine.nodeName();
    ClusterTrust trust = ClusterTrust.derive(ClusterRootCa.secret(secretFile, "--cluster-secret-file", engine));
    HazelcastInstance client;
    try {
      client = HazelcastClient.newHazelcastClient(
          new ClusterSettings(clusterName, "127.0.0.1", 0, members, node).clientConfig(trust));
    } catch (RuntimeException e) {
      throw new BackupException(ErrorCode.CLUSTER_UNAVAILABLE, "--cluster-members", "cannot reach the backup cluster "
          + clusterName + " at " + members + " (" + e.getMessage() + "); without its lock this backup could run"
          + " beside another, so it does not start. Check the managers (they log 'trust fingerprint "
          + trust.fingerprint() + "' when they hold the same cluster secret as this host), or drop --cluster-members",
          e);
    }
    BackupLease lease = null;
    try {
      lease = new BackupLock(client).acquire(id, node);
      BackupCatalog catalog = new BackupCatalog(client, null);
      Path dir = file == null ? null : file.toAbsolutePath().getParent();
      BackupRecord record = BackupRecord.inProgress(id, encrypted, file == null ? "" : file.getFileName().toString(),
          logFile == null ? "" : logFile.getFileName().toString(), dir == null ? "" : dir.toString(), node,
          client.getLocalEndpoint().getUuid().toString(), "cli");
      catalog.put(record);
      return new ClusterLease(client, lease, catalog, record);
    } catch (RuntimeException e) {
      if (lease != null) {
        lease.release();
      }
      client.shutdown();
      throw e;
    }
  }

  /**
   * Records the success, from this backup's own IN_PROGRESS record only; false when the cluster
   * had already ended it (this process was paused or cut off, and a member marked it FAILED).
   */
  boolean succeeded(BackupResult result) {
    return end(record == null ? null : record.succeeded(result.archiveBytes(), result.files(), result.dataBytes()));
  }

  boolean failed(String error) {
    return end(record == null ? null : record.failed(error));
  }

  private boolean end(BackupRecord outcome) {
    if (outcome == null || record.finished()) {
      return true;
    }
    boolean replaced = catalog.replace(record, outcome);
    record = outcome;
    return replaced;
  }

  @Override
  public void close() {
    if (client != null) {
      try {
        if (record != null && !record.finished()) {
          end(record.failed("the backup was interrupted"));
        }
        lease.release();
      } finally {
        client.shutdown();
      }
    }
  }
}
