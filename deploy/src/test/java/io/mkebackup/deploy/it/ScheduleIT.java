package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Scheduled backups on three real managers: every tick fires once in the cluster, also across a
 * kill -9 of the member that fired the last one; retention keeps exactly N files; a tick that
 * collides with a manual backup is recorded as skipped; the passphrase never shows.
 */
@Tag("integration")
@Tag("alone")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ScheduleIT {
  static final String PASSPHRASE = "schedule-it-secret-" + System.nanoTime();
  static ManagerCluster cluster;
  static Path passphraseFile;
  static String token;

  @BeforeAll
  static void start() throws Exception {
    // Ticks seconds apart keep the test short: lower the 1-minute minimum between scheduled backups.
    cluster = ManagerCluster.start(3, Map.of("MKE_BACKUP_MIN_EVERY_SECONDS", "1"));
    passphraseFile = Scratch.file("mke-schedule-pass-", ".txt",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(passphraseFile, PASSPHRASE + "\n");
    token = cluster.token(0);
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  static List<JsonObject> backupsOf(int manager, String scheduleId) throws Exception {
    return cluster.api(manager).get("/api/ucp/backups/details", cluster.token(manager)).array().stream()
        .map(o -> (JsonObject) o).filter(o -> ("schedule:" + scheduleId).equals(o.getString("origin"))).toList();
  }

  static List<String> files(String prefix) throws Exception {
    try (Stream<Path> s = Files.list(cluster.backups)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix)).sorted().toList();
    }
  }

  @Test
  @Order(1)
  void scheduleApiValidatesAndNeverShowsThePassphrase() throws Exception {
    Api api = cluster.api(0);
    String base = "/api/ucp/backup/schedules";
    Object[][] bad = {
        {new JsonObject().put("cron", "@every 10s").put("passphrase", PASSPHRASE), "passphrase"},
        {new JsonObject().put("cron", "61 * * * *").put("noPassphrase", true), "cron"},
        {new JsonObject().put("cron", "@every soon").put("noPassphrase", true), "cron"},
        {new JsonObject().put("cron", "@every 10s"), "passphraseFile"},
        {new JsonObject().put("cron", "@every 10s").put("noPassphrase", true).put("passphraseFile", passphraseFile.toString()), "passphraseFile"},
        {new JsonObject().put("cron", "@every 10s").put("passphraseFile", "/nonexistent/secret"), "passphraseFile"},
        {new JsonObject().put("cron", "@every 10s").put("noPassphrase", true).put("hostPath", "/nonexistent"), "hostPath"},
        {new JsonObject().put("cron", "@every 10s").put("noPassphrase", true).put("retention", new JsonObject().put("keepLast", 0)), "retention.keepLast"},
        {new JsonObject().put("cron", "@every 10s").put("noPassphrase", true).put("retention", new JsonObject().put("maxAge", "a week")), "retention.maxAge"},
        {new JsonObject().put("cron", "@every 10s").put("noPassphrase", true).put("fileNamePrefix", "../x"), "fileNamePrefix"},
    };
    JsonArray existing = api.get(base, token).array();
    for (Object[] c : bad) {
      Api.Response r = api.post(base, c[0].toString(), token);
      assertThat(r.status()).as(c[0] + " -> " + r.body()).isEqualTo(400);
      assertThat(r.json().getString("field")).isEqualTo(c[1]);
      assertThat(r.body()).doesNotContain(PASSPHRASE);
    }
    assertThat(api.get(base, token).array()).as("nothing refused was stored").isEqualTo(existing);
    assertThat(api.get(base + "/nope", token).status()).isEqualTo(404);
    assertThat(api.get(base, null).status()).isEqualTo(401);

    Api.Response created = api.post(base, new JsonObject().put("cron", "0 3 * * *").put("paused", true)
        .put("passphraseFile", passphraseFile.toString()).put("retention", new JsonObject().put("maxAge", "168h"))
        .encode(), token);
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    JsonObject s = created.json();
    assertThat(s.getString("passphraseFile")).isEqualTo(passphraseFile.toString());
    assertThat(s.getJsonObject("retention").getString("maxAge")).isEqualTo("168h");
    assertThat(created.body()).doesNotContain(PASSPHRASE);
    String id = s.getString("id");
    // Every manager sees it; a PUT changes it; a DELETE removes it.
    assertThat(cluster.api(2).get(base + "/" + id, cluster.token(2)).json().getString("cron")).isEqualTo("0 3 * * *");
    Api.Response put = cluster.api(1).put(base + "/" + id, new JsonObject().put("cron", "30 4 * * 1-5").put("paused", true)
        .put("noPassphrase", true).encode(), cluster.token(1));
    assertThat(put.status()).as(put.body()).isEqualTo(200);
    assertThat(put.json().getString("nextTick")).isEqualTo("0001-01-01T00:00:00Z"); // paused
    assertThat(api.delete(base + "/" + id, token).status()).isEqualTo(204);
    assertThat(api.get(base + "/" + id, token).status()).isEqualTo(404);
  }

  @Test
  @Order(2)
  void eachTickFiresOnceAcrossAKillAndRetentionKeepsExactlyN() throws Exception {
    Api.Response created = cluster.api(1).post("/api/ucp/backup/schedules", new JsonObject()
        .put("cron", "@every 3s").put("passphraseFile", passphraseFile.toString()).put("fileNamePrefix", "every3s")
        .put("includeLogs", true).put("retention", new JsonObject().put("keepLast", 2)).encode(), cluster.token(1));
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    String id = created.json().getString("id");

    await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(300)).until(() ->
        backupsOf(1, id).size() >= 3 && backupsOf(1, id).get(0).getString("backupState").equals("SUCCESS"));
    String lastNode = backupsOf(1, id).get(0).getString("nodeLocation");
    int victim = cluster.managers.stream().map(m -> m.node).toList().indexOf(lastNode);
    cluster.managers.get(victim).kill9();
    int survivor = victim == 0 ? 1 : 0;
    int before = backupsOf(survivor, id).size();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() ->
        backupsOf(survivor, id).size() >= before + 3);
    assertThat(cluster.api(survivor).delete("/api/ucp/backup/schedules/" + id, cluster.token(survivor)).status())
        .isEqualTo(204);
    await().atMost(Duration.ofSeconds(30)).until(() -> backupsOf(survivor, id).stream()
        .noneMatch(b -> b.getString("backupState").equals("IN_PROGRESS")));

    List<JsonObject> all = backupsOf(survivor, id);
    List<Long> ticks = new ArrayList<>(all.stream().map(b -> b.getLong("tick")).toList());
    ticks.sort(null);
    assertThat(ticks).as("one backup per tick").doesNotHaveDuplicates();
    for (int i = 1; i < ticks.size(); i++) {
      assertThat(ticks.get(i) - ticks.get(i - 1)).as("consecutive ticks %s", ticks).isEqualTo(3000L);
    }
    assertThat(all.stream().map(b -> b.getString("nodeLocation")).distinct().count())
        .as("fired by more than one member").isGreaterThan(1);
    assertThat(all.stream().filter(b -> b.getString("backupState").equals("SUCCESS")).count()).isGreaterThanOrEqualTo(4);

    // Retention: exactly two of this schedule's archives (and their logs) remain, the newest two.
    await().atMost(Duration.ofSeconds(10)).until(() -> files("every3s").stream().filter(n -> n.endsWith(".tar")).count() == 2);
    List<JsonObject> kept = backupsOf(survivor, id).stream()
        .filter(b -> b.getString("backupState").equals("SUCCESS") && b.getValue("prunedAt") == null).toList();
    assertThat(kept).hasSize(2);
    assertThat(files("every3s")).containsExactlyInAnyOrder(kept.get(0).getString("fileName"),
        kept.get(1).getString("fileName"), kept.get(0).getString("logFileName"), kept.get(1).getString("logFileName"));
    assertThat(backupsOf(survivor, id).stream().filter(b -> b.getValue("prunedAt") != null).count())
        .isEqualTo(all.stream().filter(b -> b.getString("backupState").equals("SUCCESS")).count() - 2);
    assertThat(cluster.allLogs()).contains("retention removed").doesNotContain(PASSPHRASE);

    cluster.managers.get(victim).start();
    cluster.awaitReady(3);
    // The schedule was deleted while the victim was down: its copy on the victim's disk stays dead.
    assertThat(cluster.api(victim).get("/api/ucp/backup/schedules/" + id, cluster.token(victim)).status())
        .isEqualTo(404);
    assertThat(cluster.api(victim).get("/api/ucp/backup/schedules", cluster.token(victim)).array()).isEmpty();
  }

  @Test
  @Order(3)
  void aTickCollidingWithAManualBackupIsRecordedAsSkipped() throws Exception {
    // A manual CLI backup to a pipe nobody reads holds the cluster's lock.
    List<String> cmd = new ArrayList<>(ProductJvm.java());
    cmd.addAll(List.of("-jar", Cli.JAR.toAbsolutePath().toString(), "backup", "--no-passphrase",
        "--cluster-members", "127.0.0.1:" + cluster.managers.get(0).clusterPort,
        "--cluster-name", "it-" + cluster.demo.prefix));
    cmd.addAll(cluster.demo.cliOptions());
    Process cli = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> cluster.api(0).get("/api/ucp/backups/details", token).array()
          .stream().map(o -> (JsonObject) o).anyMatch(o -> o.getString("origin").equals("cli")
              && o.getString("backupState").equals("IN_PROGRESS")));
      Api.Response created = cluster.api(0).post("/api/ucp/backup/schedules", new JsonObject()
          .put("cron", "@every 2s").put("noPassphrase", true).put("fileNamePrefix", "colliding").encode(), token);
      String id = created.json().getString("id");
      await().atMost(Duration.ofSeconds(20)).until(() -> !backupsOf(0, id).isEmpty());
      cluster.api(0).delete("/api/ucp/backup/schedules/" + id, token);
      JsonObject skipped = backupsOf(0, id).get(0);
      assertThat(skipped.getString("backupState")).isEqualTo("FAILED");
      assertThat(skipped.getString("shortError")).startsWith("skipped: another backup is running").contains("it-node");
      assertThat(files("colliding")).isEmpty();
    } finally {
      cli.destroyForcibly();
      cli.waitFor(30, TimeUnit.SECONDS);
    }
    // Leave the cluster as found: the killed CLI's lock freed and its backup ended by the reaper.
    await().atMost(Duration.ofSeconds(60)).until(() -> cluster.api(0).get("/api/ucp/backups", token).array().stream()
        .map(o -> (JsonObject) o).noneMatch(o -> o.getString("backupState").equals("IN_PROGRESS")));
  }
}
