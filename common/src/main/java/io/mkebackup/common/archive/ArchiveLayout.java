package io.mkebackup.common.archive;

/** Names inside a backup archive. */
public final class ArchiveLayout {
  private ArchiveLayout() {}

  /** The last entry of every archive: what was backed up, and every file's size and SHA-256. */
  public static final String METADATA_ENTRY = "./backup-metadata.json";
  /** The volume whose content is the etcd store; it is captured as a snapshot, not as files. */
  public static final String ETCD_VOLUME = "ucp-kv";
  /** The volume that receives the etcd snapshot inside the archive. */
  public static final String SNAPSHOT_VOLUME = "ucp-backup";
  public static final String SNAPSHOT_FILE = "etcd.backup.db";
  /** The auth store (RethinkDB) data volume, copied as a step of its own. */
  public static final String AUTH_STORE_VOLUME = "ucp-auth-store-data";
  /** The entry a valid backup must hold (the seed's check). */
  public static final String REQUIRED_ENTRY = "./ucp-controller-server-certs/key.pem";
  /** The least number of entries a valid backup lists (the seed's check). */
  public static final int MIN_ENTRIES = 27;

  /** {@code ./ucp-backup/<epoch-ms>/etcd.backup.db} */
  public static String snapshotEntry(long epochMillis) {
    return "./" + SNAPSHOT_VOLUME + "/" + epochMillis + "/" + SNAPSHOT_FILE;
  }

  public static boolean isSnapshotEntry(String name) {
    return name.startsWith("./" + SNAPSHOT_VOLUME + "/") && name.endsWith("/" + SNAPSHOT_FILE);
  }

  public static String volumeEntry(String volume, String relativePath) {
    return relativePath.isEmpty() ? "./" + volume + "/" : "./" + volume + "/" + relativePath;
  }
}
