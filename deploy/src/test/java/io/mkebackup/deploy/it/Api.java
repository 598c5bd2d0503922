package io.mkebackup.deploy.it;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A REST client of one manager over HTTPS, trusting exactly the managers' own self-signed
 * certificates (read from their data directories) or the ones they were given, with host-name
 * checking left on.
 */
final class Api {
  final String base;
  private final HttpClient http;

  record Response(int status, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }

    JsonArray array() {
      return new JsonArray(body);
    }
  }

  Api(int port, List<Path> dataDirs) {
    this("127.0.0.1", port, dataDirs);
  }

  Api(String host, int port, List<Path> dataDirs) {
    this.base = "https://" + host + ":" + port;
    this.http = HttpClient.newBuilder().sslContext(trusting(dataDirs)).connectTimeout(Duration.ofSeconds(10)).build();
  }

  static SSLContext trusting(List<Path> dataDirs) {
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      int i = 0;
      for (Path dir : dataDirs) {
        // A manager's data directory (its generated certificate), or a PEM certificate itself.
        Path pem = Files.isRegularFile(dir) ? dir : dir.resolve("tls/server-cert.pem");
        if (Files.exists(pem)) {
          try (InputStream in = Files.newInputStream(pem)) {
            ks.setCertificateEntry("manager-" + i++, cf.generateCertificate(in));
          }
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  String login(String user, String password) throws IOException, InterruptedException {
    Response r = post("/auth/login", new JsonObject().put("username", user).put("password", password).encode(), null);
    if (r.status() != 200) {
      throw new IllegalStateException("login failed: " + r);
    }
    return r.json().getString("auth_token");
  }

  Response post(String path, String body, String token) throws IOException, InterruptedException {
    return send("POST", path, body, token);
  }

  Response put(String path, String body, String token) throws IOException, InterruptedException {
    return send("PUT", path, body, token);
  }

  Response delete(String path, String token) throws IOException, InterruptedException {
    return send("DELETE", path, null, token);
  }

  Response get(String path, String token) throws IOException, InterruptedException {
    return send("GET", path, null, token);
  }

  private Response send(String method, String path, String body, String token) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Response(r.statusCode(), r.body());
  }

  /** The lines of a streaming response (Server-Sent Events), read as they come. */
  Stream<String> stream(String path, String token) throws IOException, InterruptedException {
    HttpRequest r = HttpRequest.newBuilder(URI.create(base + path))
        .header("Authorization", "Bearer " + token).GET().build();
    HttpResponse<Stream<String>> resp = http.send(r, HttpResponse.BodyHandlers.ofLines());
    if (resp.statusCode() != 200) {
      throw new IllegalStateException("stream " + path + ": " + resp.statusCode());
    }
    return resp.body();
  }

  HttpClient client() {
    return http;
  }

  /** Whether the manager answers its health check. */
  boolean ping() {
    try {
      return get("/_ping", null).status() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
