package io.mkebackup.common.archive;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Checks an etcd snapshot as it streams: etcd appends the SHA-256 of the database to it, so the
 * last 32 bytes must equal the hash of everything before them, and the size is a multiple of
 * 512 plus those 32 (jetcd writes the trailer but checks nothing, see DESIGN.md).
 */
public final class SnapshotHasher {
  public static final int TRAILER = 32;

  private final long size;
  private final MessageDigest body;
  private final byte[] trailer = new byte[TRAILER];
  private long seen;

  public SnapshotHasher(long size) {
    this.size = size;
    try {
      body = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public void update(byte[] b, int off, int len) {
    long bodyEnd = size - TRAILER;
    if (seen < bodyEnd) {
      int n = (int) Math.min(len, bodyEnd - seen);
      body.update(b, off, n);
      seen += n;
      off += n;
      len -= n;
    }
    if (len > 0) {
      int at = (int) (seen - Math.max(0, bodyEnd));
      int n = Math.min(len, TRAILER - at);
      if (n > 0) {
        System.arraycopy(b, off, trailer, at, n);
      }
      seen += len;
    }
  }

  /** Throws ETCD_SNAPSHOT_CORRUPT unless the size rule and the trailer hold. */
  public void check(String what) {
    if (seen != size) {
      throw new BackupException(ErrorCode.ETCD_SNAPSHOT_CORRUPT,
          what + " is " + seen + " bytes where " + size + " were expected");
    }
    if (size < TRAILER + 512 || size % 512 != TRAILER) {
      throw new BackupException(ErrorCode.ETCD_SNAPSHOT_CORRUPT, what + " has " + size
          + " bytes, which is not a database plus a SHA-256 trailer (size % 512 must be 32); it is incomplete");
    }
    byte[] actual = body.digest();
    if (!MessageDigest.isEqual(actual, trailer)) {
      throw new BackupException(ErrorCode.ETCD_SNAPSHOT_CORRUPT, what
          + " does not match its SHA-256 trailer (database hash " + HexFormat.of().formatHex(actual)
          + ", trailer " + HexFormat.of().formatHex(trailer) + "); it is damaged");
    }
  }
}
