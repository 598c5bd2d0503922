package io.mkebackup.common.bus;

/**
 * The event-bus addresses of mke-backup, each with who sends and who listens. Every message is
 * JSON with the shape documented here and in the README.
 */
public final class Addresses {
  private Addresses() {}

  /**
   * Backup jobs for any worker in the cluster: the gateway sends (request/reply) when its own
   * node's worker cannot take the job; every backup-worker verticle consumes. Body:
   * {@code {"id","fileName","logFileName","hostPath","passphrase" | "noPassphrase": true,"origin"}}
   * (only members, holders of a member certificate, reach this address: the event bus is mutual
   * TLS; the worker still checks every job against its own configuration);
   * reply {@code {"backupId","nodeLocation"}} or a failure whose message is the error's JSON
   * ({@code {"code","field","message"}}, the code by name; see {@link BusErrors}).
   */
  public static final String JOBS = "mke.backup.jobs";

  /** This node's own worker, tried first: {@code JOBS + "." + nodeName}. Same shapes as {@link #JOBS}. */
  public static String jobsOn(String nodeName) {
    return JOBS + "." + nodeName;
  }

  /**
   * Progress of every backup in the cluster, published by the worker running it; the gateways'
   * SSE streams, the SockJS bridge and dashboards listen. Body: a progress event
   * ({@code {"backupId","node","kind","step","target","message","stepBytes","stepFiles",
   * "totalBytes","totalFiles","estimateBytes","at"}}); kind is started, progress, done, warning,
   * succeeded or failed; the last two end a backup.
   */
  public static final String PROGRESS = "mke.backup.progress";
}
