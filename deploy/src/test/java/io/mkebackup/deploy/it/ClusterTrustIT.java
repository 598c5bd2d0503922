package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.mkebackup.common.bus.Addresses;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.mkebackup.common.schedule.Schedule;
import io.mkebackup.common.tls.Certificates;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Cluster trust between real managers (separate JVMs, Hazelcast on loopback) that derive their
 * cluster secret from the demo state's MKE cluster root CA, against what the test starts beside
 * them: Hazelcast members without the secret, one that knows the derived cluster name (as an
 * eavesdropper would) and writes into every map, raw TLS clients of the event bus, and a holder
 * of the secret that sends a worker a job it must refuse. A canary directory outside the data and
 * backup directories shows that nothing is written or removed where it must not be.
 */
@Tag("integration")
class ClusterTrustIT {
  static ManagerCluster cluster;
  static ClusterTrust trust;
  static String configuredName;
  static List<String> memberAddresses;
  static Path canary;

  @BeforeAll
  static void start() throws Exception {
    cluster = ManagerCluster.start(2, Map.of("MKE_BACKUP_MIN_EVERY_SECONDS", "1"));
    configuredName = "it-" + cluster.demo.prefix;
    memberAddresses = cluster.managers.stream().map(m -> "127.0.0.1:" + m.clusterPort).toList();
    // The test's own reading of the secret: the key in the demo state's ucp-cluster-root-ca volume.
    byte[] key = Files.readAllBytes(cluster.demo.mountpoint("ucp-cluster-root-ca").resolve("key.pem"));
    trust = ClusterTrust.derive(ClusterSecret.fromRootCaKey(key, "test"));
    canary = Scratch.dir("mke-trust-canary-");
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (canary != null) {
      Tools.sh("rm -rf " + canary);
    }
  }

  @Test
  void aStrangerWithTheDocumentedClusterNameOrTheConfiguredOneIsNotAdmitted() throws Exception {
    for (String name : List.of("mke-backup", configuredName)) {
      HazelcastInstance stranger = Hazelcast.newHazelcastInstance(plainMember(name, DemoFixture.freePort(),
          memberAddresses));
      try {
        // newHazelcastInstance returns once its join is over: the managers refused it.
        assertThat(stranger.getCluster().getMembers()).as(name).hasSize(1);
      } finally {
        stranger.shutdown();
      }
      ClientConfig client = new ClientConfig().setClusterName(name);
      client.getNetworkConfig().setAddresses(memberAddresses);
      client.getConnectionStrategyConfig().getConnectionRetryConfig().setClusterConnectTimeoutMillis(5000);
      assertThatThrownBy(() -> HazelcastClient.newHazelcastClient(client).shutdown()).as(name)
          .isInstanceOf(IllegalStateException.class);
    }
    assertThat(cluster.api(0).get("/metrics", null).body()).contains("mke_backup_cluster_members{proven=\"true\"} 2.0");
  }

