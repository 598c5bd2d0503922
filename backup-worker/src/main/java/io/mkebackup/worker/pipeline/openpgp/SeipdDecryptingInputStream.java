package io.mkebackup.worker.pipeline.openpgp;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * The plaintext of a symmetrically encrypted integrity-protected data packet (RFC 4880 5.13,
 * version 1): decrypts the packet's body with AES/CFB and hashes it into the MDC. The last 22
 * octets are the MDC packet, so they are held back until the body ends; the stream then reports
 * its end only if the MDC packet is there and its SHA-1 matches, and throws ARCHIVE_CORRUPT if
 * not. Everything before that has been delivered unchecked, as with any streaming reader.
 */
final class SeipdDecryptingInputStream extends InputStream {
  /** The MDC packet: tag 19 (new format), length 20, the SHA-1. */
  private static final int MDC_LENGTH = 22;

  private final InputStream body;
  private final AesCfb cipher;
  private final MessageDigest mdc;
  private final byte[] buffer;
  /** Decrypted octets not yet delivered: [start, end); those before {@code released} are hashed. */
  private int start;
  private int end;
  private int released;
  private boolean bodyEnded;
  /** Thrown again on every later read: a failed check must never look like an end. */
  private BackupException failure;

  /**
   * @param cipher the decryptor, past the prefix
   * @param prefix the decrypted prefix (checked by the caller): it starts the MDC's input
   */
  SeipdDecryptingInputStream(InputStream body, AesCfb cipher, int bufferSize, byte[] prefix) {
    this.body = body;
    this.cipher = cipher;
    this.buffer = new byte[bufferSize];
    try {
      this.mdc = MessageDigest.getInstance("SHA-1");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM lacks SHA-1", e);
    }
    mdc.update(prefix);
  }

  @Override
  public int read() throws IOException {
    if (start == released && !fill()) {
      return -1;
    }
    return buffer[start++] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (start == released && !fill()) {
      return -1;
    }
    int n = Math.min(len, released - start);
    System.arraycopy(buffer, start, b, off, n);
    start += n;
    return n;
  }

  /** Reads and decrypts more of the body; false once the body and its MDC are done. */
  private boolean fill() throws IOException {
    if (failure != null) {
      throw failure;
    }
    if (bodyEnded) {
      return false;
    }
    // Only the held-back tail (at most the MDC's length) is left: move it to the front.
    int tail = end - start;
    System.arraycopy(buffer, start, buffer, 0, tail);
    start = 0;
    end = tail;
    while (end - MDC_LENGTH <= 0 || end < buffer.length / 2) {
      int n = body.read(buffer, end, buffer.length - end);
      if (n < 0) {
        bodyEnded = true;
        break;
      }
      try {
        cipher.update(buffer, end, n, buffer, end);
      } catch (GeneralSecurityException e) {
        throw new IOException("decryption failed", e);
      }
      end += n;
    }
    released = Math.max(0, end - MDC_LENGTH);
    mdc.update(buffer, 0, released);
    if (bodyEnded) {
      failure = checkMdc();
      if (failure != null) {
        throw failure;
      }
    }
    return released > start;
  }

  private BackupException checkMdc() {
    if (end < MDC_LENGTH || (buffer[end - 22] & 0xFF) != 0xD3 || buffer[end - 21] != 20) {
      return new BackupException(ErrorCode.ARCHIVE_CORRUPT,
          "the archive failed its OpenPGP integrity check: its integrity packet is missing or damaged");
    }
    mdc.update(buffer, end - 22, 2);
    if (!MessageDigest.isEqual(mdc.digest(), Arrays.copyOfRange(buffer, end - 20, end))) {
      return new BackupException(ErrorCode.ARCHIVE_CORRUPT,
          "the archive failed its OpenPGP integrity check: its bytes were changed after it was written");
    }
    return null;
  }
}
