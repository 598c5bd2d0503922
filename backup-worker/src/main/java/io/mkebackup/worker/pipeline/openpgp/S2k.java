package io.mkebackup.worker.pipeline.openpgp;

import io.mkebackup.common.Passphrase;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;

/** OpenPGP's string-to-key (RFC 4880 3.7): a passphrase and a salt to a session key. */
final class S2k {
  static final int SIMPLE = 0;
  static final int SALTED = 1;
  static final int ITERATED_SALTED = 3;

  private S2k() {}

  /** The JCE name of an OpenPGP hash algorithm id, or null for one this reader leaves to Bouncy Castle. */
  static String digestName(int id) {
    return switch (id) {
      case 2 -> "SHA-1";
      case 8 -> "SHA-256";
      case 9 -> "SHA-384";
      case 10 -> "SHA-512";
      case 11 -> "SHA-224";
      default -> null;
    };
  }

  /**
   * The key for {@code type} (simple, salted or iterated and salted). When the hash is shorter
   * than the key, more contexts hash the same input after 1, 2, ... zero octets (RFC 4880 3.7.1.1).
   */
  static byte[] deriveKey(String digest, int type, byte[] salt, int countOctet, Passphrase passphrase, int keyLength) {
    byte[] pass = passphrase.utf8();
    try {
      MessageDigest md = MessageDigest.getInstance(digest);
      byte[] key = new byte[keyLength];
      byte[] zeros = new byte[(keyLength + md.getDigestLength() - 1) / md.getDigestLength()];
      for (int filled = 0, context = 0; filled < keyLength; context++) {
        md.reset();
        md.update(zeros, 0, context);
        if (type == SIMPLE) {
          md.update(pass);
        } else if (type == SALTED) {
          md.update(salt);
          md.update(pass);
        } else {
          iterate(md, salt, pass, (16L + (countOctet & 15)) << ((countOctet >> 4) + 6));
        }
        byte[] h = md.digest();
        int n = Math.min(h.length, keyLength - filled);
        System.arraycopy(h, 0, key, filled, n);
        Arrays.fill(h, (byte) 0);
        filled += n;
      }
      return key;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM lacks " + digest, e);
    } finally {
      Arrays.fill(pass, (byte) 0);
    }
  }

  /** Hashes (salt || passphrase) repeated to {@code count} octets, and at least once whole. */
  private static void iterate(MessageDigest md, byte[] salt, byte[] pass, long count) {
    int unit = salt.length + pass.length;
    byte[] block = new byte[Math.max(1, 65536 / unit) * unit];
    for (int i = 0; i < block.length; i += unit) {
      System.arraycopy(salt, 0, block, i, salt.length);
      System.arraycopy(pass, 0, block, i + salt.length, pass.length);
    }
    for (long left = Math.max(count, unit); left > 0; ) {
      int n = (int) Math.min(block.length, left);
      md.update(block, 0, n);
      left -= n;
    }
    Arrays.fill(block, (byte) 0);
  }
}
