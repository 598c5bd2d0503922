package io.mkebackup.worker.pipeline.openpgp;

import io.mkebackup.worker.pipeline.BulkInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The body of one OpenPGP packet, read through its partial-length parts or to the end of the
 * enclosing data when its length is indeterminate. A body cut short throws EOFException.
 */
final class PacketBodyInputStream extends BulkInputStream {
  private final InputStream in;
  private final boolean indeterminate;
  /** Octets left in the current part. */
  private long left;
  /** True while more parts follow the current one. */
  private boolean partial;

  PacketBodyInputStream(InputStream in, PacketHeader header) {
    this.in = in;
    this.indeterminate = header.indeterminate();
    this.left = Math.max(0, header.length());
    this.partial = header.partial();
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (indeterminate) {
      return in.read(b, off, len);
    }
    while (left == 0) {
      if (!partial) {
        return -1;
      }
      long next = PacketHeader.nextPartLength(in);
      partial = next < -1;
      left = partial ? -next - 1 : next;
    }
    int n = in.read(b, off, (int) Math.min(len, left));
    if (n < 0) {
      throw new EOFException("an OpenPGP packet ends " + left + " octets early");
    }
    left -= n;
    return n;
  }
}
