package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.BackupLease;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import io.mkebackup.common.record.BackupState;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.validation.ResponseValidator;
import io.vertx.openapi.validation.ValidatableResponse;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document a manager serves, checked against that manager's real responses (status,
 * content type, body schema) with Vert.x's OpenAPI validator, for every operation.
 */
@Tag("integration")
class OpenApiIT {
  record Call(String operationId, String method, String path, String body, boolean auth) {}

  static final Map<String, String> UNSUPPORTED = Map.of("text/event-stream", "text/plain", "application/yaml", "text/plain");

  @Test
  void everyOperationAnswersAsDocumented() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (ManagerCluster c = ManagerCluster.start(1, Map.of())) {
      Api api = c.api(0);
      Api.Response doc = api.get("/api/ucp/openapi.yaml", null);
      assertThat(doc.status()).isEqualTo(200);
      // Vert.x's validator (5.0) knows no text/event-stream or application/yaml bodies: those two
      // media types are checked here by name, and validated as text/plain (status and type).
      assertThat(doc.body()).contains("text/event-stream:").contains("application/yaml:");
      Path yaml = Scratch.file("openapi-", ".yaml");
      String checkable = doc.body();
      for (Map.Entry<String, String> m : UNSUPPORTED.entrySet()) {
        checkable = checkable.replace(m.getKey() + ":", m.getValue() + ":");
      }
      Files.writeString(yaml, checkable);
      OpenAPIContract contract = OpenAPIContract.from(vertx, yaml.toString()).toCompletionStage().toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      ResponseValidator validator = ResponseValidator.create(vertx, contract);

      String token = c.token(0);
      String id = api.post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(), token).json()
          .getString("backupId");
      c.awaitState(0, token, id, BackupState.SUCCESS, Duration.ofSeconds(60));
      Path pass = Scratch.file("pass-", ".txt", PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rw-------")));
      Files.writeString(pass, "openapi-it-passphrase\n");
      String schedule = new JsonObject().put("cron", "0 3 * * *").put("paused", true)
          .put("passphraseFile", pass.toString()).put("retention", new JsonObject().put("keepLast", 3)).encode();
      String scheduleId = api.post("/api/ucp/backup/schedules", schedule, token).json().getString("id");

      List<Call> calls = new ArrayList<>(List.of(
          new Call("login", "POST", "/auth/login", new JsonObject().put("username", "admin").put("password", c.password).encode(), false),
          new Call("login", "POST", "/auth/login", new JsonObject().put("username", "admin").put("password", "wrong").encode(), false),
          new Call("login", "POST", "/auth/login", "{}", false),
          new Call("createBackup", "POST", "/api/ucp/backup", "{\"passphrase\": \"short\"}", true),
          new Call("createBackup", "POST", "/api/ucp/backup", "{\"noPassphrase\": true}", false),
          new Call("listBackups", "GET", "/api/ucp/backups", null, true),
          new Call("listBackups", "GET", "/api/ucp/backups?limit=1&state=SUCCESS", null, true),
          new Call("listBackups", "GET", "/api/ucp/backups?limit=0", null, true),
          new Call("listBackupDetails", "GET", "/api/ucp/backups/details?limit=1", null, true),
          new Call("listBackupDetails", "GET", "/api/ucp/backups/details", null, true),
          new Call("getBackup", "GET", "/api/ucp/backup/" + id, null, true),
          new Call("getBackup", "GET", "/api/ucp/backup/nope", null, true),
          new Call("getBackupContents", "GET", "/api/ucp/backup/" + id + "/contents", null, true),
          new Call("followBackup", "GET", "/api/ucp/backup/" + id + "/events", null, true),
          new Call("getSession", "GET", "/api/ucp/session", null, true),
          // Without a token every guarded operation answers 401, which the document must list.
          new Call("followAllBackups", "GET", "/api/ucp/backups/events", null, false),
          new Call("followBackup", "GET", "/api/ucp/backup/" + id + "/events", null, false),
          new Call("getBackupContents", "GET", "/api/ucp/backup/" + id + "/contents", null, false),
          new Call("listSchedules", "GET", "/api/ucp/backup/schedules", null, false),
          new Call("getSchedule", "GET", "/api/ucp/backup/schedules/" + scheduleId, null, false),
          new Call("replaceSchedule", "PUT", "/api/ucp/backup/schedules/" + scheduleId, schedule, false),
          new Call("deleteSchedule", "DELETE", "/api/ucp/backup/schedules/" + scheduleId, null, false),
          new Call("listSchedules", "GET", "/api/ucp/backup/schedules", null, true),
          new Call("getSchedule", "GET", "/api/ucp/backup/schedules/" + scheduleId, null, true),
          new Call("replaceSchedule", "PUT", "/api/ucp/backup/schedules/" + scheduleId, schedule, true),
          new Call("createSchedule", "POST", "/api/ucp/backup/schedules", "{\"cron\": \"nonsense\"}", true),
          new Call("deleteSchedule", "DELETE", "/api/ucp/backup/schedules/" + scheduleId, null, true),
          new Call("getSchedule", "GET", "/api/ucp/backup/schedules/" + scheduleId, null, true),
          new Call("logout", "POST", "/auth/logout", null, false),
          new Call("ping", "GET", "/_ping", null, false),
          new Call("ready", "GET", "/_ready", null, false),
          new Call("metrics", "GET", "/metrics", null, false),
          new Call("openapi", "GET", "/api/ucp/openapi.yaml", null, false)));
      List<String> statuses = new ArrayList<>();
      for (Call call : calls) {
        statuses.add(seen(call, answer(api, validator, call, token)));
      }
      // Accepted, then refused while the cluster's lock is held: both answers are checked against
      // the document, each with the Warning that names the ignored key.
      Call unknownKey = new Call("createBackup", "POST", "/api/ucp/backup", "{\"NoPassphrase\": true, \"unknownKey\": 1}",
          true);
      HttpResponse<byte[]> first = answer(api, validator, unknownKey, token);
      statuses.add(seen(unknownKey, first));
      String accepted = new JsonObject(Buffer.buffer(first.body())).getString("backupId");
      c.awaitState(0, token, accepted, BackupState.SUCCESS, Duration.ofSeconds(60));
      ClusterTrust trust = ClusterTrust.derive(ClusterSecret.fromRootCaKey(Files.readAllBytes(
          c.demo.mountpoint("ucp-cluster-root-ca").resolve("key.pem")), "test"));
      HazelcastInstance client = HazelcastClient.newHazelcastClient(new ClusterSettings("it-" + c.demo.prefix,
          "127.0.0.1", 0, List.of("127.0.0.1:" + c.managers.get(0).clusterPort), "it-client").clientConfig(trust));
      try {
        BackupLease held = new io.mkebackup.common.cluster.HazelcastBackupLock(client).acquire("openapi-it-holder", "it-client");
        try {
          statuses.add(seen(unknownKey, answer(api, validator, unknownKey, token)));
        } finally {
          held.release();
        }
      } finally {
        client.shutdown();
      }
      assertThat(statuses).contains("login 200", "login 401", "login 400", "createBackup 400", "createBackup 401",
          "getBackup 200", "getBackup 404", "listBackups 400", "createSchedule 400", "deleteSchedule 204", "getSchedule 404",
          "ready 200", "metrics 200", "followAllBackups 401", "followBackup 401", "getBackupContents 401",
          "listSchedules 401", "getSchedule 401", "replaceSchedule 401", "deleteSchedule 401");
      assertThat(statuses).contains("createBackup 200 299 - \"ignored unknown fields: unknownKey\"",
          "createBackup 409 299 - \"ignored unknown fields: unknownKey\"");
      String pattern = "^299 - \"ignored unknown fields: .*\"$";
      assertThat(doc.body()).contains("pattern: '" + pattern + "'");
      assertThat(statuses).anyMatch(st -> st.replaceFirst("^createBackup \\d+ ", "").matches(pattern));
    } finally {
      vertx.close();
    }
  }

  /** "operationId status[ warning]". */
  static String seen(Call call, HttpResponse<byte[]> r) {
    return call.operationId() + " " + r.statusCode() + r.headers().firstValue("Warning").map(w -> " " + w).orElse("");
  }

  /** Sends the call and checks its answer (status, content type, body) against the document. */
  static HttpResponse<byte[]> answer(Api api, ResponseValidator validator, Call call, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(api.base + call.path())).timeout(Duration.ofSeconds(30))
        .method(call.method(), call.body() == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(call.body()));
    if (call.body() != null) {
      b.header("Content-Type", "application/json");
    }
    if (call.auth()) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<byte[]> r = api.client().send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    String type = r.headers().firstValue("Content-Type").orElse(null);
    if (type != null && UNSUPPORTED.containsKey(type.split(";")[0].trim())) {
      type = UNSUPPORTED.get(type.split(";")[0].trim());
    }
    // The validator (5.0) cannot decode a string header holding quotes, as a Warning does: the
    // Warning header is checked against the document's pattern instead.
    ValidatableResponse v = type == null || r.body().length == 0
        ? ValidatableResponse.create(r.statusCode())
        : ValidatableResponse.create(r.statusCode(), Buffer.buffer(r.body()), type.split(";")[0].trim());
    try {
      validator.validate(v, call.operationId()).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Request and response bodies stay out of the report: they may hold a password or a token.
      throw new AssertionError(call.operationId() + " " + call.method() + " " + call.path() + " answered "
          + r.statusCode() + " " + type + ", which the document does not allow: " + e.getMessage(), e);
    }
    return r;
  }
}
