package io.mkebackup.deploy.manager;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The Swarm stack's healthcheck, run in the manager's container. Swarm lists a task under
 * {@code tasks.<service>} only once it is healthy, and a rolling update replaces the next task only
 * then, so healthy must mean "counted in the cluster":
 * <ul>
 *   <li>until it has once been healthy, a task is healthy when its cluster check ({@code /_ready})
 *       sees a majority of the managers, or when no other task is there to join (none is listed:
 *       the tasks of a fresh deploy, which then find each other through the name);
 *   <li>after that, it stays healthy while its API accepts connections: a manager cut off from the
 *       others answers 503 NO_MAJORITY and must not be restarted for it.
 * </ul>
 * A plain class with its own {@code main} (no picocli): Docker starts a JVM for every check.
 */
public final class HealthCheck {
  /** In the container's own /tmp: a new task (a new container) starts without it. */
  static final Path ONCE = Path.of("/tmp/mke-backup-healthy-once");
  private static final Pattern CLUSTER = Pattern.compile("\"cluster\"\\s*:\\s*\\{([^{}]*)\\}");

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
    String verdict = verdict(host, port, Files.exists(ONCE),
        Arrays.stream(System.getenv().getOrDefault("MKE_BACKUP_CLUSTER_MEMBERS", "").split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).toList());
    if (verdict != null) {
      System.err.println("unhealthy: " + verdict);
      System.exit(1);
    }
    try {
      Files.createFile(ONCE);
    } catch (IOException e) {
      // there already, or /tmp read-only: the next check asks the cluster again
    }
  }

  /** Null when healthy, else why not. */
  static String verdict(String host, int port, boolean wasHealthy, List<String> members) {
    if (wasHealthy) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(host, port), 5_000);
        return null;
      } catch (IOException e) {
        return "nothing accepts on " + host + ":" + port + " (" + e.getMessage() + ")";
      }
    }
    String cluster;
    try {
      cluster = clusterCheck(host, port);
    } catch (IOException e) {
      return "no readiness report from " + host + ":" + port + " (" + e.getMessage() + ")";
    }
    if (cluster.matches("(?s).*\"ok\"\\s*:\\s*true.*")) {
      return null;
    }
    List<String> others = others(members);
    return others.isEmpty() ? null : "not in a majority yet (" + cluster.strip() + "); other tasks to join: " + others;
  }

  /** The cluster check of this manager's own readiness report, read over HTTPS on loopback. */
  static String clusterCheck(String host, int port) throws IOException {
    HttpsURLConnection c = (HttpsURLConnection) new URL("https://" + host + ":" + port + "/_ready").openConnection();
    // This container asking its own manager over loopback: no credential is sent and only one
    // boolean is read, so the certificate (made for the node's address) is not checked.
    c.setSSLSocketFactory(trustingLoopback().getSocketFactory());
    c.setHostnameVerifier((h, s) -> true);
    c.setConnectTimeout(5_000);
    c.setReadTimeout(5_000);
    int status = c.getResponseCode();
    try (InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
      String body = in == null ? "" : new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
      Matcher m = CLUSTER.matcher(body);
      if (!m.find()) {
        throw new IOException("HTTP " + status + " without a cluster check");
      }
      return m.group(1);
    }
  }

  /** The members' addresses now (names resolved; a name that resolves to nothing adds nothing), less this container's own. */
  static List<String> others(List<String> members) {
    Set<String> own = new HashSet<>();
    try {
      for (NetworkInterface i : java.util.Collections.list(NetworkInterface.getNetworkInterfaces())) {
        for (InetAddress a : java.util.Collections.list(i.getInetAddresses())) {
          own.add(a.getHostAddress());
        }
      }
    } catch (IOException e) {
      // none known: every listed address counts as another task
    }
    List<String> out = new ArrayList<>();
    for (String m : members) {
      int colon = m.lastIndexOf(':');
      String name = colon < 0 || m.endsWith("]") ? m : m.substring(0, colon);
      name = name.startsWith("[") && name.endsWith("]") ? name.substring(1, name.length() - 1) : name;
      try {
        for (InetAddress a : InetAddress.getAllByName(name)) {
          if (!own.contains(a.getHostAddress())) {
            out.add(a.getHostAddress());
          }
        }
      } catch (java.net.UnknownHostException e) {
        // no task under that name now
      }
    }
    return out;
  }

  private static SSLContext trustingLoopback() throws IOException {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, null);
      return ctx;
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException(e);
    }
  }
}
