package io.mkebackup.gateway;

import io.mkebackup.gateway.auth.UserAccount;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What the api-gateway verticle needs, built once by the launcher from the manager's configuration.
 *
 * @param tlsCert the operator's PEM certificate, or null to generate a self-signed one in dataDir
 * @param allowedRoots backup directories must lie under one of these after resolving links
 * @param defaultBackupDir where a backup goes when the request has no hostPath
 */
public record GatewayConfig(
    String nodeName,
    String bindHost,
    int httpsPort,
    Path tlsCert,
    Path tlsKey,
    Path dataDir,
    List<Path> allowedRoots,
    Path defaultBackupDir,
    Duration tokenTtl,
    List<UserAccount> users) {

  public GatewayConfig {
    Objects.requireNonNull(nodeName);
    Objects.requireNonNull(bindHost);
    Objects.requireNonNull(dataDir);
    allowedRoots = List.copyOf(allowedRoots);
    Objects.requireNonNull(defaultBackupDir);
    Objects.requireNonNull(tokenTtl);
    users = List.copyOf(users);
  }
}
