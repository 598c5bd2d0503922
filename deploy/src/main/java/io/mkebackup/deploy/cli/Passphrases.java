package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.Passphrase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Turns a {@code --passphrase} value into a {@link Passphrase}; "-" reads one line from stdin. */
final class Passphrases {
  private Passphrases() {}

  /**
   * Exactly one of {@code --passphrase} and {@code --no-passphrase}, else a usage error.
   *
   * @param whenMissing what to say when neither is given
   */
  static void requireOne(String passphrase, boolean noPassphrase, String whenMissing) {
    if (passphrase != null && noPassphrase) {
      throw BackupException.invalid("--passphrase", "--passphrase and --no-passphrase exclude each other; give one");
    }
    if (passphrase == null && !noPassphrase) {
      throw BackupException.invalid("--passphrase", whenMissing);
    }
  }

  static Passphrase fromOption(String value, InputStream stdin) {
    if (!"-".equals(value)) {
      return Passphrase.of(value, "--passphrase");
    }
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    try {
      for (int b = stdin.read(); b >= 0 && b != '\n'; b = stdin.read()) {
        line.write(b);
      }
    } catch (IOException e) {
      throw BackupException.invalid("--passphrase", "--passphrase -: reading standard input failed: " + e.getMessage());
    }
    byte[] bytes = line.toByteArray();
    int n = bytes.length;
    if (n > 0 && bytes[n - 1] == '\r') {
      n--;
    }
    String text = new String(bytes, 0, n, StandardCharsets.UTF_8);
    Arrays.fill(bytes, (byte) 0);
    return Passphrase.of(text, "--passphrase");
  }
}
