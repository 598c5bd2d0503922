package io.mkebackup.deploy.manager;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The image's healthcheck: healthy once this container's manager accepts connections on its HTTPS
 * port. The manager opens that port last, after it has joined the cluster, so a Swarm rolling
 * update that waits for a healthy task replaces the next manager only after this one is in the
 * cluster. A plain class with its own {@code main} (no picocli, no TLS): a healthcheck starts a JVM
 * every interval, so it loads as little as it can. The port and address are read as the manager
 * reads them: the environment, over the configuration file {@code MKE_BACKUP_CONFIG} names.
 */
public final class HealthCheck {
  private HealthCheck() {}

  /** Where the manager listens, or why that cannot be told. */
  record Target(String host, int port, String error) {}

  static Target target(Map<String, String> env) {
    // The file only when one is named: parsing JSON loads more than this check otherwise needs.
    Map<String, Object> file = Map.of();
    String config = env.getOrDefault("MKE_BACKUP_CONFIG", "");
    if (!config.isEmpty()) {
      try {
        file = new io.vertx.core.json.JsonObject(Files.readString(Path.of(config))).getMap();
      } catch (IOException | RuntimeException e) {
        return new Target(null, 0, "cannot read MKE_BACKUP_CONFIG " + config);
      }
    }
    String bind = nonEmpty(env.get("MKE_BACKUP_BIND_ADDRESS"), String.valueOf(file.getOrDefault("bindAddress", "auto")));
    String host = bind.isEmpty() || Manager.AUTO.equals(bind) || "0.0.0.0".equals(bind) ? "127.0.0.1" : bind;
    String port = nonEmpty(env.get("MKE_BACKUP_HTTPS_PORT"), String.valueOf(file.getOrDefault("httpsPort", "8443")));
    try {
      return new Target(host, Integer.parseInt(port), null);
    } catch (NumberFormatException e) {
      return new Target(null, 0, "httpsPort (MKE_BACKUP_HTTPS_PORT) is not a number");
    }
  }

  private static String nonEmpty(String value, String otherwise) {
    return value == null || value.isEmpty() ? otherwise : value;
  }

  public static void main(String[] args) {
    Target t = target(System.getenv());
    if (t.error() != null) {
      System.err.println("unhealthy: " + t.error());
      System.exit(2);
      return;
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(t.host(), t.port()), 5_000);
    } catch (IOException e) {
      System.err.println("unhealthy: nothing accepts on " + t.host() + ":" + t.port() + " (" + e.getMessage() + ")");
      System.exit(1);
    }
  }
}
