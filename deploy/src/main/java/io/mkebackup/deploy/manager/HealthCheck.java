package io.mkebackup.deploy.manager;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * The image's healthcheck: healthy once this container's manager accepts connections on its HTTPS
 * port. The manager opens that port last, after it has joined the cluster, so a Swarm rolling
 * update that waits for a healthy task replaces the next manager only after this one is in the
 * cluster. A plain class with its own {@code main} (no picocli, no TLS): a healthcheck starts a JVM
 * every interval, so it loads as little as it can.
 */
public final class HealthCheck {
  private HealthCheck() {}

  public static void main(String[] args) {
    String bind = System.getenv().getOrDefault("MKE_BACKUP_BIND_ADDRESS", "auto");
    String host = bind.isEmpty() || Manager.AUTO.equals(bind) || "0.0.0.0".equals(bind) ? "127.0.0.1" : bind;
    int port;
    try {
      port = Integer.parseInt(System.getenv().getOrDefault("MKE_BACKUP_HTTPS_PORT", "8443"));
    } catch (NumberFormatException e) {
      System.err.println("unhealthy: MKE_BACKUP_HTTPS_PORT is not a number");
      System.exit(2);
      return;
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 5_000);
    } catch (IOException e) {
      System.err.println("unhealthy: nothing accepts on " + host + ":" + port + " (" + e.getMessage() + ")");
      System.exit(1);
    }
  }
}
