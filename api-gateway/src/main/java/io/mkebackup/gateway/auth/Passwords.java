package io.mkebackup.gateway.auth;

import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/** BCrypt password hashes (Bouncy Castle's OpenBSD-compatible implementation, $2y$). */
public final class Passwords {
  /** 2^10 rounds: about 60 ms a check here, slow enough against guessing, fast enough to log in. */
  public static final int COST = 10;
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Checked against when the user is unknown, so a wrong name costs as long as a wrong password. */
  private static final String DUMMY = hash("not-a-user-of-mke-backup".toCharArray());

  private Passwords() {}

  public static String hash(char[] password) {
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    return OpenBSDBCrypt.generate("2y", password, salt, COST);
  }

  public static boolean matches(String hash, char[] password) {
    try {
      return OpenBSDBCrypt.checkPassword(hash == null ? DUMMY : hash, password) && hash != null;
    } catch (IllegalArgumentException e) {
      return false;
    } finally {
      Arrays.fill(password, '\0');
    }
  }

  /** A password to print once for an operator: 24 characters from an unambiguous alphabet. */
  public static String generate() {
    String alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 24; i++) {
      b.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return b.toString();
  }
}
