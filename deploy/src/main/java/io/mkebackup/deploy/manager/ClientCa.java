package io.mkebackup.deploy.manager;

import io.mkebackup.common.BackupException;
import io.mkebackup.gateway.auth.ClientCertificates;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.source.DockerEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.logging.Logger;

/**
 * The CA whose client certificates (MKE client bundles) authenticate users: by default MKE's own
 * client root CA, read from the {@code ucp-client-root-ca} volume through the Docker API once at
 * start; or the PEM file {@code clientCaCert} names; or none.
 */
final class ClientCa {
  private static final Logger LOG = Logger.getLogger(ClientCa.class.getName());
  static final String VOLUME = "ucp-client-root-ca";

  private ClientCa() {}

  static List<X509Certificate> load(ManagerConfig config) {
    String value = config.clientCaCert();
    if ("none".equals(value)) {
      return List.of();
    }
    if (!ManagerConfig.AUTO.equals(value)) {
      try {
        return parse(Files.readAllBytes(Path.of(value)), "clientCaCert " + value);
      } catch (IOException | IllegalArgumentException e) {
        throw BackupException.invalid("clientCaCert", "clientCaCert " + value + " cannot be read as PEM certificates ("
            + e.getMessage() + ")");
      }
    }
    String volume = config.volumePrefix() + VOLUME;
    try (DockerEngine docker = DockerEngine.connect(config.dockerHost())) {
      byte[] pem = docker.readVolumeFiles(BackupConfig.DEFAULT_HELPER_IMAGE, volume, List.of("cert.pem"), 64 * 1024)
          .get("cert.pem");
      if (pem == null) {
        throw new IllegalStateException(volume + " has no cert.pem");
      }
      List<X509Certificate> cas = parse(pem, volume + "/cert.pem");
      LOG.info("client bundles of " + cas.get(0).getSubjectX500Principal().getName() + " (" + volume
          + ") authenticate their users");
      return cas;
    } catch (RuntimeException e) {
      // Tokens still work; say plainly why bundles do not.
      LOG.warning("client bundles are not accepted: MKE's client root CA could not be read from " + volume + " ("
          + e.getMessage() + "); set clientCaCert to its certificate, or none");
      return List.of();
    }
  }

  private static List<X509Certificate> parse(byte[] pem, String what) {
    List<X509Certificate> cas = ClientCertificates.parsePem(pem);
    if (cas.isEmpty()) {
      throw new IllegalArgumentException(what + " holds no certificate");
    }
    return cas;
  }
}
