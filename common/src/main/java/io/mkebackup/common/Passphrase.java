package io.mkebackup.common;

import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An encryption passphrase. It only leaves this type as UTF-8 bytes for key derivation;
 * {@link #toString()} hides it so it cannot reach a log line or an exception by accident.
 */
public final class Passphrase implements AutoCloseable {
  public static final int MIN_LENGTH = 12;

  private final char[] chars;

  private Passphrase(char[] chars) {
    this.chars = chars;
  }

  /**
   * Checks the length rule and wraps a copy.
   *
   * @param field the request field or option name to name in the error
   */
  public static Passphrase of(CharSequence value, String field) {
    if (value == null || value.length() == 0) {
      throw BackupException.invalid(field, field + " is empty; give a passphrase of at least "
          + MIN_LENGTH + " characters, or ask for no passphrase explicitly");
    }
    int length = value.toString().codePointCount(0, value.length());
    if (length < MIN_LENGTH) {
      throw BackupException.invalid(field, field + " is too short (" + length
          + " characters); it needs at least " + MIN_LENGTH);
    }
    char[] copy = new char[value.length()];
    for (int i = 0; i < copy.length; i++) {
      copy[i] = value.charAt(i);
    }
    return new Passphrase(copy);
  }

  /**
   * The first line of a file (a Docker secret, say), checked like {@link #of}. The error names the
   * file, never its content.
   */
  public static Passphrase fromFile(java.nio.file.Path file, String field) {
    String text;
    try {
      text = java.nio.file.Files.readString(file, StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw BackupException.invalid(field, field + " " + file + " cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    int nl = text.indexOf('\n');
    return of((nl < 0 ? text : text.substring(0, nl)).replace("\r", ""), field);
  }

  /** UTF-8 bytes of the passphrase, as GnuPG hashes them; the caller should wipe the array. */
  public byte[] utf8() {
    var encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(chars));
    byte[] out = new byte[encoded.remaining()];
    encoded.get(out);
    if (encoded.hasArray()) {
      Arrays.fill(encoded.array(), (byte) 0);
    }
    return out;
  }

  /** A copy of the characters, for libraries that take char[]; the caller should wipe it. */
  public char[] chars() {
    return chars.clone();
  }

  @Override
  public void close() {
    Arrays.fill(chars, '\0');
  }

  @Override
  public String toString() {
    return "Passphrase[hidden]";
  }
}