  @Test
  void aRogueWithTheDerivedClusterNameButNoKeyChangesNothing() throws Exception {
    String token = cluster.token(0);
    Files.writeString(canary.resolve("victim.json"), "keep");
    Files.writeString(canary.resolve("victim.deleted"), "keep");
    Files.writeString(canary.resolve("victim.contents.json"), "keep");
    Files.writeString(canary.resolve("victim.tar"), "keep");
    String orphan = UUID.randomUUID().toString();
    Files.writeString(canary.resolve(".victim.tar." + orphan + ".part"), "keep");
    Files.writeString(cluster.backups.resolve("precious.tar"), "keep");
    Map<String, String> canaryBefore = snapshot(canary);
    FileTime etcBefore = Files.getLastModifiedTime(Path.of("/etc"));

    // A genuine schedule with retention, so retention runs while the forged records are there.
    Api.Response created = cluster.api(0).post("/api/ucp/backup/schedules", new JsonObject().put("cron", "@every 3s")
        .put("noPassphrase", true).put("fileNamePrefix", "genuine").put("retention", new JsonObject().put("keepLast", 1))
        .encode(), token);
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    String scheduleId = created.json().getString("id");

    HazelcastInstance rogue = Hazelcast.newHazelcastInstance(plainMember(trust.clusterName(configuredName),
        DemoFixture.freePort(), memberAddresses));
    List<String> forgedIds = new ArrayList<>();
    String rogueToken = "rogue-token-" + UUID.randomUUID();
    try {
      assertThat(rogue.getCluster().getMembers()).as("the derived name is all Hazelcast asks for").hasSize(3);
      String up = "../".repeat(16) + canary.toString().substring(1);
      IMap<String, String> catalog = rogue.getMap(ClusterSettings.CATALOG_MAP);
      IMap<String, String> contents = rogue.getMap(ClusterSettings.CONTENTS_MAP);
      IMap<String, String> schedules = rogue.getMap(ClusterSettings.SCHEDULE_MAP);
      IMap<String, String> tombstones = rogue.getMap(ClusterSettings.DELETED_SCHEDULE_MAP);
      IMap<String, String> tokens = rogue.getMap(ClusterSettings.TOKEN_MAP);
      IMap<String, String> failures = rogue.getMap(ClusterSettings.LOGIN_FAILURES_MAP);
      IMap<String, String> lock = rogue.getMap(ClusterSettings.LOCK_MAP);

      // Traversal keys in every mirrored map: files written and removed outside the data directory.
      String record = forged("x", "passwd", "/etc", BackupState.SUCCESS, "api");
      for (IMap<String, String> m : List.of(catalog, contents, schedules, tombstones)) {
        m.set(up + "/evil", record);
        m.set(up + "/victim", record);
        m.remove(up + "/victim");
      }
      // SUCCESS records of the genuine schedule naming files outside its pattern and directory.
      for (String[] f : new String[][] {{"precious.tar", cluster.backups.toString()}, {"victim.tar", canary.toString()}}) {
        String id = UUID.randomUUID().toString();
        forgedIds.add(id);
        catalog.set(id, forged(id, f[0], f[1], BackupState.SUCCESS, "schedule:" + scheduleId));
      }
      // An IN_PROGRESS record of a member that does not exist, in the canary: the reaper's business.
      forgedIds.add(orphan);
      catalog.set(orphan, forged(orphan, "victim.tar", canary.toString(), BackupState.IN_PROGRESS, "api"));
      // Schedules writing into /etc and into the backup directory, every second.
      for (String dir : List.of("/etc", cluster.backups.toString())) {
        Schedule s = new Schedule(UUID.randomUUID().toString(), "@every 1s", false, dir, false, true, "rogue", null,
            null, null, Instant.now().minusSeconds(10), 0);
        forgedIds.add(s.id());
        schedules.set(s.id(), s.toJson().encode());
      }
      tombstones.set(scheduleId, String.valueOf(System.currentTimeMillis()));
      // A token it chose, and a genuine token's sealed entry copied under its own token's key.
      String adminEntry = tokens.get(sha256(token));
      assertThat(adminEntry).as("the rogue reads the cluster's state").isNotNull();
      tokens.set(sha256(rogueToken), new JsonObject().put("username", "admin").put("roles",
          new io.vertx.core.json.JsonArray().add("admin")).encode());
      String copiedToken = "copied-token-" + UUID.randomUUID();
      tokens.set(sha256(copiedToken), adminEntry);
      failures.set("admin", "99");
      lock.set("backup", new JsonObject().put("backupId", "forged").put("node", "rogue").encode());

      // The genuine schedule goes on, and its retention runs (it prunes its own older archive).
      await("retention of the genuine schedule ran").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
          .until(() -> details(token).stream().anyMatch(b -> ("schedule:" + scheduleId).equals(b.getString("origin"))
              && b.getValue("prunedAt") != null));
      assertThat(cluster.api(1).get("/api/ucp/backup/schedules/" + scheduleId, token).status())
          .as("a forged tombstone deletes nothing").isEqualTo(200);
      assertThat(cluster.api(0).delete("/api/ucp/backup/schedules/" + scheduleId, token).status()).isEqualTo(204);
      await("its last backup ended").atMost(Duration.ofSeconds(60)).until(() -> details(token).stream()
          .noneMatch(b -> b.getString("backupState").equals("IN_PROGRESS")));

      assertThat(cluster.api(0).get("/api/ucp/backups", rogueToken).status()).isEqualTo(401);
      assertThat(cluster.api(1).get("/api/ucp/backups", copiedToken).status()).isEqualTo(401);
      assertThat(cluster.api(1).get("/api/ucp/backups", token).status()).as("the genuine token still works")
          .isEqualTo(200);
      assertThat(cluster.api(0).login("admin", cluster.password)).as("no lockout from a forged count").isNotBlank();
      assertThat(cluster.api(0).get("/api/ucp/backup/schedules", token).array()).isEmpty();
    } finally {
      rogue.shutdown();
    }
    // The rogue's departure makes every manager look for orphaned backups: the forged one is none.
    await("the canary stays as it was").during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
        .until(() -> snapshot(canary).equals(canaryBefore));
    assertThat(cluster.backups.resolve("precious.tar")).exists();
    assertThat(Files.getLastModifiedTime(Path.of("/etc"))).isEqualTo(etcBefore);
    List<JsonObject> all = details(token);
    assertThat(all).as("no backup of a forged schedule, no forged record")
        .allMatch(b -> !forgedIds.contains(b.getString("id")))
        .allMatch(b -> forgedIds.stream().noneMatch(id -> ("schedule:" + id).equals(b.getString("origin"))));
    try (Stream<Path> files = Files.list(cluster.backups)) {
      assertThat(files.map(p -> p.getFileName().toString())).allMatch(n -> n.equals("precious.tar")
          || n.startsWith("genuine-") || all.stream().anyMatch(b -> n.equals(b.getString("fileName"))));
    }
    for (ManagerProcess m : cluster.managers) {
      try (Stream<Path> files = Files.walk(m.dataDir)) {
        assertThat(files.map(p -> m.dataDir.relativize(p).toString())).as(m.node + "'s data directory")
            .noneMatch(n -> n.contains("evil") || n.contains("victim"));
      }
    }
    assertThat(cluster.allLogs()).contains("its MAC is missing or wrong").contains("not an id a manager makes");
  }

