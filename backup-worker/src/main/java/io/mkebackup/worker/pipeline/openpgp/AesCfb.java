package io.mkebackup.worker.pipeline.openpgp;

import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES in full-block CFB mode (OpenPGP's, byte for byte the JCE's {@code AES/CFB/NoPadding}), fed
 * any number of bytes per call, computed through JCE modes that HotSpot runs as AES-NI stubs.
 *
 * <p>CFB's keystream for block i is E(C[i-1]) (E(IV) for the first block). Encrypting, CBC
 * encryption of the plaintext under the IV E(IV) produces exactly E(C[0]), E(C[1]), ...: each CBC
 * output is E(P[i] xor E(C[i-1])) = E(C[i]). Decrypting, the ciphertext is known, so the keystream
 * is ECB of the ciphertext, which needs no chaining and runs many blocks at once. Either way the
 * block cipher is fed the caller's input, and its output, shifted by one block, is XORed into it.
 *
 * <p>On the development VM (one core, AES-256): the JCE's own CFB 380-450 MB/s (one block at a
 * time, through the per-block stub); encrypting this way about 870 MB/s, which is the CBC stub's
 * own rate; decrypting several GB/s. See deploy/bench/cipher-bench.sh. HotSpot uses the CBC stub
 * only once the calling method is compiled by C2, after some thousands of calls: {@link #warmUp}
 * makes those calls on a throwaway key, and bulk input is fed in {@link #SLICE} pieces.
 */
public final class AesCfb {
  /** 32 KiB: small enough that a few hundred MB make thousands of calls, large enough to amortize one. */
  static final int SLICE = 32 * 1024;
  private static final int BLOCK = 16;
  private static volatile boolean warmEncryptor;
  private static volatile boolean warmDecryptor;

  private final Cipher blocks;
  /** [0, 16): the keystream of the current block; [16, 16 + SLICE): the block cipher's output. */
  private final byte[] keystream = new byte[BLOCK + SLICE];
  /** The input bytes of the current, partial block: the block cipher needs it whole. */
  private final byte[] partial = new byte[BLOCK];
  /** The input of a bulk slice, copied to index 0 so that the XOR vectorizes (see {@link #xor}). */
  private final byte[] data = new byte[SLICE];
  /** How many bytes of the current block have been processed (0 at a block boundary). */
  private int used;

  private AesCfb(Cipher blocks, byte[] firstKeystream) {
    this.blocks = blocks;
    System.arraycopy(firstKeystream, 0, keystream, 0, BLOCK);
  }

  /** A CFB encryptor with the given 16-, 24- or 32-octet key and 16-octet IV. */
  public static AesCfb encryptor(byte[] key, byte[] iv) throws GeneralSecurityException {
    SecretKeySpec k = new SecretKeySpec(key, "AES");
    byte[] first = encryptBlock(k, iv);
    Cipher cbc = Cipher.getInstance("AES/CBC/NoPadding");
    cbc.init(Cipher.ENCRYPT_MODE, k, new IvParameterSpec(first));
    return new AesCfb(cbc, first);
  }

  /** A CFB decryptor with the given key and IV. */
  public static AesCfb decryptor(byte[] key, byte[] iv) throws GeneralSecurityException {
    SecretKeySpec k = new SecretKeySpec(key, "AES");
    Cipher ecb = Cipher.getInstance("AES/ECB/NoPadding");
    ecb.init(Cipher.ENCRYPT_MODE, k);
    return new AesCfb(ecb, encryptBlock(k, iv));
  }

  private static byte[] encryptBlock(SecretKeySpec key, byte[] block) throws GeneralSecurityException {
    Cipher ecb = Cipher.getInstance("AES/ECB/NoPadding");
    ecb.init(Cipher.ENCRYPT_MODE, key);
    return ecb.doFinal(block, 0, BLOCK);
  }

  /**
   * Runs this direction on a throwaway key until C2 has compiled the calling code, so that even
   * the first megabytes of a real stream go through the multi-block AES-NI stubs. Once per JVM and
   * direction; about 100 ms.
   */
  public static void warmUp(boolean encrypting) {
    if (encrypting ? warmEncryptor : warmDecryptor) {
      return;
    }
    try {
      byte[] buffer = new byte[256];
      AesCfb cfb = encrypting ? encryptor(new byte[32], new byte[16]) : decryptor(new byte[32], new byte[16]);
      for (int i = 0; i < 12_000; i++) {
        cfb.update(buffer, 0, buffer.length, buffer, 0);
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM lacks AES", e);
    }
    if (encrypting) {
      warmEncryptor = true;
    } else {
      warmDecryptor = true;
    }
  }

  /**
   * Encrypts or decrypts {@code len} bytes: exactly {@code len} bytes come out, whatever the block
   * alignment. {@code out} may be {@code in} at the same offset, but must not overlap it otherwise.
   */
  public void update(byte[] in, int inOff, int len, byte[] out, int outOff) throws GeneralSecurityException {
    while (used != 0 && len > 0) {
      byte b = in[inOff++];
      partial[used] = b;
      out[outOff++] = (byte) (b ^ keystream[used]);
      len--;
      if (++used == BLOCK) {
        blocks.update(partial, 0, BLOCK, keystream, 0);
        used = 0;
      }
    }
    while (len >= BLOCK) {
      int n = Math.min(SLICE, len & -BLOCK);
      bulk(in, inOff, n, out, outOff);
      inOff += n;
      outOff += n;
      len -= n;
    }
    if (len > 0) {
      for (int i = 0; i < len; i++) {
        byte b = in[inOff + i];
        partial[i] = b;
        out[outOff + i] = (byte) (b ^ keystream[i]);
      }
      used = len;
    }
  }

  /** Whole blocks, at a block boundary: n is a multiple of 16, at most SLICE. */
  private void bulk(byte[] in, int inOff, int n, byte[] out, int outOff) throws GeneralSecurityException {
    byte[] ks = keystream;
    byte[] d = data;
    blocks.update(in, inOff, n, ks, BLOCK);
    System.arraycopy(in, inOff, d, 0, n);
    xor(d, ks, n);
    System.arraycopy(d, 0, out, outOff, n);
    System.arraycopy(ks, n, ks, 0, BLOCK);
  }

  /**
   * C2 vectorizes this loop only in this shape: both arrays at the same index from 0 (an offset on
   * either, or a third array, left it byte by byte at about 500 MB/s; this runs at several GB/s).
   */
  private static void xor(byte[] d, byte[] ks, int n) {
    for (int i = 0; i < n; i++) {
      d[i] ^= ks[i];
    }
  }
}
