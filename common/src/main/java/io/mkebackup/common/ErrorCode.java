package io.mkebackup.common;

/** Stable error codes; the gateway and the CLI map them to HTTP statuses and exit codes in one place each. */
public enum ErrorCode {
  INVALID_FIELD,
  BACKUP_RUNNING,
  TARGET_NOT_FOUND,
  TARGET_NOT_WRITABLE,
  TARGET_FULL,
  DOCKER_UNAVAILABLE,
  ETCD_UNAVAILABLE,
  ETCD_SNAPSHOT_CORRUPT,
  VOLUME_READ_FAILED,
  NO_MKE_STATE,
  WRONG_PASSPHRASE,
  ARCHIVE_CORRUPT,
  ARCHIVE_INCOMPLETE,
  VERSION_MISMATCH,
  TARGET_NOT_EMPTY,
  RESTORE_FAILED,
  NOT_FOUND,
  UNAUTHORIZED,
  FORBIDDEN,
  TOO_MANY_ATTEMPTS,
  REQUEST_TOO_LARGE,
  WORKER_UNAVAILABLE,
  CLUSTER_UNAVAILABLE,
  INTERNAL,
  /** A passphrase was given for an archive that is not encrypted, so not authenticated. */
  ARCHIVE_UNAUTHENTICATED,
  /** Fewer than a majority of the configured managers are in this member's cluster (a partition). */
  NO_MAJORITY,
  /** The backup's lease on the cluster lock ran out (a pause or a partition); it stopped writing. */
  LEASE_LOST,
  /** A volume's writers stayed paused longer than maxFreezeSeconds; they were unpaused and the backup stopped. */
  FREEZE_TOO_LONG,
  /** A restore would write a volume that a running container mounts. */
  VOLUME_IN_USE,
  /** An HTTP method the path does not take (HTTP 405). */
  METHOD_NOT_ALLOWED
}
