package io.mkebackup.worker.pipeline.openpgp;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.GeneralSecurityException;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** AesCfb against the JCE's own AES/CFB/NoPadding, byte for byte, however the input is split. */
class AesCfbTest {
  private static final int CASES = 2000;

  private static byte[] jce(int mode, byte[] key, byte[] iv, byte[] input) throws GeneralSecurityException {
    Cipher c = Cipher.getInstance("AES/CFB/NoPadding");
    c.init(mode, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
    return c.doFinal(input);
  }

  /** Mostly short messages (partial blocks everywhere), some across several 32 KiB slices. */
  private static int length(SplittableRandom r) {
    return switch (r.nextInt(4)) {
      case 0 -> r.nextInt(64);
      case 1 -> r.nextInt(1000);
      case 2 -> r.nextInt(20_000);
      default -> r.nextInt(3 * AesCfb.SLICE + 100);
    };
  }

  /**
   * Runs the input through in random pieces; every third case writes each piece in place, the
   * others to an output buffer at another offset than the input's.
   */
  private static byte[] run(AesCfb cfb, byte[] input, SplittableRandom r, boolean inPlace)
      throws GeneralSecurityException {
    byte[] out = new byte[input.length];
    int shift = r.nextInt(1, 40);
    byte[] in = new byte[input.length + shift];
    System.arraycopy(input, 0, in, shift, input.length);
    for (int off = 0; off < input.length; ) {
      int piece = Math.min(input.length - off, r.nextBoolean() ? r.nextInt(1, 40) : r.nextInt(1, 80_000));
      if (inPlace) {
        cfb.update(in, shift + off, piece, in, shift + off);
        System.arraycopy(in, shift + off, out, off, piece);
      } else {
        cfb.update(in, shift + off, piece, out, off);
      }
      off += piece;
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void matchesTheJceOnRandomLengthsAndSplits(boolean encrypting) throws GeneralSecurityException {
    SplittableRandom r = new SplittableRandom(encrypting ? 20261125 : 11251);
    int mode = encrypting ? Cipher.ENCRYPT_MODE : Cipher.DECRYPT_MODE;
    for (int i = 0; i < CASES; i++) {
      byte[] key = bytes(r, 16 + 8 * r.nextInt(3));
      byte[] iv = bytes(r, 16);
      byte[] input = bytes(r, length(r));
      AesCfb cfb = encrypting ? AesCfb.encryptor(key, iv) : AesCfb.decryptor(key, iv);
      assertThat(run(cfb, input, r, i % 3 == 0)).as("case %d: %d bytes", i, input.length)
          .isEqualTo(jce(mode, key, iv, input));
    }
  }

  private static byte[] bytes(SplittableRandom r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }
}