  @Test
  void aTlsClientWithoutAMemberCertificateCannotTalkToTheEventBus() throws Exception {
    Matcher m = Pattern.compile("event bus on ([0-9.]+):(\\d+) \\(mutual TLS\\)").matcher(cluster.managers.get(0).logText());
    assertThat(m.find()).as("the manager logs its event-bus address").isTrue();
    int port = Integer.parseInt(m.group(2));
    // The test derived the member CA on its own from the same key: the manager accepts its certificate.
    try (SSLSocket s = tls(port, trust.memberCa().issueMember("it-tool", List.of()))) {
      s.startHandshake();
      s.setSoTimeout(1000);
      assertThatThrownBy(() -> s.getInputStream().read()).as("admitted: the connection stays open")
          .isInstanceOf(java.net.SocketTimeoutException.class);
    }
    assertRefused(port, null);
    assertRefused(port, Certificates.selfSignedServer("rogue", List.of("127.0.0.1")));
  }

  @Test
  void aJobSentStraightToAWorkerIsCheckedAgainstItsOwnRules() throws Exception {
    Path link = Files.createSymbolicLink(cluster.backups.resolve("to-canary-" + UUID.randomUUID()), canary);
    String node = cluster.managers.get(1).node;
    Config config = new ClusterSettings(configuredName, "127.0.0.1", DemoFixture.freePort(), memberAddresses,
        "it-tool").memberConfig(trust);
    Vertx member = Vertx.builder().with(new VertxOptions().setEventBusOptions(trust.eventBusOptions("127.0.0.1",
        "it-tool"))).withClusterManager(new HazelcastClusterManager(config)).buildClustered()
        .toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    String etcName = "mke-backup-trust-it-" + UUID.randomUUID() + ".tar";
    try {
      Object[][] jobs = {
          {job(etcName, "/etc").put("noPassphrase", true), "hostPath"},
          {job("x.tar", link.toString()).put("noPassphrase", true), "hostPath"},
          {job("../../etc/" + etcName, cluster.backups.toString()).put("noPassphrase", true), "fileName"},
          {job("plain.tar", cluster.backups.toString()), "passphrase"},
          {job("short.tar", cluster.backups.toString()).put("passphrase", "short"), "passphrase"},
          {job("x.tar", cluster.backups.toString()).put("noPassphrase", true).put("id", "../../x"), "id"},
      };
      for (Object[] j : jobs) {
        JsonObject body = (JsonObject) j[0];
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
            member.eventBus().<JsonObject>request(Addresses.jobsOn(node), body, new DeliveryOptions().setSendTimeout(30_000))
                .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS), body.encode());
        assertThat(e.getCause()).isInstanceOfSatisfying(ReplyException.class, r -> {
          assertThat(r.failureType()).as(body.encode() + ": " + r.getMessage()).isEqualTo(ReplyFailure.RECIPIENT_FAILURE);
          JsonObject error = new JsonObject(r.getMessage());
          assertThat(error.getString("code")).isEqualTo("INVALID_FIELD");
          assertThat(error.getString("field")).as(body.encode()).isEqualTo(j[1]);
        });
        String id = body.getString("id");
        if (!id.contains("/")) {
          assertThat(cluster.api(0).get("/api/ucp/backup/" + id, cluster.token(0)).status()).as("no record")
              .isEqualTo(404);
        }
      }
      // The same address takes a job within its rules: the refusals are the rules, not the route.
      JsonObject ok = member.eventBus().<JsonObject>request(Addresses.jobsOn(node),
          job("straight.tar", cluster.backups.toString()).put("noPassphrase", true),
          new DeliveryOptions().setSendTimeout(30_000)).toCompletionStage().toCompletableFuture()
          .get(60, TimeUnit.SECONDS).body();
      assertThat(ok.getString("nodeLocation")).isEqualTo(node);
      cluster.awaitState(0, cluster.token(0), ok.getString("backupId"), BackupState.SUCCESS, Duration.ofSeconds(60));
    } finally {
      member.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      Files.deleteIfExists(link);
    }
    assertThat(Path.of("/etc", etcName)).doesNotExist();
    assertThat(Tools.listing(canary)).noneMatch(n -> n.endsWith(".tar") && !n.equals("victim.tar"));
  }

  @Test
  void aManagerOfThePreviousVersionFormsAnotherClusterAndTheNewOneSaysWhyKeepingItsHistory() throws Exception {
    // A member configured as the previous version was: the documented cluster name, nothing derived.
    int oldPort = DemoFixture.freePort();
    HazelcastInstance old = Hazelcast.newHazelcastInstance(plainMember("mke-backup", oldPort, List.of()));
    try (ManagerCluster upgraded = ManagerCluster.start(1, Map.of("MKE_BACKUP_CLUSTER_NAME", "mke-backup",
        "MKE_BACKUP_CLUSTER_MEMBERS", "127.0.0.1:" + oldPort))) {
      ManagerProcess m = upgraded.managers.get(0);
      await().atMost(Duration.ofSeconds(30)).until(() -> m.logText().contains("[127.0.0.1]:" + oldPort
          + " belongs to another cluster and this manager will not join it: it is an mke-backup manager of a version"
          + " without cluster trust"));
      assertThat(m.logText()).containsPattern("trust fingerprint [0-9a-f]{8}");
      assertThat(old.getCluster().getMembers()).hasSize(1);

      // Its catalog and schedules, as the previous version mirrored them (no MAC), survive a restart.
      m.stop();
      BackupRecord record = BackupRecord.inProgress(UUID.randomUUID().toString(), true, "before-upgrade.tar", "",
          upgraded.backups.toString(), "old-node", "gone", "api").succeeded(10, 1, 10);
      Files.writeString(m.dataDir.resolve("catalog/" + record.id() + ".json"), record.toStoredJson().encode());
      Schedule kept = new Schedule(UUID.randomUUID().toString(), "0 3 * * *", true, upgraded.backups.toString(), false,
          true, "nightly", null, 7, null, Instant.now(), 0);
      Schedule deleted = new Schedule(UUID.randomUUID().toString(), "0 4 * * *", true, upgraded.backups.toString(),
          false, true, "gone", null, null, null, Instant.now(), 0);
      Files.createDirectories(m.dataDir.resolve("schedules"));
      Files.writeString(m.dataDir.resolve("schedules/" + kept.id() + ".json"), kept.toJson().encode());
      Files.writeString(m.dataDir.resolve("schedules/" + deleted.id() + ".json"), deleted.toJson().encode());
      Files.writeString(m.dataDir.resolve("schedules/" + deleted.id() + ".deleted"), "1700000000000");
      m.start();
      upgraded.awaitReady(1);
      String token = upgraded.token(0);
      assertThat(upgraded.record(0, token, record.id()).getString("fileName")).isEqualTo("before-upgrade.tar");
      assertThat(upgraded.api(0).get("/api/ucp/backup/schedules", token).array().stream()
          .map(o -> ((JsonObject) o).getString("id"))).containsExactly(kept.id());
    } finally {
      old.shutdown();
    }
  }

  /** A plain Hazelcast member on loopback that tries to join the managers: no trust in it. */
  static Config plainMember(String clusterName, int port, List<String> members) {
    Config c = new Config();
    c.setClusterName(clusterName);
    c.setProperty("hazelcast.logging.type", "jdk");
    c.setProperty("hazelcast.phone.home.enabled", "false");
    c.setProperty("hazelcast.local.localAddress", "127.0.0.1");
    c.setProperty("hazelcast.wait.seconds.before.join", "1");
    c.getNetworkConfig().setPort(port).setPortAutoIncrement(false);
    c.getNetworkConfig().getJoin().getMulticastConfig().setEnabled(false);
    c.getNetworkConfig().getJoin().getAutoDetectionConfig().setEnabled(false);
    c.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(true).setMembers(members);
    return c;
  }

  static String forged(String id, String fileName, String dir, BackupState state, String origin) {
    Instant at = Instant.parse("2020-01-01T00:00:00Z");
    return new BackupRecord(id, false, fileName, "", dir, state, "rogue", "", at,
        state == BackupState.IN_PROGRESS ? null : at, "no-such-member", 1, 1, 1, origin, 0, null).toStoredJson().encode();
  }

  static JsonObject job(String fileName, String hostPath) {
    return new JsonObject().put("id", UUID.randomUUID().toString()).put("fileName", fileName).put("logFileName", "")
        .put("hostPath", hostPath).put("origin", "api");
  }

  static List<JsonObject> details(String token) throws Exception {
    return cluster.api(0).get("/api/ucp/backups/details", token).array().stream().map(o -> (JsonObject) o).toList();
  }

  static String sha256(String token) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
  }

  static Map<String, String> snapshot(Path dir) throws IOException {
    Map<String, String> m = new TreeMap<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        m.put(dir.relativize(f).toString(), Files.readString(f));
      }
    }
    return m;
  }

  static void assertRefused(int port, Certificates.Issued clientCert) throws Exception {
    try (SSLSocket s = tls(port, clientCert)) {
      s.setSoTimeout(5000);
      s.startHandshake();
      // TLS 1.3: the server checks the client's certificate after the client considers the
      // handshake done, so the refusal arrives on the first read.
      s.getOutputStream().write(new byte[] {0, 0, 0, 1, 0});
      s.getOutputStream().flush();
      assertThat(s.getInputStream().read()).as("the member closed the connection").isEqualTo(-1);
    } catch (javax.net.ssl.SSLException | java.net.SocketException refusedAtHandshake) {
      // refused
    }
  }

  /** A raw TLS client that trusts any server, presenting the given certificate (or none). */
  static SSLSocket tls(int port, Certificates.Issued clientCert) throws Exception {
    KeyManagerFactory kmf = null;
    if (clientCert != null) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(clientCert.certPem().getBytes(StandardCharsets.US_ASCII)));
      ks.setKeyEntry("client", clientCert.key(), new char[0], new java.security.cert.Certificate[] {cert});
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), new TrustManager[] {Tools.TRUST_ANY}, null);
    return (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
  }
}
