package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** The stock tools users check backups with: GnuPG, GNU tar, etcdctl. */
final class Tools {
  private Tools() {}

  record Out(int exit, String text) {}

  /** Runs a shell pipeline; output (both streams) goes to a file, never into memory whole. */
  static Out sh(String script) throws IOException, InterruptedException {
    File out = File.createTempFile("sh-", ".txt");
    Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c", script).redirectErrorStream(true)
        .redirectOutput(out).start();
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).as(script).isTrue();
    String text = Files.readString(out.toPath(), StandardCharsets.UTF_8);
    out.delete();
    return new Out(p.exitValue(), text);
  }

  record Run(int exit, String stdout, String stderr) {}

  /** As {@link #sh}, with standard output and error apart, to check each on its own. */
  static Run run(String script) throws IOException, InterruptedException {
    File out = File.createTempFile("sh-", ".out");
    File err = File.createTempFile("sh-", ".err");
    try {
      Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c", script).redirectOutput(out).redirectError(err)
          .start();
      assertThat(p.waitFor(10, TimeUnit.MINUTES)).as(script).isTrue();
      return new Run(p.exitValue(), Files.readString(out.toPath(), StandardCharsets.UTF_8),
          Files.readString(err.toPath(), StandardCharsets.UTF_8));
    } finally {
      out.delete();
      err.delete();
    }
  }

  /**
   * The last transaction the demo's auth store writer committed, read with the sqlite3 in its
   * container; -1 when it cannot be read.
   *
   * @param exec what runs a program in that container: {@code docker exec <container>}, or the same
   *     through a lab node's engine
   */
  static long lastAuthStoreTxn(String exec) throws IOException, InterruptedException {
    Out o = sh(exec + " /usr/bin/sqlite3 /var/lib/docker/ucp/ucp-auth-store-data/auth.db 'SELECT max(txn) FROM pairs;'");
    return o.exit() == 0 && o.text().strip().matches("[0-9]+") ? Long.parseLong(o.text().strip()) : -1;
  }

  /** The passphrase goes to gpg in a 0600 file, never on its command line (where ps shows it). */
  static String gpgDecrypt(Path archive, String passphrase, Path gnupgHome) throws IOException {
    Path file = Scratch.file("gpg-pass-", ".txt",
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, passphrase + "\n", StandardCharsets.UTF_8);
    return "gpg --batch --quiet --homedir " + gnupgHome + " --pinentry-mode loopback --passphrase-file " + file
        + " --decrypt " + archive;
  }

  /** Files left in a directory, temporary ones included. */
  static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /**
   * Trusts any certificate: only for tests that check something other than the server's identity
   * (an image whose certificates are made inside it, a rogue client whose handshake must fail).
   */
  static final javax.net.ssl.X509TrustManager TRUST_ANY = new javax.net.ssl.X509TrustManager() {
    @Override
    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) {}

    @Override
    public java.security.cert.X509Certificate[] getAcceptedIssuers() {
      return new java.security.cert.X509Certificate[0];
    }
  };
}
