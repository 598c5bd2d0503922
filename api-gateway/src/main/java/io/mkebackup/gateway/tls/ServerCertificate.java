package io.mkebackup.gateway.tls;

import io.mkebackup.common.io.AtomicWrite;
import io.mkebackup.common.tls.Certificates;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The gateway's HTTPS certificate: the operator's, or a self-signed one generated on first start
 * and kept in the data directory ({@code tls/server-cert.pem}, {@code tls/server-key.pem} 0600).
 */
public final class ServerCertificate {
  private ServerCertificate() {}

  /** PEM certificate and key paths. */
  public record Pem(Path cert, Path key, boolean generated) {}

  public static Pem ensure(Path operatorCert, Path operatorKey, Path dataDir, String nodeName, List<String> hosts)
      throws IOException {
    if (operatorCert != null || operatorKey != null) {
      if (operatorCert == null || operatorKey == null || !Files.isReadable(operatorCert) || !Files.isReadable(operatorKey)) {
        throw new IllegalArgumentException("tlsCert and tlsKey go together and must be readable PEM files (got "
            + operatorCert + ", " + operatorKey + ")");
      }
      return new Pem(operatorCert, operatorKey, false);
    }
    Path dir = dataDir.resolve("tls");
    Path cert = dir.resolve("server-cert.pem");
    Path key = dir.resolve("server-key.pem");
    if (Files.exists(cert) && Files.exists(key)) {
      return new Pem(cert, key, false);
    }
    Files.createDirectories(dir);
    Certificates.Issued issued = Certificates.selfSignedServer(nodeName, hosts);
    // The key first: a certificate on disk always has its key.
    AtomicWrite.write(key, issued.keyPem().getBytes(StandardCharsets.US_ASCII), AtomicWrite.PRIVATE);
    AtomicWrite.write(cert, issued.certPem().getBytes(StandardCharsets.US_ASCII),
        PosixFilePermissions.fromString("rw-r--r--"));
    return new Pem(cert, key, true);
  }
}
