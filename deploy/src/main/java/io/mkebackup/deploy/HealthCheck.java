package io.mkebackup.deploy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The container's health probe (the stack's healthcheck; the image has no shell or curl): exit 0
 * when this container's manager answers {@code /_ready} with 200 on loopback, else 1. Swarm's
 * rolling update waits for a replaced task to be healthy before it replaces the next, so the
 * cluster never loses its majority to an update. It asks its own process over loopback only, sends
 * no credentials and reads only the status, so it checks no certificate.
 */
public final class HealthCheck {
  private HealthCheck() {}

  public static void main(String[] args) {
    String port = System.getenv().getOrDefault("MKE_BACKUP_HTTPS_PORT", "8443");
    int status;
    try {
      if (!port.matches("[0-9]{1,5}")) {
        throw new IllegalArgumentException("MKE_BACKUP_HTTPS_PORT");
      }
      SSLContext tls = SSLContext.getInstance("TLS");
      tls.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, null);
      SSLParameters params = new SSLParameters();
      params.setEndpointIdentificationAlgorithm(null);
      HttpClient http = HttpClient.newBuilder().sslContext(tls).sslParameters(params)
          .connectTimeout(Duration.ofSeconds(5)).build();
      status = http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/_ready"))
          .timeout(Duration.ofSeconds(15)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      System.out.println("not healthy: " + e.getClass().getSimpleName());
      System.exit(1);
      return;
    }
    System.out.println("/_ready: " + status);
    System.exit(status == 200 ? 0 : 1);
  }
}
