package io.mkebackup.worker.pipeline.openpgp;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * An OpenPGP packet header (RFC 4880 4.2), old or new format.
 *
 * @param length the body's length, or the first part's when {@code partial}; -1 when indeterminate
 */
record PacketHeader(int tag, long length, boolean partial) {
  static final int SKESK = 3;
  static final int SED = 9;
  static final int COMPRESSED = 8;
  static final int LITERAL = 11;
  static final int SEIPD = 18;

  boolean indeterminate() {
    return length < 0;
  }

  /** The next header, or null at the end of the stream. */
  static PacketHeader read(InputStream in) throws IOException {
    int ctb = in.read();
    if (ctb < 0) {
      return null;
    }
    if ((ctb & 0x80) == 0) {
      throw new BackupException(ErrorCode.ARCHIVE_CORRUPT,
          "the archive's OpenPGP packets are damaged: octet 0x" + Integer.toHexString(ctb) + " is no packet header");
    }
    if ((ctb & 0x40) != 0) {
      int first = octet(in);
      if (first >= 224 && first < 255) {
        return new PacketHeader(ctb & 0x3F, 1L << (first & 0x1F), true);
      }
      return new PacketHeader(ctb & 0x3F, newLength(in, first), false);
    }
    int tag = (ctb >> 2) & 0x0F;
    return switch (ctb & 3) {
      case 0 -> new PacketHeader(tag, octet(in), false);
      case 1 -> new PacketHeader(tag, ((long) octet(in) << 8) | octet(in), false);
      case 2 -> new PacketHeader(tag, fourOctets(in), false);
      default -> new PacketHeader(tag, -1, false);
    };
  }

  /**
   * A new-format length whose first octet was read (RFC 4880 4.2.2); partial lengths come back
   * as their negation minus one, so that callers reading a body's next part can tell them apart.
   */
  static long nextPartLength(InputStream in) throws IOException {
    int first = octet(in);
    if (first >= 224 && first < 255) {
      return -(1L << (first & 0x1F)) - 1;
    }
    return newLength(in, first);
  }

  private static long newLength(InputStream in, int first) throws IOException {
    if (first < 192) {
      return first;
    }
    if (first < 224) {
      return ((first - 192L) << 8) + octet(in) + 192;
    }
    return fourOctets(in);
  }

  private static long fourOctets(InputStream in) throws IOException {
    return ((long) octet(in) << 24) | ((long) octet(in) << 16) | ((long) octet(in) << 8) | octet(in);
  }

  static int octet(InputStream in) throws IOException {
    int b = in.read();
    if (b < 0) {
      throw new EOFException("an OpenPGP packet header ends early");
    }
    return b;
  }
}
