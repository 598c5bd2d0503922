package io.mkebackup.worker.pipeline.openpgp;

import io.mkebackup.common.Passphrase;
import io.mkebackup.common.Threads;
import io.mkebackup.worker.pipeline.AsyncOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * Encrypts a stream as an OpenPGP (RFC 4880) passphrase-encrypted message that stock GnuPG 2.2
 * decrypts: a v4 symmetric-key session packet (AES-256, iterated and salted SHA-256 S2K) followed
 * by a symmetrically encrypted integrity-protected data packet (v1, with MDC) holding one binary
 * literal data packet.
 *
 * <p>Both the literal packet and the encrypted packet are written with 1 MiB partial body lengths,
 * so nothing needs the total size in advance and memory stays at two fixed buffers. The packets
 * are framed here around AES/CFB ({@link AesCfb}) and the JCE's SHA-1 because Bouncy Castle's stock generator feeds
 * the partial-packet stream one byte at a time (see DESIGN.md), which caps throughput well below
 * GnuPG; the framing is proved in tests by both gpg and Bouncy Castle's reader.
 */
public final class PgpEncryptingOutputStream extends OutputStream {
  /** 2^20: each partial body is 1 MiB. */
  static final int CHUNK_POWER = 20;
  static final int CHUNK = 1 << CHUNK_POWER;
  /** S2K count octet 0xFF: 65,011,712 bytes hashed, GnuPG's upper bound. */
  static final int S2K_COUNT_OCTET = 0xFF;

  private static final int TAG_SKESK = 3;
  private static final int TAG_LITERAL = 11;
  private static final int TAG_SEIPD = 18;
  private static final int TAG_MDC = 19;
  private static final int ALGO_AES256 = 9;
  private static final int HASH_SHA256 = 8;
  private static final int S2K_ITERATED_SALTED = 3;
  static final byte PARTIAL_CHUNK_HEADER = (byte) (224 + CHUNK_POWER);

  private final OutputStream out;
  private final MessageDigest mdc;
  /** Encrypts and frames the plaintext; in pipelined mode on a thread of its own. */
  private final SeipdCipherStream cipherStage;
  private final AsyncOutputStream handOff;
  private final OutputStream inner;
  /** Pending literal packet body (the plaintext the caller writes). */
  private final byte[] body = new byte[CHUNK];
  private int bodyLength;
  private final byte[] one = new byte[1];
  private boolean finished;

  /**
   * Writes the session packet and the packet headers at once; the caller writes the plaintext.
   *
   * @param fileName the name GnuPG shows for the literal data (it does not affect decryption)
   */
  public PgpEncryptingOutputStream(OutputStream out, Passphrase passphrase, String fileName)
      throws IOException {
    this(out, passphrase, fileName, false);
  }

