package io.mkebackup.gateway.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /api/ucp/backup} against an in-process Vert.x: the route validates, hands the job to
 * this node's worker over the event bus (a consumer the test plays) and maps the worker's answer
 * to the documented statuses.
 */
@ExtendWith(VertxExtension.class)
class BackupRoutesHttpTest {
  static final String NODE = "node-a";

  @TempDir
  Path backups;
  WebClient client;
  int port;
  final List<JsonObject> jobs = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start(Vertx vertx, VertxTestContext ctx) {
    Router router = Router.router(vertx);
    router.route("/api/*").handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
    new BackupRoutes(vertx, NODE, new BackupRequestValidator(List.of(backups), backups), null, null).mount(router);
    client = WebClient.create(vertx);
    vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
        .map(HttpServer::actualPort)
        .onComplete(ctx.succeeding(p -> {
          port = p;
          ctx.completeNow();
        }));
  }

  /** This node's worker, answering as BackupWorkerVerticle does. */
  void worker(Vertx vertx, ErrorCode refusal) {
    vertx.eventBus().<JsonObject>consumer(Addresses.jobsOn(NODE), m -> {
      jobs.add(m.body());
      if (refusal == null) {
        m.reply(new JsonObject().put("backupId", m.body().getString("id")).put("nodeLocation", NODE));
      } else {
        m.fail(refusal.ordinal(), new JsonObject().put("code", refusal.name()).put("field", (String) null)
            .put("message", "another backup is running: 7c0e on node-b").encode());
      }
    });
  }

  Future<HttpResponse<io.vertx.core.buffer.Buffer>> post(JsonObject body) {
    return client.post(port, "127.0.0.1", "/api/ucp/backup").sendJsonObject(body);
  }

  @Test
  void aValidRequestGoesToThisNodesWorkerAndAnswersTheBackupsId(Vertx vertx, VertxTestContext ctx) {
    worker(vertx, null);
    post(new JsonObject().put("passphrase", "correct horse battery").put("fileName", "b1.tar")
        .put("hostPath", backups.toString()).put("colour", "blue"))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertThat(r.statusCode()).isEqualTo(200);
          assertThat(jobs).hasSize(1);
          assertThat(jobs.get(0).getString("fileName")).isEqualTo("b1.tar");
          assertThat(r.bodyAsJsonObject().getString("backupId")).isEqualTo(jobs.get(0).getString("id")).isNotBlank();
          assertThat(r.getHeader("Warning")).isEqualTo("299 - \"ignored unknown fields: colour\"");
          ctx.completeNow();
        })));
  }

  @Test
  void anInvalidFieldIs400NamingItAndNoJobIsSent(Vertx vertx, VertxTestContext ctx) {
    worker(vertx, null);
    post(new JsonObject().put("passphrase", "correct horse battery").put("fileName", "../escape.tar"))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertThat(r.statusCode()).isEqualTo(400);
          assertThat(r.bodyAsJsonObject().getString("code")).isEqualTo("INVALID_FIELD");
          assertThat(r.bodyAsJsonObject().getString("field")).isEqualTo("fileName");
          assertThat(jobs).isEmpty();
          ctx.completeNow();
        })));
  }

  @Test
  void aWorkerThatFindsABackupRunningIs409WithItsMessage(Vertx vertx, VertxTestContext ctx) {
    worker(vertx, ErrorCode.BACKUP_RUNNING);
    post(new JsonObject().put("noPassphrase", true))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertThat(r.statusCode()).isEqualTo(409);
          assertThat(r.bodyAsJsonObject().getString("code")).isEqualTo("BACKUP_RUNNING");
          assertThat(r.bodyAsJsonObject().getString("message")).contains("another backup is running");
          ctx.completeNow();
        })));
  }

  @Test
  void noWorkerInTheClusterIs503(VertxTestContext ctx) {
    post(new JsonObject().put("noPassphrase", true))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertThat(r.statusCode()).isEqualTo(503);
          assertThat(r.bodyAsJsonObject().getString("code")).isEqualTo("WORKER_UNAVAILABLE");
          ctx.completeNow();
        })));
  }
}
