package io.mkebackup.deploy.manager;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.SelfSignedCertificate;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The stack's healthcheck against a real HTTPS server answering as a manager's /_ready does: a task
 * is healthy once its cluster has a majority or there is nobody to join, and after that while its
 * port accepts.
 */
class HealthCheckTest {
  final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  int ready(boolean clusterOk) throws Exception {
    SelfSignedCertificate cert = SelfSignedCertificate.create("node-1");
    String body = "{\"ready\":false,\"node\":\"n\",\"checks\":{\"cluster\":{\"ok\":" + clusterOk
        + ",\"detail\":\"" + (clusterOk ? "2" : "1") + " of 3 configured managers\"},\"docker\":{\"ok\":true,\"detail\":\"x\"}}}";
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setSsl(true)
            .setKeyCertOptions(cert.keyCertOptions()))
        .requestHandler(r -> r.response().setStatusCode(r.path().equals("/_ready") ? 503 : 404).end(body));
    return server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)
        .actualPort();
  }

  @Test
  void aNewTaskIsHealthyOnceItsClusterHasAMajority() throws Exception {
    int port = ready(true);
    assertThat(HealthCheck.verdict("127.0.0.1", port, false, List.of("10.255.255.1:5701"))).isNull();
  }

  @Test
  void aNewTaskAloneWithOthersToJoinIsNotHealthy() throws Exception {
    int port = ready(false);
    assertThat(HealthCheck.verdict("127.0.0.1", port, false, List.of("10.255.255.1:5701")))
        .contains("not in a majority yet").contains("1 of 3").contains("10.255.255.1");
  }

  @Test
  void aNewTaskWithNobodyToJoinIsHealthy() throws Exception {
    int port = ready(false);
    // Its own address, and a name no task answers to (a fresh deploy: none is healthy yet).
    assertThat(HealthCheck.verdict("127.0.0.1", port, false, List.of("127.0.0.1:5701", "no-task.invalid:5701")))
        .isNull();
  }

  @Test
  void onceHealthyATaskStaysHealthyWhileItsPortAccepts() throws Exception {
    int port = ready(false);
    assertThat(HealthCheck.verdict("127.0.0.1", port, true, List.of("10.255.255.1:5701"))).isNull();
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    assertThat(HealthCheck.verdict("127.0.0.1", closed, true, List.of())).contains("nothing accepts");
    assertThat(HealthCheck.verdict("127.0.0.1", closed, false, List.of())).contains("no readiness report");
  }
}
