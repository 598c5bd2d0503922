package io.mkebackup.common.cluster;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.Set;
import java.util.logging.Logger;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.RSAPrivateKey;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * The secret every manager of one backup cluster holds and an outsider does not; every key that
 * admits a member (see {@link ClusterTrust}) is derived from it. On an MKE manager it is MKE's
 * cluster root CA key, which every manager already holds; elsewhere a file the operator puts on
 * every manager. Its bytes never leave this type but into the derivation; {@link #toString()}
 * hides them.
 */
public final class ClusterSecret {
  private static final Logger LOG = Logger.getLogger(ClusterSecret.class.getName());
  /** A secret file shorter than this (after trailing white space) is refused as guessable. */
  public static final int MIN_FILE_BYTES = 32;
  /** Larger than any secret or PEM key: a bigger file is not what it should be. */
  static final int MAX_BYTES = 64 * 1024;

  private final byte[] bytes;
  private final String source;

  private ClusterSecret(byte[] bytes, String source) {
    this.bytes = bytes;
    this.source = source;
  }

  /**
   * The first {@link #MAX_BYTES} of a file, without trailing white space (so {@code echo} and
   * {@code echo -n} give the same secret), at least {@link #MIN_FILE_BYTES} long.
   *
   * @param field the configuration key or option naming the file, for errors
   */
  public static ClusterSecret fromFile(Path file, String field) {
    byte[] raw;
    try (InputStream in = Files.newInputStream(file)) {
      raw = in.readNBytes(MAX_BYTES + 1);
    } catch (IOException e) {
      throw BackupException.invalid(field, field + " " + file + " cannot be read (" + e.getClass().getSimpleName()
          + "); it must be a file holding the cluster's secret, the same on every manager");
    }
    if (raw.length > MAX_BYTES) {
      throw BackupException.invalid(field, field + " " + file + " is larger than " + MAX_BYTES / 1024
          + " KiB; it must hold only the cluster's secret");
    }
    int end = raw.length;
    while (end > 0 && (raw[end - 1] == '\n' || raw[end - 1] == '\r' || raw[end - 1] == ' ' || raw[end - 1] == '\t')) {
      end--;
    }
    byte[] secret = Arrays.copyOf(raw, end);
    Arrays.fill(raw, (byte) 0);
    if (secret.length < MIN_FILE_BYTES) {
      Arrays.fill(secret, (byte) 0);
      throw BackupException.invalid(field, field + " " + file + " holds " + end + " bytes; the cluster's secret needs"
          + " at least " + MIN_FILE_BYTES + " random bytes: make one with 'head -c 32 /dev/urandom | base64 > FILE;"
          + " chmod 600 FILE' and copy it to every manager");
    }
    warnIfOthersMayRead(file, field);
    return new ClusterSecret(secret, field + " " + file);
  }

  private static void warnIfOthersMayRead(Path file, String field) {
    try {
      Set<PosixFilePermission> p = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
      if (p.contains(PosixFilePermission.OTHERS_READ) || p.contains(PosixFilePermission.GROUP_READ)) {
        LOG.warning(field + " " + file + " may be read by other users of this host; whoever reads it can join the"
            + " backup cluster: chmod 600 it (in a Swarm stack, give the secret mode 0400)");
      }
    } catch (IOException | UnsupportedOperationException e) {
      // not a POSIX file system: nothing to check
    }
  }

  /**
   * The secret MKE's managers share: the private key of MKE's cluster root CA (the PEM
   * {@code key.pem} of the {@code ucp-cluster-root-ca} volume). The key itself, not its file's
   * bytes, is what counts, so a manager whose copy is PEM-encoded differently derives the same.
   *
   * @param source where the key was read, for the log (no key material)
   */
  public static ClusterSecret fromRootCaKey(byte[] pem, String source) {
    try (PemReader reader = new PemReader(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      PemObject o = reader.readPemObject();
      if (o == null) {
        throw new IOException("no PEM object in it");
      }
      ASN1Encodable key = switch (o.getType()) {
        case "PRIVATE KEY" -> PrivateKeyInfo.getInstance(o.getContent()).parsePrivateKey();
        case "EC PRIVATE KEY" -> org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(o.getContent());
        case "RSA PRIVATE KEY" -> RSAPrivateKey.getInstance(o.getContent());
        default -> throw new IOException("a " + o.getType() + ", not a private key");
      };
      // The key's own numbers, so one key PEM-encoded as PKCS#8 or traditionally gives one secret.
      ASN1Sequence seq = ASN1Sequence.getInstance(key);
      if (seq.size() > 1 && seq.getObjectAt(1) instanceof ASN1OctetString) {
        return new ClusterSecret(concat("EC", org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(seq).getKey()), source);
      }
      RSAPrivateKey rsa = RSAPrivateKey.getInstance(seq);
      return new ClusterSecret(concat("RSA", rsa.getModulus(), rsa.getPrivateExponent()), source);
    } catch (IOException | RuntimeException e) {
      throw new BackupException(ErrorCode.INTERNAL, "cannot read the private key in " + source + " ("
          + e.getClass().getSimpleName() + "); set clusterSecretFile instead", null);
    }
  }

  private static byte[] concat(String algorithm, BigInteger... parts) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.writeBytes(("mke-backup: MKE cluster root CA key " + algorithm).getBytes(StandardCharsets.UTF_8));
    for (BigInteger p : parts) {
      byte[] b = p.toByteArray();
      out.write(b.length >>> 8);
      out.write(b.length);
      out.writeBytes(b);
    }
    return out.toByteArray();
  }

  /** For tests and tools that hold the secret already. */
  public static ClusterSecret of(byte[] secret, String source) {
    return new ClusterSecret(secret.clone(), source);
  }

  /** Where it came from, to log: never its content. */
  public String source() {
    return source;
  }

  byte[] bytes() {
    return bytes;
  }

  @Override
  public String toString() {
    return "ClusterSecret[" + source + ", hidden]";
  }
}
