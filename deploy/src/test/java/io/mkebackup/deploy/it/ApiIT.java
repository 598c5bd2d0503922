package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.record.BackupState;
import io.mkebackup.gateway.auth.Passwords;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One real manager: the seed's curl calls, every validation and auth refusal (status, the field
 * its message names, nothing written), the SockJS bridge, and the CLI taking the same lock.
 */
@Tag("integration")
class ApiIT {
  static final String PASSPHRASE = "api-it-passphrase-" + System.nanoTime();
  static final String VIEWER_PASSWORD = "viewer-" + System.nanoTime();
  static ManagerCluster cluster;
  static Path outside;
  static String admin;

  @BeforeAll
  static void start() throws Exception {
    Path config = Scratch.file("mke-manager-", ".json");
    Files.writeString(config, new JsonObject().put("users", new JsonArray().add(new JsonObject()
        .put("username", "viewer")
        .put("passwordHash", Passwords.hash(VIEWER_PASSWORD.toCharArray()))
        .put("roles", new JsonArray().add("viewer"))).add(new JsonObject()
        .put("username", "guesser-target")
        .put("passwordHash", Passwords.hash(VIEWER_PASSWORD.toCharArray()))
        .put("roles", new JsonArray().add("admin")))).encode());
    cluster = ManagerCluster.start(1, Map.of("MKE_BACKUP_CONFIG", config.toString()));
    outside = Scratch.dir("mke-outside-roots-");
    admin = cluster.token(0);
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  static Api api() {
    return cluster.api(0);
  }

  /** What a refused request must not change: the backup directory and the catalog. */
  record State(List<String> files, int records) {}

  static State state() throws Exception {
    return new State(Tools.listing(cluster.backups), api().get("/api/ucp/backups", admin).array().size());
  }

  @Test
  void theSeedsCurlCallsWork() throws Exception {
    String base = api().base;
    String cacert = cluster.managers.get(0).dataDir.resolve("tls/server-cert.pem").toString();
    String login = Tools.sh("curl -s --cacert " + cacert + " " + base + "/auth/login -d '{\"username\":\"admin\",\"password\":\""
        + cluster.password + "\"}'").text();
    String token = new JsonObject(login).getString("auth_token");
    // The seed's example, with a passphrase (this API requires one or noPassphrase: true).
    Tools.Out post = Tools.sh("curl -sk -H 'Authorization: Bearer " + token + "' " + base + "/api/ucp/backup"
        + " -X POST -H 'Content-Type: application/json' -w '\\n%{http_code}'"
        + " --data '{\"encrypted\": true, \"includeLogs\": true, \"fileName\": \"backup1.tar\", \"logFileName\":"
        + " \"backup1.log\", \"hostPath\": \"" + cluster.backups + "\", \"passphrase\": \"" + PASSPHRASE + "\"}'");
    String[] lines = post.text().split("\n");
    assertThat(lines[1]).isEqualTo("200");
    String id = new JsonObject(lines[0]).getString("backupId");
    JsonObject done = cluster.awaitState(0, token, id, BackupState.SUCCESS, Duration.ofSeconds(60));

    JsonArray list = new JsonArray(Tools.sh("curl -sk -H 'Authorization: Bearer " + token + "' " + base
        + "/api/ucp/backups").text());
    JsonObject listed = list.stream().map(o -> (JsonObject) o).filter(o -> o.getString("id").equals(id)).findFirst()
        .orElseThrow();
    assertThat(listed.fieldNames()).containsExactlyInAnyOrder("id", "encrypted", "fileName", "logFileName",
        "backupPath", "backupState", "nodeLocation", "shortError", "created_at", "completed_at");
    assertThat(listed.getBoolean("encrypted")).isTrue();
    assertThat(listed.getString("fileName")).isEqualTo("backup1.tar");
    assertThat(listed.getString("logFileName")).isEqualTo("backup1.log");
    assertThat(listed.getString("backupPath")).isEqualTo(cluster.backups.toRealPath().toString());
    assertThat(listed.getString("nodeLocation")).isEqualTo(cluster.managers.get(0).node);
    assertThat(listed.getString("shortError")).isEmpty();
    assertThat(listed.getString("created_at")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
    assertThat(listed.getString("completed_at")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
    assertThat(listed).isEqualTo(done);
    assertThat(Files.exists(cluster.backups.resolve("backup1.tar"))).isTrue();
    assertThat(Files.exists(cluster.backups.resolve("backup1.log"))).isTrue();

    JsonObject one = new JsonObject(Tools.sh("curl -sk -H 'Authorization: Bearer " + token + "' " + base
        + "/api/ucp/backup/" + id).text());
    assertThat(one).isEqualTo(listed);
    assertThat(Tools.sh("curl -sk -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer " + token + "' " + base
        + "/api/ucp/backup/00000000-0000-0000-0000-000000000000").text()).isEqualTo("404");

    // The seed's example exactly as printed has no passphrase: refused, naming the field.
    Tools.Out literal = Tools.sh("curl -sk -H 'Authorization: Bearer " + token + "' " + base + "/api/ucp/backup"
        + " -X POST -H 'Content-Type: application/json' -w '\\n%{http_code}'"
        + " --data '{\"encrypted\": true, \"includeLogs\": true, \"fileName\": \"backup2.tar\", \"logFileName\":"
        + " \"backup2.log\", \"hostPath\": \"" + cluster.backups + "\"}'");
    assertThat(literal.text()).endsWith("\n400").contains("\"field\":\"passphrase\"");
  }

  static Stream<Arguments> invalidRequests() {
    String big = "x".repeat(70 * 1024);
    return Stream.of(
        Arguments.of("malformed JSON", "{\"passphrase\": ", "body"),
        Arguments.of("not an object", "[1,2]", "body"),
        Arguments.of("empty body", "", "body"),
        Arguments.of("over 64 KiB", "{\"noPassphrase\": true, \"fileName\": \"" + big + "\"}", "body"),
        Arguments.of("passphrase not a string", "{\"passphrase\": 123456789012345}", "passphrase"),
        Arguments.of("includeLogs not a boolean", "{\"noPassphrase\": true, \"includeLogs\": \"yes\"}", "includeLogs"),
        Arguments.of("noPassphrase not a boolean", "{\"noPassphrase\": \"true\"}", "noPassphrase"),
        Arguments.of("hostPath not a string", "{\"noPassphrase\": true, \"hostPath\": 5}", "hostPath"),
        Arguments.of("short passphrase", "{\"passphrase\": \"nine-char\"}", "passphrase"),
        Arguments.of("no passphrase", "{\"fileName\": \"a.tar\"}", "passphrase"),
        Arguments.of("noPassphrase false", "{\"noPassphrase\": false}", "passphrase"),
        Arguments.of("both", "{\"noPassphrase\": true, \"passphrase\": \"" + PASSPHRASE + "\"}", "passphrase"),
        Arguments.of("encrypted without passphrase", "{\"noPassphrase\": true, \"encrypted\": true}", "encrypted"),
        Arguments.of("fileName with a path", "{\"noPassphrase\": true, \"fileName\": \"../evil.tar\"}", "fileName"),
        Arguments.of("fileName absolute", "{\"noPassphrase\": true, \"fileName\": \"/etc/cron.d/x\"}", "fileName"),
        Arguments.of("fileName hidden", "{\"noPassphrase\": true, \"fileName\": \".hidden.tar\"}", "fileName"),
        Arguments.of("fileName empty", "{\"noPassphrase\": true, \"fileName\": \"\"}", "fileName"),
        Arguments.of("logFileName with a path", "{\"noPassphrase\": true, \"includeLogs\": true, \"logFileName\":"
            + " \"a/b.log\"}", "logFileName"),
        Arguments.of("logFileName same as fileName", "{\"noPassphrase\": true, \"fileName\": \"x.tar\","
            + " \"logFileName\": \"x.tar\"}", "logFileName"),
        Arguments.of("hostPath relative", "{\"noPassphrase\": true, \"hostPath\": \"backups\"}", "hostPath"),
        Arguments.of("hostPath missing", "{\"noPassphrase\": true, \"hostPath\": \"/nonexistent/mke\"}", "hostPath"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidRequests")
  void invalidRequestIsRefusedNamingTheFieldAndChangesNothing(String what, String body, String field) throws Exception {
    State before = state();
    Api.Response r = api().post("/api/ucp/backup", body, admin);
    assertThat(r.status()).as(r.body()).isEqualTo(400);
    assertThat(r.json().getString("field")).isEqualTo(field);
    assertThat(r.json().getString("message")).contains(field);
    assertThat(r.body()).doesNotContain(PASSPHRASE).doesNotContain("nine-char");
    assertThat(state()).isEqualTo(before);
  }

  @Test
  void hostPathOutsideTheAllowedRootsIsRefused() throws Exception {
    State before = state();
    Api.Response r = api().post("/api/ucp/backup", new JsonObject().put("noPassphrase", true)
        .put("hostPath", outside.toString()).encode(), admin);
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().getString("field")).isEqualTo("hostPath");
    assertThat(r.json().getString("message")).contains("outside");
    assertThat(Tools.listing(outside)).isEmpty();
    assertThat(state()).isEqualTo(before);
  }

  @Test
  void hostPathLinkingOutOfTheRootsIsRefused() throws Exception {
    Path link = cluster.backups.resolve("escape");
    Files.createSymbolicLink(link, outside);
    try {
      State before = state();
      Api.Response r = api().post("/api/ucp/backup", new JsonObject().put("noPassphrase", true)
          .put("hostPath", link.toString()).encode(), admin);
      assertThat(r.status()).isEqualTo(400);
      assertThat(r.json().getString("field")).isEqualTo("hostPath");
      assertThat(r.json().getString("message")).contains("outside").contains(outside.toRealPath().toString());
      assertThat(Tools.listing(outside)).isEmpty();
      assertThat(state()).isEqualTo(before);
    } finally {
      Files.delete(link);
    }
  }

  @Test
  void hostPathNotWritableIsRefused() throws Exception {
    Path ro = Files.createDirectory(cluster.backups.resolve("read-only"));
    assertThat(Tools.sh("mount -t tmpfs -o size=1m,ro tmpfs " + ro).exit()).isZero();
    try {
      State before = state();
      Api.Response r = api().post("/api/ucp/backup", new JsonObject().put("noPassphrase", true)
          .put("hostPath", ro.toString()).encode(), admin);
      assertThat(r.status()).as(r.body()).isEqualTo(400);
      assertThat(r.json().getString("field")).isEqualTo("hostPath");
      assertThat(r.json().getString("message")).contains("not writable");
      assertThat(state()).isEqualTo(before);
    } finally {
      Tools.sh("umount " + ro);
      Files.delete(ro);
    }
  }

  @Test
  void authIsRequiredAndOnlyAdminsMayBackUp() throws Exception {
    State before = state();
    String body = new JsonObject().put("noPassphrase", true).encode();
    Api.Response none = api().post("/api/ucp/backup", body, null);
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.json().getString("code")).isEqualTo("UNAUTHORIZED");
    assertThat(api().post("/api/ucp/backup", body, "not-a-token").status()).isEqualTo(401);
    assertThat(api().get("/api/ucp/backups", null).status()).isEqualTo(401);
    assertThat(api().post("/auth/login", new JsonObject().put("username", "admin").put("password", "wrong").encode(),
        null).status()).isEqualTo(401);
    assertThat(api().post("/auth/login", new JsonObject().put("username", "nobody").put("password", "x").encode(),
        null).status()).isEqualTo(401);
    Api.Response badLogin = api().post("/auth/login", "{\"username\": 5}", null);
    assertThat(badLogin.status()).isEqualTo(400);
    assertThat(badLogin.json().getString("field")).isEqualTo("username");

    String viewer = api().login("viewer", VIEWER_PASSWORD);
    Api.Response forbidden = api().post("/api/ucp/backup", body, viewer);
    assertThat(forbidden.status()).isEqualTo(403);
    assertThat(forbidden.json().getString("message")).contains("viewer").contains("not an administrator");
    assertThat(api().get("/api/ucp/backups", viewer).status()).isEqualTo(403);
    assertThat(state()).isEqualTo(before);

    // Logging out ends the token on every manager.
    String session = api().login("admin", cluster.password);
    assertThat(api().get("/api/ucp/backups", session).status()).isEqualTo(200);
    assertThat(api().post("/auth/logout", "", session).status()).isEqualTo(204);
    assertThat(api().get("/api/ucp/backups", session).status()).isEqualTo(401);
    assertThat(cluster.allLogs()).doesNotContain(VIEWER_PASSWORD).doesNotContain(viewer).doesNotContain(admin)
        .doesNotContain(cluster.password);
  }

  /**
   * A SockJS event-bus client over the raw-WebSocket transport, queueing the frames it receives. It
   * pings every 5 s, as Vert.x's own JavaScript client does: the bridge closes a socket that has not
   * pinged for 10 s (its default ping timeout), which cut a test's bridges off before a backup
   * longer than that ended.
   */
  static final class BridgeClient implements AutoCloseable {
    final LinkedBlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
    final WebSocket ws;
    /** How the server closed the socket ("1001 Session expired"), once it has. */
    final CompletableFuture<String> closedByServer = new CompletableFuture<>();
    private final java.util.concurrent.ScheduledExecutorService pings =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "bridge-client-ping");
          t.setDaemon(true);
          return t;
        });

    BridgeClient() throws Exception {
      this(api());
    }

    BridgeClient(Api api) throws Exception {
      this(api, true);
    }

    /** @param ping whether it pings (a client that does not is closed by the bridge) */
    BridgeClient(Api api, boolean ping) throws Exception {
      ws = api.client().newWebSocketBuilder()
          .buildAsync(URI.create(api.base.replace("https:", "wss:") + "/eventbus/websocket"), new WebSocket.Listener() {
            final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
              partial.append(data);
              if (last) {
                frames.add(new JsonObject(partial.toString()));
                partial.setLength(0);
              }
              socket.request(1);
              return null;
            }

            /** The raw-WebSocket transport sends each frame as a binary message of JSON. */
            @Override
            public CompletionStage<?> onBinary(WebSocket socket, java.nio.ByteBuffer data, boolean last) {
              byte[] bytes = new byte[data.remaining()];
              data.get(bytes);
              partial.append(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
              if (last) {
                frames.add(new JsonObject(partial.toString()));
                partial.setLength(0);
              }
              socket.request(1);
              return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket socket, int statusCode, String reason) {
              closedByServer.complete(statusCode + " " + reason);
              return null;
            }

            @Override
            public void onError(WebSocket socket, Throwable error) {
              closedByServer.complete("error: " + error);
            }
          }).get(10, TimeUnit.SECONDS);
      if (!ping) {
        return;
      }
      pings.scheduleAtFixedRate(() -> {
        try {
          if (!ws.isOutputClosed()) {
            send(new JsonObject().put("type", "ping"));
          }
        } catch (RuntimeException closing) {
          // the socket closed meanwhile: state() says how
        }
      }, 5, 5, TimeUnit.SECONDS);
    }

    /** One send at a time: the WebSocket refuses a send while another is under way. */
    synchronized void send(JsonObject frame) {
      ws.sendText(frame.encode(), true).join();
    }

    List<JsonObject> drain() {
      List<JsonObject> out = new ArrayList<>();
      frames.drainTo(out);
      return out;
    }

    /**
     * Waits until the frame saying backup {@code id} succeeded arrives; returns every frame received
     * meanwhile. A failure names {@code who}, the socket's state and the frames it had.
     */
    List<JsonObject> awaitSucceeded(String who, String id, Duration within) {
      List<JsonObject> received = new ArrayList<>();
      try {
        await(who + " relays " + id + " to its end").atMost(within).until(() -> {
          received.addAll(drain());
          return received.stream().anyMatch(x -> x.getJsonObject("body") != null
              && id.equals(x.getJsonObject("body").getString("backupId"))
              && "succeeded".equals(x.getJsonObject("body").getString("kind")));
        });
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(who + " (" + state() + ") did not relay " + id + " to its end within "
            + within.toSeconds() + " s; its frames: " + received, e);
      }
      return received;
    }

    /** What a failure should show: open, or how the server closed it. */
    String state() {
      return closedByServer.isDone() ? "closed by the server: " + closedByServer.join() : "open";
    }

    /** Stops pinging and closes; a second call does nothing more. */
    @Override
    public void close() {
      pings.shutdownNow();
      if (!ws.isOutputClosed()) {
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done");
      }
    }
  }

  @Test
  void repeatedFailedLoginsLockTheNameOutOnEveryManager() throws Exception {
    String wrong = new JsonObject().put("username", "guesser-target").put("password", "guess").encode();
    for (int i = 0; i < 5; i++) {
      assertThat(api().post("/auth/login", wrong, null).status()).isEqualTo(401);
    }
    Api.Response locked = api().post("/auth/login", new JsonObject().put("username", "guesser-target")
        .put("password", VIEWER_PASSWORD).encode(), null);
    assertThat(locked.status()).as(locked.body()).isEqualTo(429);
    assertThat(locked.json().getString("code")).isEqualTo("TOO_MANY_ATTEMPTS");
    assertThat(locked.body()).doesNotContain(VIEWER_PASSWORD);
    // Other names are not affected.
    assertThat(api().login("viewer", VIEWER_PASSWORD)).isNotEmpty();
  }

  @Test
  void sockJsBridgeGivesProgressToAdminsAndNothingElse() throws Exception {
    try (BridgeClient anonymous = new BridgeClient(); BridgeClient viewer = new BridgeClient();
        BridgeClient adminClient = new BridgeClient()) {
      anonymous.send(new JsonObject().put("type", "register").put("address", "mke.backup.progress"));
      viewer.send(new JsonObject().put("type", "register").put("address", "mke.backup.progress")
          .put("headers", new JsonObject().put("auth_token", api().login("viewer", VIEWER_PASSWORD))));
      adminClient.send(new JsonObject().put("type", "register").put("address", "mke.backup.progress")
          .put("headers", new JsonObject().put("auth_token", admin)));

      // Sending in is refused even with an admin token: no job reaches a worker.
      State before = state();
      adminClient.send(new JsonObject().put("type", "send").put("address", "mke.backup.jobs").put("replyAddress", "r1")
          .put("headers", new JsonObject().put("auth_token", admin))
          .put("body", new JsonObject().put("id", "x").put("fileName", "bridge.tar")
              .put("hostPath", cluster.backups.toString())));
      await().atMost(Duration.ofSeconds(10)).until(() -> adminClient.frames.stream()
          .anyMatch(x -> "err".equals(x.getString("type"))));
      assertThat(adminClient.drain()).allMatch(x -> "err".equals(x.getString("type")) && "rejected".equals(x.getString("body")));
      assertThat(state()).isEqualTo(before);

      Api.Response started = api().post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(), admin);
      assertThat(started.status()).as(started.body()).isEqualTo(200);
      String id = started.json().getString("backupId");
      List<JsonObject> received = adminClient.awaitSucceeded("the admin's bridge", id, Duration.ofSeconds(60));
      List<JsonObject> progress = received.stream().filter(x -> "rec".equals(x.getString("type"))).toList();
      assertThat(progress).allMatch(x -> "mke.backup.progress".equals(x.getString("address")));
      assertThat(progress.stream().map(x -> x.getJsonObject("body").getString("step")).distinct())
          .contains("validation", "volume", "etcd", "finalize");
      assertThat(received).as("the refused send").noneMatch(x -> "r1".equals(x.getString("address")));
      // The others were refused at registration and saw no progress at all.
      List<JsonObject> anonymousFrames = anonymous.drain();
      assertThat(anonymousFrames).isNotEmpty().allMatch(x -> "err".equals(x.getString("type")));
      List<JsonObject> viewerFrames = viewer.drain();
      assertThat(viewerFrames).isNotEmpty().allMatch(x -> "err".equals(x.getString("type")));
    }
  }

