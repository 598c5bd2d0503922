package io.mkebackup.worker.pipeline.openpgp;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.bouncycastle.openpgp.PGPCompressedData;
import org.bouncycastle.openpgp.PGPDataValidationException;
import org.bouncycastle.openpgp.PGPEncryptedDataList;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPPBEEncryptedData;
import org.bouncycastle.openpgp.jcajce.JcaPGPObjectFactory;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEDataDecryptorFactoryBuilder;

/**
 * Opens archives for reading: tells an OpenPGP message from a plain tar by its first octet, and
 * decrypts the former, refusing messages without an integrity packet and checking that packet
 * when the data ends. The messages mke-backup and {@code gpg --symmetric} write go through
 * {@link PgpMessageReader}; anything else through Bouncy Castle's reader.
 */
public final class PgpDecryption {
  private PgpDecryption() {}

  /** True when the stream (which must support mark) starts with an OpenPGP packet, not a tar header. */
  public static boolean isOpenPgp(InputStream in) throws IOException {
    in.mark(1);
    int first = in.read();
    in.reset();
    // Every OpenPGP packet header has bit 7 set; a tar starts with a file name.
    return first >= 0 && (first & 0x80) != 0;
  }

  /** The first line of an ASCII-armored OpenPGP message (RFC 4880 6.2). */
  private static final byte[] ARMOR = "-----BEGIN PGP MESSAGE-----".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /**
   * The stream with ASCII armor taken off ({@code gpg --armor} writes it): the binary message,
   * decoded as it is read (the armor's CRC is checked at its end), or the stream itself when it
   * is not armored. Both support mark.
   */
  public static InputStream dearmored(InputStream raw) throws IOException {
    InputStream in = raw.markSupported() ? raw : new BufferedInputStream(raw, 1 << 16);
    if (!isArmored(in)) {
      return in;
    }
    return new BufferedInputStream(new org.bouncycastle.bcpg.ArmoredInputStream(in), 1 << 16);
  }

  /** True when the stream (which must support mark) starts with an ASCII armor header line. */
  public static boolean isArmored(InputStream in) throws IOException {
    in.mark(ARMOR.length);
    byte[] start = in.readNBytes(ARMOR.length);
    in.reset();
    return Arrays.equals(start, ARMOR);
  }

  /**
   * The symmetric cipher of the passphrase-encrypted (v4 session packet) message the stream
   * starts with, such as "AES-128", or null when it starts otherwise; the stream (which must
   * support mark) is left at its start.
   */
  public static String cipher(InputStream in) throws IOException {
    in.mark(1 << 12);
    try {
      PacketHeader session = PacketHeader.read(in);
      if (session == null || session.tag() != PacketHeader.SKESK || session.partial() || session.indeterminate()
          || session.length() < 2) {
        return null;
      }
      int version = in.read();
      int algorithm = in.read();
      return version == 4 && algorithm >= 0 ? cipherName(algorithm) : null;
    } catch (BackupException notAPacket) {
      return null;
    } finally {
      in.reset();
    }
  }

  /** RFC 4880 9.2's symmetric-key algorithm ids, named. */
  static String cipherName(int id) {
    return switch (id) {
      case 0 -> "none";
      case 1 -> "IDEA";
      case 2 -> "TripleDES";
      case 3 -> "CAST5";
      case 4 -> "Blowfish";
      case 7 -> "AES-128";
      case 8 -> "AES-192";
      case 9 -> "AES-256";
      case 10 -> "Twofish";
      case 11 -> "Camellia-128";
      case 12 -> "Camellia-192";
      case 13 -> "Camellia-256";
      default -> "algorithm " + id;
    };
  }

