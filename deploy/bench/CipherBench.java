import io.mkebackup.worker.pipeline.openpgp.AesCfb;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.Provider;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Benchmark (not a test): AES-256-CFB on one thread, 1 MiB calls, as the OpenPGP streams make
 * them: the JCE's own CFB against AesCfb (CBC route encrypting, ECB route decrypting), and, when
 * its jar is given as the first argument, Bouncy Castle LTS's provider (native CFB where it loads
 * its native library). SHA-1 (the MDC) and SHA-256 (the metadata) for scale. Prints the median
 * of 5 passes over MB (default 400) for each.
 */
public class CipherBench {
  interface Op {
    void run(byte[] in, byte[] out, int len) throws Exception;
  }

  static final int CALL = 1 << 20;
  static long total = Long.getLong("mb", 400) << 20;

  static void time(String name, Op op) throws Exception {
    byte[] in = new byte[CALL];
    new Random(1).nextBytes(in);
    byte[] out = new byte[CALL];
    for (long done = 0; done < total / 4; done += CALL) {
      op.run(in, out, CALL); // reach C2 before measuring
    }
    List<Double> rates = new ArrayList<>();
    for (int pass = 0; pass < 5; pass++) {
      long t0 = System.nanoTime();
      for (long done = 0; done < total; done += CALL) {
        op.run(in, out, CALL);
      }
      rates.add(total / ((System.nanoTime() - t0) / 1e9) / 1e6);
    }
    Collections.sort(rates);
    System.out.printf("%-52s %7.0f MB/s  (min %.0f, max %.0f)%n", name, rates.get(2), rates.get(0), rates.get(4));
  }

  static Cipher cfb(int mode, Provider provider, byte[] key) throws Exception {
    Cipher c = provider == null ? Cipher.getInstance("AES/CFB/NoPadding")
        : Cipher.getInstance("AES/CFB/NoPadding", provider);
    c.init(mode, new SecretKeySpec(key, "AES"), new IvParameterSpec(new byte[16]));
    return c;
  }

  public static void main(String[] args) throws Exception {
    byte[] key = new byte[32];
    new Random(2).nextBytes(key);
    System.out.printf("AES-256-CFB, one thread, %d MB per pass, 1 MiB calls, %s%n", total >> 20,
        System.getProperty("java.vm.version"));
    Cipher jceEnc = cfb(Cipher.ENCRYPT_MODE, null, key);
    time("JCE AES/CFB/NoPadding, encrypt", (i, o, n) -> jceEnc.update(i, 0, n, o, 0));
    AesCfb.warmUp(true);
    AesCfb enc = AesCfb.encryptor(key, new byte[16]);
    time("AesCfb (JCE AES/CBC stub), encrypt", (i, o, n) -> enc.update(i, 0, n, o, 0));
    Cipher jceDec = cfb(Cipher.DECRYPT_MODE, null, key);
    time("JCE AES/CFB/NoPadding, decrypt", (i, o, n) -> jceDec.update(i, 0, n, o, 0));
    AesCfb.warmUp(false);
    AesCfb dec = AesCfb.decryptor(key, new byte[16]);
    time("AesCfb (JCE AES/ECB stub), decrypt", (i, o, n) -> dec.update(i, 0, n, o, 0));
    if (args.length > 0) {
      // Its own class loader: the application jar holds the regular Bouncy Castle provider.
      ClassLoader lts = new URLClassLoader(new URL[] {Path.of(args[0]).toUri().toURL()}, null);
      Provider bc = (Provider) lts.loadClass("org.bouncycastle.jce.provider.BouncyCastleProvider")
          .getDeclaredConstructor().newInstance();
      String nativeInfo;
      try {
        Object services = lts.loadClass("org.bouncycastle.crypto.CryptoServicesRegistrar")
            .getMethod("getNativeServices").invoke(null);
        Class<?> ns = lts.loadClass("org.bouncycastle.crypto.NativeServices");
        nativeInfo = ns.getMethod("getStatusMessage").invoke(services) + ", variant "
            + ns.getMethod("getVariant").invoke(services);
      } catch (ReflectiveOperationException e) {
        nativeInfo = "native status unknown";
      }
      System.out.println("Bouncy Castle LTS " + bc.getVersionStr() + ": " + nativeInfo);
      Cipher bcEnc = cfb(Cipher.ENCRYPT_MODE, bc, key);
      time("Bouncy Castle LTS AES/CFB/NoPadding, encrypt", (i, o, n) -> bcEnc.update(i, 0, n, o, 0));
      Cipher bcDec = cfb(Cipher.DECRYPT_MODE, bc, key);
      time("Bouncy Castle LTS AES/CFB/NoPadding, decrypt", (i, o, n) -> bcDec.update(i, 0, n, o, 0));
    }
    MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
    time("SHA-1 (the MDC)", (i, o, n) -> sha1.update(i, 0, n));
    MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
    time("SHA-256 (file hashes)", (i, o, n) -> sha256.update(i, 0, n));
  }
}