  /**
   * The bridge frees a socket that stopped pinging (Vert.x's 10 s ping timeout), and keeps one that
   * pings as Vert.x's own client does. (The tests' client did not ping, and lost a backup's last
   * events whenever it lasted more than 10 s.)
   */
  @Test
  void theBridgeClosesASocketThatStoppedPingingAndKeepsOneThatPings() throws Exception {
    // Vert.x checks each socket every 10 s from its opening; one with no ping since is closed.
    long t0 = System.nanoTime();
    try (BridgeClient silent = new BridgeClient(api(), false); BridgeClient pinging = new BridgeClient(api(), true)) {
      for (BridgeClient b : List.of(silent, pinging)) {
        b.send(new JsonObject().put("type", "register").put("address", "mke.backup.progress")
            .put("headers", new JsonObject().put("auth_token", admin)));
      }
      String how = silent.closedByServer.get(30, TimeUnit.SECONDS);
      long after = (System.nanoTime() - t0) / 1_000_000;
      assertThat(how).startsWith("1001");
      assertThat(after).as("closed %d ms after it was opened", after).isBetween(9_500L, 25_000L);
      // The pinging one outlives it by one more ping timeout and is still relayed to.
      await("the pinging socket stays open").during(Duration.ofSeconds(11)).atMost(Duration.ofSeconds(12))
          .until(() -> !pinging.closedByServer.isDone());
      Api.Response started = api().post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(), admin);
      assertThat(started.status()).as(started.body()).isEqualTo(200);
      pinging.awaitSucceeded("the pinging socket", started.json().getString("backupId"), Duration.ofSeconds(60));
    }
  }

  @Test
  void theCliTakesTheSameLock() throws Exception {
    // A CLI backup to a pipe nobody reads: it blocks mid-stream, holding the cluster's lock.
    List<String> cmd = new ArrayList<>(ProductJvm.java());
    cmd.addAll(List.of("-jar", Cli.JAR.toAbsolutePath().toString(), "backup", "--no-passphrase",
        "--cluster-members", "127.0.0.1:" + cluster.managers.get(0).clusterPort,
        "--cluster-name", "it-" + cluster.demo.prefix));
    cmd.addAll(cluster.demo.cliOptions());
    Path cliErr = Scratch.file("cli-lock-", ".err");
    Process cli = new ProcessBuilder(cmd).redirectError(cliErr.toFile()).start();
    try {
      JsonObject[] running = new JsonObject[1];
      await("the CLI holds the lock").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> {
        if (!cli.isAlive()) {
          throw new AssertionError("the CLI ended: " + Files.readString(cliErr));
        }
        running[0] = api().get("/api/ucp/backups", admin).array().stream().map(o -> (JsonObject) o)
            .filter(o -> o.getString("backupState").equals("IN_PROGRESS")).findFirst().orElse(null);
        return running[0] != null;
      });
      JsonObject cliRecord = running[0];
      Api.Response[] refused = {api().post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(), admin)};
      assertThat(refused[0].status()).as(refused[0].body()).isEqualTo(409);
      assertThat(refused[0].json().getString("message")).contains("another backup is running")
          .contains(cliRecord.getString("id")).contains("it-node");
      assertThat(cliRecord.getString("nodeLocation")).isEqualTo("it-node");

      cli.destroyForcibly();
      cli.waitFor(30, TimeUnit.SECONDS);
      JsonObject failed = cluster.awaitState(0, admin, cliRecord.getString("id"), BackupState.FAILED,
          Duration.ofSeconds(30));
      assertThat(failed.getString("shortError")).contains("it-node");
      // Hazelcast frees a dead client's lock once it stops waiting for the client to come back
      // (hazelcast.client.cleanup.timeout.millis, 5 s here).
      Api.Response[] nextHolder = new Api.Response[1];
      await("the lock is free again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
        nextHolder[0] = api().post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(), admin);
        return nextHolder[0].status() != 409;
      });
      Api.Response next = nextHolder[0];
      assertThat(next.status()).as(next.body()).isEqualTo(200);
      cluster.awaitState(0, admin, next.json().getString("backupId"), BackupState.SUCCESS, Duration.ofSeconds(60));
    } finally {
      cli.destroyForcibly();
    }
  }

  @Test
  void pagesFollowTheLinkHeaderThroughTheWholeList() throws Exception {
    for (int i = 0; i < 3; i++) {
      Api.Response r = api().post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(), admin);
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      cluster.awaitState(0, admin, r.json().getString("backupId"), BackupState.SUCCESS, Duration.ofSeconds(60));
    }
    // Lists are read from the manager's local copy of the catalog: wait until it shows the last one.
    await().atMost(Duration.ofSeconds(10)).until(() -> api().get("/api/ucp/backups", admin).array().stream()
        .map(o -> (JsonObject) o).noneMatch(o -> o.getString("backupState").equals("IN_PROGRESS")));
    List<String> all = api().get("/api/ucp/backups", admin).array().stream()
        .map(o -> ((JsonObject) o).getString("id")).toList();
    assertThat(all).hasSizeGreaterThanOrEqualTo(3);

    List<String> walked = new ArrayList<>();
    String next = "/api/ucp/backups?limit=2";
    int pages = 0;
    while (next != null) {
      java.net.http.HttpResponse<String> r = api().client().send(java.net.http.HttpRequest.newBuilder(
          URI.create(api().base + next)).header("Authorization", "Bearer " + admin).GET().build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonArray page = new JsonArray(r.body());
      assertThat(page.size()).isBetween(1, 2);
      page.forEach(o -> walked.add(((JsonObject) o).getString("id")));
      next = r.headers().firstValue("Link").map(l -> l.substring(l.indexOf('<') + 1, l.indexOf('>'))).orElse(null);
      pages++;
    }
    assertThat(walked).containsExactlyElementsOf(all);
    assertThat(pages).isEqualTo((all.size() + 1) / 2);

    // The state filter gives exactly the records of that state: SUCCESS ones exist (three were just
    // made), and whether FAILED ones do or not, an ignored filter would give them all.
    List<JsonObject> records = api().get("/api/ucp/backups?limit=1000", admin).array().stream()
        .map(o -> (JsonObject) o).toList();
    for (String state : List.of("SUCCESS", "FAILED")) {
      List<String> expected = records.stream().filter(o -> o.getString("backupState").equals(state))
          .map(o -> o.getString("id")).toList();
      assertThat(api().get("/api/ucp/backups?state=" + state + "&limit=1000", admin).array().stream()
          .map(o -> ((JsonObject) o).getString("id")).toList()).as("state=" + state).isEqualTo(expected);
    }
    assertThat(records).extracting(o -> o.getString("backupState")).contains("SUCCESS");
    Api.Response bad = api().get("/api/ucp/backups?cursor=bm90LWEtY3Vyc29y", admin);
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().getString("field")).isEqualTo("cursor");
  }

  @Test
  void noWorkerInTheClusterGives503() throws Exception {
    try (ManagerCluster gatewayOnly = ManagerCluster.start(1, Map.of("MKE_BACKUP_WORKER", "false"))) {
      String token = gatewayOnly.token(0);
      Api.Response r = gatewayOnly.api(0).post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(),
          token);
      assertThat(r.status()).as(r.body()).isEqualTo(503);
      assertThat(r.json().getString("code")).isEqualTo("WORKER_UNAVAILABLE");
      assertThat(Tools.listing(gatewayOnly.backups)).isEmpty();
      assertThat(gatewayOnly.api(0).get("/api/ucp/backups", token).array()).isEmpty();
    }
  }
}
