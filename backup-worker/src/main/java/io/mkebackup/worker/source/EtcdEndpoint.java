package io.mkebackup.worker.source;

import java.nio.file.Path;
import java.time.Duration;

/**
 * One etcd member to snapshot (a snapshot is one member's point-in-time state, so exactly one).
 * The TLS files are null for plain HTTP. The URL {@link #AUTO} stands for "find ucp-kv through
 * the Docker API when needed" (see {@link EtcdDiscovery}), which yields an endpoint whose TLS
 * material is in {@link #pem} (read from the ucp-kv-certs volume) and whose {@link #authority} is
 * the name its certificate is checked against.
 *
 * @param pem TLS material held in memory, used instead of the files when not null
 * @param authority the server name to verify etcd's certificate against instead of the URL's host
 *     (null: the URL's host)
 */
public record EtcdEndpoint(String url, Path caCert, Path clientCert, Path clientKey, Duration timeout, Pem pem,
    String authority) {
  public static final String AUTO = "auto";
  /**
   * How long one etcd call (the status, a key read) may take. 30 s, not less: a loaded manager
   * (seen on the Swarm lab at load 20) took more than 10 s to connect and answer, and a
   * refused connection still fails at once.
   */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  public EtcdEndpoint(String url, Path caCert, Path clientCert, Path clientKey, Duration timeout) {
    this(url, caCert, clientCert, clientKey, timeout, null, null);
  }

  public static EtcdEndpoint plain(String url) {
    return new EtcdEndpoint(url, null, null, null, DEFAULT_TIMEOUT);
  }

  /**
   * A configured time-out in seconds, checked: 1 to 600, the error naming {@code field} (as
   * {@code named} in its text).
   */
  public static Duration timeout(long seconds, String field, String named) {
    if (seconds < 1 || seconds > 600) {
      throw io.mkebackup.common.BackupException.invalid(field, named + " must be a number of seconds from 1 to 600, not "
          + seconds);
    }
    return Duration.ofSeconds(seconds);
  }

  /** This endpoint with another time-out, everything else the same. */
  public EtcdEndpoint withTimeout(Duration other) {
    return new EtcdEndpoint(url, caCert, clientCert, clientKey, other, pem, authority);
  }

  public static EtcdEndpoint auto() {
    return plain(AUTO);
  }

  public boolean isAuto() {
    return AUTO.equalsIgnoreCase(url);
  }

  /** PEM bytes of etcd's CA and of a client certificate and its key; {@link #toString()} hides the key. */
  public record Pem(byte[] caCert, byte[] clientCert, byte[] clientKey) {
    @Override
    public String toString() {
      return "Pem[ca and client certificate, key hidden]";
    }
  }
}
