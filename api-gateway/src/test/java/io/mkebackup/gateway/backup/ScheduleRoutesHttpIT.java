package io.mkebackup.gateway.backup;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import io.mkebackup.common.cluster.HazelcastScheduleStore;
import io.mkebackup.common.cluster.ScheduleStore;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The schedule routes against an in-process Vert.x, the schedules in a real Hazelcast member: a
 * valid schedule is stored and read back, a refusal names its field and stores nothing.
 */
@Tag("integration")
@ExtendWith(VertxExtension.class)
class ScheduleRoutesHttpIT {
  @TempDir
  Path backups;
  HazelcastInstance member;
  ScheduleStore store;
  WebClient client;
  int port;

  @BeforeEach
  void start(Vertx vertx, VertxTestContext ctx) throws IOException {
    int hz;
    try (ServerSocket s = new ServerSocket(0)) {
      hz = s.getLocalPort();
    }
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("routes-" + UUID.randomUUID(), "127.0.0.1", hz,
        List.of(), "node-a").memberConfig(ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString()
        .getBytes(StandardCharsets.UTF_8), "test"))));
    store = new HazelcastScheduleStore(member, null);
    Router router = Router.router(vertx);
    router.route("/api/*").handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
    new ScheduleRoutes(vertx, store, new BackupRequestValidator(List.of(backups), backups), Duration.ofMinutes(1))
        .mount(router);
    client = WebClient.create(vertx);
    vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
        .map(HttpServer::actualPort)
        .onComplete(ctx.succeeding(p -> {
          port = p;
          ctx.completeNow();
        }));
  }

  @AfterEach
  void stop() {
    member.shutdown();
  }

  @Test
  void aScheduleIsStoredThenUpdatedThroughTheApi(VertxTestContext ctx) {
    JsonObject nightly = new JsonObject().put("cron", "0 3 * * *").put("noPassphrase", true)
        .put("hostPath", backups.toString()).put("fileNamePrefix", "nightly");
    client.post(port, "127.0.0.1", "/api/ucp/backup/schedules").sendJsonObject(nightly)
        .compose(created -> {
          ctx.verify(() -> assertThat(created.statusCode()).isEqualTo(201));
          String id = created.bodyAsJsonObject().getString("id");
          return client.put(port, "127.0.0.1", "/api/ucp/backup/schedules/" + id)
              .sendJsonObject(nightly.copy().put("paused", true));
        })
        .onComplete(ctx.succeeding(updated -> ctx.verify(() -> {
          assertThat(updated.statusCode()).isEqualTo(200);
          String id = updated.bodyAsJsonObject().getString("id");
          assertThat(store.get(id).orElseThrow().paused()).isTrue();
          assertThat(store.get(id).orElseThrow().fileNamePrefix()).isEqualTo("nightly");
          ctx.completeNow();
        })));
  }

  @Test
  void aPassphraseInAScheduleIs400NamingItAndStoresNothing(VertxTestContext ctx) {
    client.post(port, "127.0.0.1", "/api/ucp/backup/schedules").sendJsonObject(new JsonObject()
            .put("cron", "0 3 * * *").put("passphrase", "correct horse battery"))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertThat(r.statusCode()).isEqualTo(400);
          assertThat(r.bodyAsJsonObject().getString("field")).isEqualTo("passphrase");
          assertThat(store.list()).isEmpty();
          ctx.completeNow();
        })));
  }

  @Test
  void updatingAScheduleThatDoesNotExistIs404(VertxTestContext ctx) {
    client.put(port, "127.0.0.1", "/api/ucp/backup/schedules/" + UUID.randomUUID())
        .sendJsonObject(new JsonObject().put("cron", "0 3 * * *").put("noPassphrase", true))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertThat(r.statusCode()).isEqualTo(404);
          assertThat(r.bodyAsJsonObject().getString("code")).isEqualTo("NOT_FOUND");
          ctx.completeNow();
        })));
  }
}
