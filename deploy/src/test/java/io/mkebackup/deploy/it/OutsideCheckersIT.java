package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What HTTP and TLS checkers (health probes, promtool, testssl.sh) ask of a running manager: HEAD
 * wherever GET answers, JSON errors anywhere under /api, Prometheus HELP text as written, and no
 * client-initiated TLS renegotiation (tried with openssl s_client).
 */
@Tag("integration")
class OutsideCheckersIT {
  static ManagerCluster cluster;
  static Api api;
  static String token;
  static String backupId;

  @BeforeAll
  static void start() throws Exception {
    cluster = ManagerCluster.start(1, Map.of());
    api = cluster.api(0);
    token = cluster.token(0);
    backupId = api.post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(), token).json()
        .getString("backupId");
    JsonObject[] record = new JsonObject[1];
    Awaitility.await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(300)).until(() -> {
      record[0] = cluster.record(0, token, backupId);
      return !record[0].getString("backupState").equals(BackupState.IN_PROGRESS.name());
    });
    assertThat(record[0].getString("backupState")).as("%s\n%s", record[0], cluster.allLogs())
        .isEqualTo(BackupState.SUCCESS.name());
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  static HttpResponse<byte[]> send(String method, String path, boolean auth) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(api.base + path)).timeout(Duration.ofSeconds(30))
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (auth) {
      b.header("Authorization", "Bearer " + token);
    }
    return api.client().send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static String type(HttpResponse<?> r) {
    return r.headers().firstValue("Content-Type").orElse("");
  }

  @Test
  void headAnswersWhereverGetDoesWithGetsStatusAndHeadersAndNoBody() throws Exception {
    List<String> paths = List.of("/_ping", "/_ready", "/metrics", "/", "/index.html", "/app.js", "/style.css",
        "/api/ucp/openapi.yaml", "/api/ucp/backups", "/api/ucp/backups?limit=1", "/api/ucp/backups/details",
        "/api/ucp/session", "/api/ucp/backup/schedules", "/api/ucp/backup/" + backupId,
        "/api/ucp/backup/" + backupId + "/contents", "/api/ucp/backup/nope", "/nope.html");
    for (String path : paths) {
      HttpResponse<byte[]> get = send("GET", path, true);
      HttpResponse<byte[]> head = send("HEAD", path, true);
      assertThat(head.statusCode()).as("HEAD %s", path).isEqualTo(get.statusCode());
      assertThat(type(head)).as("HEAD %s", path).isEqualTo(type(get));
      assertThat(head.body()).as("HEAD %s", path).isEmpty();
    }
    // Without a token, HEAD is refused as GET is.
    assertThat(send("HEAD", "/api/ucp/backups", false).statusCode()).isEqualTo(401);
  }

  @Test
  void headOnAProgressStreamAnswersItsHeadersAndEnds() throws Exception {
    for (String path : List.of("/api/ucp/backups/events", "/api/ucp/backup/" + backupId + "/events")) {
      HttpResponse<byte[]> head = send("HEAD", path, true);
      assertThat(head.statusCode()).as("HEAD %s", path).isEqualTo(200);
      assertThat(type(head)).as("HEAD %s", path).startsWith("text/event-stream");
      assertThat(head.body()).isEmpty();
    }
    assertThat(send("HEAD", "/api/ucp/backup/nope/events", true).statusCode()).isEqualTo(404);
  }

  @Test
  void unknownPathsAndMethodsUnderApiAnswerJsonErrors() throws Exception {
    record Case(String method, String path, boolean auth, int status, String code) {}
    for (Case c : List.of(new Case("GET", "/api/ucp/nope", true, 404, "NOT_FOUND"),
        new Case("GET", "/api/nope", false, 404, "NOT_FOUND"),
        new Case("GET", "/api/ucp/nope", false, 401, "UNAUTHORIZED"),
        new Case("DELETE", "/api/ucp/backups", true, 405, "METHOD_NOT_ALLOWED"))) {
      HttpResponse<byte[]> r = send(c.method(), c.path(), c.auth());
      assertThat(r.statusCode()).as("%s %s", c.method(), c.path()).isEqualTo(c.status());
      assertThat(type(r)).as("%s %s", c.method(), c.path()).startsWith("application/json");
      JsonObject body = new JsonObject(new String(r.body(), StandardCharsets.UTF_8));
      assertThat(body.getString("code")).isEqualTo(c.code());
      assertThat(body.getString("message")).isNotBlank();
    }
    // The page keeps plain answers.
    HttpResponse<byte[]> page = send("GET", "/nope.html", false);
    assertThat(page.statusCode()).isEqualTo(404);
    assertThat(type(page)).doesNotStartWith("application/json");
  }

  @Test
  void metricsHelpTextCarriesNoEscapedQuotes() throws Exception {
    String text = new String(send("GET", "/metrics", false).body(), StandardCharsets.UTF_8);
    List<String> help = text.lines().filter(l -> l.startsWith("# HELP mke_backup_")).toList();
    assertThat(help).isNotEmpty().noneMatch(l -> l.contains("\\\""));
    assertThat(help).anyMatch(l -> l.startsWith("# HELP mke_backup_last_success_timestamp_seconds ")
        && l.contains("schedule=\"all\""));
  }

  /**
   * testssl.sh's check, by hand: a TLS 1.2 session, then {@code R} (s_client renegotiates), then a
   * request. Refused, the server ends the connection with a handshake_failure alert and the
   * request never gets an answer; accepted, the request gets its 200.
   */
  @Test
  void clientInitiatedRenegotiationIsRefused() throws Exception {
    Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + cluster.managers.get(0).httpsPort,
        "-tls1_2", "-servername", "localhost").redirectErrorStream(true).start();
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    Thread reader = new Thread(() -> {
      try {
        p.getInputStream().transferTo(seen);
      } catch (java.io.IOException ignored) {
        // the process ended
      }
    });
    reader.start();
    try {
      OutputStream in = p.getOutputStream();
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> seen.toString(StandardCharsets.UTF_8)
          .contains("Verify return code"));
      in.write("R\n".getBytes(StandardCharsets.US_ASCII));
      in.flush();
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> seen.toString(StandardCharsets.UTF_8)
          .contains("RENEGOTIATING"));
      try {
        in.write("GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        in.flush();
      } catch (java.io.IOException closed) {
        // s_client already gone: the server ended the connection
      }
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("s_client ends: %s", seen).isTrue();
      reader.join(10_000);
      String out = seen.toString(StandardCharsets.UTF_8);
      assertThat(out).doesNotContain("HTTP/1.1 200");
      assertThat(out).containsIgnoringCase("handshake failure");
    } finally {
      p.destroyForcibly();
    }
  }
}
