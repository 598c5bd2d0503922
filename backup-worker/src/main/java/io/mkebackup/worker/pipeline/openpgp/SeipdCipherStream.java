package io.mkebackup.worker.pipeline.openpgp;

import java.io.IOException;
import java.io.OutputStream;
import java.security.GeneralSecurityException;

/**
 * The back half of {@link PgpEncryptingOutputStream}: encrypts the plaintext (prefix, literal
 * packet, MDC) with AES/CFB ({@link AesCfb}) and writes it as the body of the encrypted packet, version octet
 * first, in 1 MiB partial bodies and a final definite length.
 */
final class SeipdCipherStream extends OutputStream {
  private static final int CHUNK = PgpEncryptingOutputStream.CHUNK;

  private final OutputStream out;
  private final AesCfb cipher;
  /** Pending ciphertext of the encrypted packet's body; drained in CHUNK pieces. */
  private final byte[] cipherText = new byte[CHUNK + 1];
  private int cipherLength;

  SeipdCipherStream(OutputStream out, AesCfb cipher) {
    this.out = out;
    this.cipher = cipher;
    cipherText[0] = 1; // SEIPD version
    cipherLength = 1;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      // At most one byte past a chunk: a partial body goes out only when more follows.
      int piece = Math.min(len, CHUNK + 1 - cipherLength);
      try {
        cipher.update(b, off, piece, cipherText, cipherLength);
        cipherLength += piece;
      } catch (GeneralSecurityException e) {
        throw new IOException("encryption failed", e);
      }
      off += piece;
      len -= piece;
      drainFullChunk();
    }
  }

  /** Writes one partial body once more ciphertext than a chunk is pending (so more follows). */
  private void drainFullChunk() throws IOException {
    if (cipherLength > CHUNK) {
      out.write(PgpEncryptingOutputStream.PARTIAL_CHUNK_HEADER);
      out.write(cipherText, 0, CHUNK);
      System.arraycopy(cipherText, CHUNK, cipherText, 0, cipherLength - CHUNK);
      cipherLength -= CHUNK;
    }
  }

  /** Writes the last body with its definite length. */
  void finish() throws IOException {
    out.write(PgpEncryptingOutputStream.definiteLength(cipherLength));
    out.write(cipherText, 0, cipherLength);
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }
}