  /**
   * The plaintext of an archive: decrypted when it is an OpenPGP message, else the stream itself.
   * Reading it to its end proves the OpenPGP integrity packet; a mismatch throws ARCHIVE_CORRUPT.
   *
   * @param passphrase null when none was given; an encrypted archive then fails with a clear error
   * @param field the option or field that carries the passphrase, for error messages
   */
  public static InputStream open(InputStream raw, Passphrase passphrase, String field) throws IOException {
    InputStream in = raw.markSupported() ? raw : new BufferedInputStream(raw, 1 << 16);
    if (!isOpenPgp(in)) {
      return in;
    }
    if (passphrase == null) {
      throw BackupException.invalid(field, "the archive is encrypted; give its passphrase with " + field);
    }
    String cipher = cipher(in);
    if (cipher != null && !cipher.startsWith("AES-")) {
      // Bouncy Castle's reader would fail on it with a message that reads like damage.
      throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "unsupported cipher " + cipher + ": mke-backup reads"
          + " archives encrypted with AES (what it and gpg --symmetric write); decrypt this one with gpg --decrypt");
    }
    InputStream fast = PgpMessageReader.open(in, passphrase, field);
    return fast != null ? fast : openWithBouncyCastle(in, passphrase, field);
  }

  /** Bouncy Castle's reader, for messages PgpMessageReader leaves to it; {@code in} supports mark. */
  static InputStream openWithBouncyCastle(InputStream in, Passphrase passphrase, String field) throws IOException {
    try {
      Object first = new JcaPGPObjectFactory(in).nextObject();
      if (!(first instanceof PGPEncryptedDataList list) || list.size() == 0
          || !(list.get(0) instanceof PGPPBEEncryptedData pbe)) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT,
            "the archive is an OpenPGP message but not passphrase-encrypted data");
      }
      if (!pbe.isIntegrityProtected()) {
        throw noIntegrityPacket();
      }
      char[] chars = passphrase.chars();
      InputStream clear;
      try {
        clear = pbe.getDataStream(new JcePBEDataDecryptorFactoryBuilder(
            new JcaPGPDigestCalculatorProviderBuilder().build()).build(chars));
      } finally {
        Arrays.fill(chars, '\0');
      }
      Object inner = new JcaPGPObjectFactory(clear).nextObject();
      if (inner instanceof PGPCompressedData compressed) {
        inner = new JcaPGPObjectFactory(compressed.getDataStream()).nextObject();
      }
      if (!(inner instanceof PGPLiteralData literal)) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT,
            "the decrypted archive holds no literal data packet");
      }
      return new IntegrityCheckingStream(literal.getInputStream(), pbe);
    } catch (PGPDataValidationException e) {
      throw wrongPassphrase(field);
    } catch (PGPException e) {
      throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "the archive's OpenPGP packets are damaged: "
          + e.getMessage(), e);
    } catch (EOFException e) {
      throw truncated(e);
    }
  }

  static BackupException wrongPassphrase(String field) {
    return new BackupException(ErrorCode.WRONG_PASSPHRASE, field,
        "the passphrase does not decrypt this archive (" + field + " is wrong)", null);
  }

  static BackupException noIntegrityPacket() {
    return new BackupException(ErrorCode.ARCHIVE_CORRUPT,
        "the archive has no OpenPGP integrity packet, so tampering could not be detected; refusing it");
  }

  static BackupException truncated(Throwable cause) {
    return new BackupException(ErrorCode.ARCHIVE_INCOMPLETE,
        "the archive ends too early: it was cut short (an interrupted copy or backup?)", cause);
  }

  /** Checks the MDC once the literal data has been read to its end. */
  private static final class IntegrityCheckingStream extends FilterInputStream {
    private final PGPPBEEncryptedData pbe;
    private boolean checked;

    IntegrityCheckingStream(InputStream in, PGPPBEEncryptedData pbe) {
      super(in);
      this.pbe = pbe;
    }

    @Override
    public int read() throws IOException {
      int b = guard(() -> super.read());
      if (b < 0) {
        check();
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = guard(() -> super.read(b, off, len));
      if (n < 0) {
        check();
      }
      return n;
    }

    private interface Read {
      int run() throws IOException;
    }

    private static int guard(Read read) throws IOException {
      try {
        return read.run();
      } catch (EOFException e) {
        throw truncated(e);
      } catch (IOException e) {
        if (e.getMessage() != null && e.getMessage().toLowerCase().contains("premature end")) {
          throw truncated(e);
        }
        throw e;
      }
    }

    private void check() throws IOException {
      if (checked) {
        return;
      }
      checked = true;
      try {
        if (!pbe.verify()) {
          throw new BackupException(ErrorCode.ARCHIVE_CORRUPT,
              "the archive failed its OpenPGP integrity check: its bytes were changed after it was written");
        }
      } catch (PGPException e) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT,
            "the archive failed its OpenPGP integrity check: " + e.getMessage(), e);
      } catch (EOFException e) {
        throw truncated(e);
      }
    }

    @Override
    public boolean markSupported() {
      return false;
    }
  }
}
