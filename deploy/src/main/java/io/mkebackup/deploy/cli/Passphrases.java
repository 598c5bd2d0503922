package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.Passphrase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Turns {@code --passphrase} or {@code --passphrase-file} into a {@link Passphrase}; "-" reads one
 * line from stdin. A passphrase given on the command line is seen by every user of the machine
 * ({@code ps}, {@code /proc/<pid>/cmdline}): it still works, with a warning.
 */
final class Passphrases {
  static final String WARNING = "mke-backup: warning: --passphrase with a value shows it to every user of this"
      + " machine (ps, /proc/<pid>/cmdline); use --passphrase-file FILE, or --passphrase - to read it from stdin";

  private Passphrases() {}

  /**
   * Exactly one of {@code --passphrase}, {@code --passphrase-file} and {@code --no-passphrase}, else
   * a usage error.
   *
   * @param whenMissing what to say when none is given
   */
  static void requireOne(String passphrase, Path file, boolean noPassphrase, String whenMissing) {
    int given = (passphrase != null ? 1 : 0) + (file != null ? 1 : 0) + (noPassphrase ? 1 : 0);
    if (given > 1) {
      throw BackupException.invalid("--passphrase", "--passphrase, --passphrase-file and --no-passphrase exclude"
          + " each other; give one");
    }
    if (given == 0) {
      throw BackupException.invalid("--passphrase", whenMissing);
    }
  }

  /** Whether the passphrase comes from stdin. */
  static boolean fromStdin(String passphrase, Path file) {
    return "-".equals(passphrase) || file != null && "-".equals(file.toString());
  }

  /**
   * The passphrase from the option or the file (first line), or null when neither is given;
   * warns on {@code err} when the value was on the command line.
   */
  static Passphrase open(String passphrase, Path file, InputStream stdin, java.io.PrintWriter err) {
    if (file != null) {
      return "-".equals(file.toString()) ? fromOption("-", stdin) : Passphrase.fromFile(file, "--passphrase-file");
    }
    if (passphrase == null) {
      return null;
    }
    if (!"-".equals(passphrase)) {
      err.println(WARNING);
      err.flush();
    }
    return fromOption(passphrase, stdin);
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