  /**
   * @param pipelined when true, AES and the writes to {@code out} run on a thread of their own
   *     while the caller's thread frames the literal packet and hashes the MDC, so the two halves
   *     of the work use two cores
   */
  public PgpEncryptingOutputStream(OutputStream out, Passphrase passphrase, String fileName, boolean pipelined)
      throws IOException {
    this.out = out;
    SecureRandom random = new SecureRandom();
    byte[] salt = new byte[8];
    random.nextBytes(salt);
    // Both take about 0.1 s of one core: side by side on two.
    CompletableFuture<Void> warm = CompletableFuture.runAsync(() -> AesCfb.warmUp(true),
        Threads.each("mke-backup-aes-warm-up"));
    byte[] key = deriveKey(passphrase, salt, S2K_COUNT_OCTET);
    AesCfb cipher;
    try {
      warm.join();
      cipher = AesCfb.encryptor(key, new byte[16]);
      mdc = MessageDigest.getInstance("SHA-1");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM lacks AES or SHA-1", e);
    } finally {
      Arrays.fill(key, (byte) 0);
    }

    // Symmetric-Key Encrypted Session Key packet, v4, no encrypted session key (RFC 4880 5.3).
    byte[] skesk = new byte[2 + 13];
    skesk[0] = (byte) (0xC0 | TAG_SKESK);
    skesk[1] = 13;
    skesk[2] = 4;
    skesk[3] = ALGO_AES256;
    skesk[4] = S2K_ITERATED_SALTED;
    skesk[5] = HASH_SHA256;
    System.arraycopy(salt, 0, skesk, 6, 8);
    skesk[14] = (byte) S2K_COUNT_OCTET;
    out.write(skesk);

    // Encrypted packet header; its body starts with version 1, then the ciphertext.
    out.write(0xC0 | TAG_SEIPD);
    cipherStage = new SeipdCipherStream(out, cipher);
    handOff = pipelined ? new AsyncOutputStream(cipherStage, CHUNK, 3, "mke-backup-encrypt") : null;
    inner = pipelined ? handOff : cipherStage;

    // Random prefix with its last two octets repeated (RFC 4880 5.13), then the literal packet.
    byte[] prefix = new byte[18];
    random.nextBytes(prefix);
    prefix[16] = prefix[14];
    prefix[17] = prefix[15];
    plain(prefix, 0, prefix.length);
    one[0] = (byte) (0xC0 | TAG_LITERAL);
    plain(one, 0, 1);

    byte[] name = fileName == null ? new byte[0] : fileName.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    int nameLength = Math.min(name.length, 255);
    long now = System.currentTimeMillis() / 1000;
    body[0] = 'b';
    body[1] = (byte) nameLength;
    System.arraycopy(name, 0, body, 2, nameLength);
    int p = 2 + nameLength;
    body[p] = (byte) (now >>> 24);
    body[p + 1] = (byte) (now >>> 16);
    body[p + 2] = (byte) (now >>> 8);
    body[p + 3] = (byte) now;
    bodyLength = p + 4;
  }

  /** RFC 4880 3.7.1.3: SHA-256 over (salt || passphrase) repeated to the coded count. */
  static byte[] deriveKey(Passphrase passphrase, byte[] salt, int countOctet) {
    return S2k.deriveKey("SHA-256", S2k.ITERATED_SALTED, salt, countOctet, passphrase, 32);
  }

  @Override
  public void write(int b) throws IOException {
    one[0] = (byte) b;
    write(one, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (finished) {
      throw new IOException("stream already finished");
    }
    while (len > 0) {
      if (bodyLength == CHUNK) {
        // More data follows, so the full chunk may go out as a partial body.
        emitPartialBody(body, 0);
        bodyLength = 0;
      }
      if (bodyLength == 0 && len > CHUNK) {
        emitPartialBody(b, off);
        off += CHUNK;
        len -= CHUNK;
        continue;
      }
      int n = Math.min(len, CHUNK - bodyLength);
      System.arraycopy(b, off, body, bodyLength, n);
      bodyLength += n;
      off += n;
      len -= n;
    }
  }

  private void emitPartialBody(byte[] b, int off) throws IOException {
    one[0] = PARTIAL_CHUNK_HEADER;
    plain(one, 0, 1);
    plain(b, off, CHUNK);
  }

  /** Hashes plaintext into the MDC and passes it on to be encrypted. */
  private void plain(byte[] b, int off, int len) throws IOException {
    mdc.update(b, off, len);
    inner.write(b, off, len);
  }

  /** Ends the OpenPGP message (final lengths, MDC) without closing the underlying stream. */
  public void finish() throws IOException {
    if (finished) {
      return;
    }
    finished = true;
    byte[] length = definiteLength(bodyLength);
    plain(length, 0, length.length);
    plain(body, 0, bodyLength);

    byte[] mdcHeader = {(byte) (0xC0 | TAG_MDC), 20};
    plain(mdcHeader, 0, 2);
    inner.write(mdc.digest());
    if (handOff != null) {
      handOff.finish();
    }
    cipherStage.finish();
    out.flush();
    Arrays.fill(body, (byte) 0);
  }

  /** Stops the encryption thread of a pipelined stream without finishing the message. */
  public void abort() {
    finished = true;
    if (handOff != null) {
      handOff.abort();
    }
  }

  /** New-format packet length (RFC 4880 4.2.2). */
  static byte[] definiteLength(int length) {
    if (length < 192) {
      return new byte[] {(byte) length};
    }
    if (length < 8384) {
      int l = length - 192;
      return new byte[] {(byte) ((l >> 8) + 192), (byte) l};
    }
    return new byte[] {
      (byte) 0xFF, (byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length
    };
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    try {
      finish();
    } finally {
      out.close();
    }
  }
}
