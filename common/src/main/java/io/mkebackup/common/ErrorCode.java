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
  INTERNAL
}
