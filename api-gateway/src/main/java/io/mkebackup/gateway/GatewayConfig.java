package io.mkebackup.gateway;

import io.mkebackup.gateway.auth.UserAccount;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What the api-gateway verticle needs, built once by the launcher from the manager's configuration.
 *
 * @param allowedRoots backup directories must lie under one of these after resolving links
 * @param defaultBackupDir where a backup goes when the request has no hostPath
 * @param clientCas the CAs whose client certificates (MKE client bundles) authenticate their
 *     users; empty to accept tokens only
 * @param minEvery the shortest {@code @every} a schedule may have
 */
public record GatewayConfig(
    String nodeName,
    String bindHost,
    int httpsPort,
    List<Path> allowedRoots,
    Path defaultBackupDir,
    List<UserAccount> users,
    List<java.security.cert.X509Certificate> clientCas,
    java.time.Duration minEvery) {

  public GatewayConfig {
    Objects.requireNonNull(nodeName);
    Objects.requireNonNull(bindHost);
    allowedRoots = List.copyOf(allowedRoots);
    Objects.requireNonNull(defaultBackupDir);
    users = List.copyOf(users);
    clientCas = List.copyOf(clientCas);
    Objects.requireNonNull(minEvery);
  }
}
