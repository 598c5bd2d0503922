package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three real managers (separate JVMs, Hazelcast on loopback) over a real Docker engine and etcd:
 * one backup at a time cluster-wide, a member killed mid-backup, a whole-cluster restart. Backups
 * are slowed to 1 MiB/s (the managers' rate cap) so that they last long enough to collide with.
 */
@Tag("integration")
@Tag("alone")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterServiceIT {
  static final String PASSPHRASE = "cluster-it-passphrase-" + System.nanoTime();
  static ManagerCluster cluster;
  static final List<String> seenTokens = new ArrayList<>();
  static final StringBuilder seenOutput = new StringBuilder();

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = ManagerCluster.start(3, Map.of("MKE_BACKUP_MAX_RATE_MIB", "1", "MKE_BACKUP_STOP_WAIT_SECONDS", "120"));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  static String token(int i) throws Exception {
    String t = cluster.token(i);
    seenTokens.add(t);
    return t;
  }

  static String body(String fileName) {
    return new JsonObject().put("passphrase", PASSPHRASE).put("fileName", fileName).put("includeLogs", true).encode();
  }

  @Test
  @Order(1)
  void concurrentPostsOnThreeGatewaysGiveExactlyOneBackup() throws Exception {
    List<String> tokens = List.of(token(0), token(1), token(2));
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(6);
    List<CompletableFuture<Api.Response>> calls = new ArrayList<>();
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < 3; i++) {
        int node = i;
        String file = "concurrent-" + round + "-" + i + ".tar";
        calls.add(CompletableFuture.supplyAsync(() -> {
          try {
            go.await();
            return cluster.api(node).post("/api/ucp/backup", body(file), tokens.get(node));
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, pool));
      }
    }
    go.countDown();
    List<Api.Response> responses = calls.stream().map(CompletableFuture::join).toList();
    pool.shutdown();
    responses.forEach(r -> seenOutput.append(r.body()));

    List<Api.Response> ok = responses.stream().filter(r -> r.status() == 200).toList();
    List<Api.Response> busy = responses.stream().filter(r -> r.status() == 409).toList();
    assertThat(ok).as("exactly one accepted: %s", responses).hasSize(1);
    assertThat(busy).as("the rest refused: %s", responses).hasSize(5);
    String id = ok.get(0).json().getString("backupId");
    JsonObject running = cluster.record(0, tokens.get(0), id);
    for (Api.Response r : busy) {
      assertThat(r.json().getString("code")).isEqualTo("BACKUP_RUNNING");
      assertThat(r.json().getString("message")).contains("another backup is running").contains(id)
          .contains(running.getString("nodeLocation"));
    }

    // Progress as Server-Sent Events from a gateway other than the one running it, to the end.
    int other = cluster.managers.stream().map(m -> m.node).toList().indexOf(running.getString("nodeLocation")) == 0 ? 1 : 0;
    List<String> lines;
    try (Stream<String> sse = cluster.api(other).stream("/api/ucp/backup/" + id + "/events", tokens.get(other))) {
      lines = sse.collect(Collectors.toList());
    }
    seenOutput.append(String.join("\n", lines));
    List<JsonObject> events = lines.stream().filter(l -> l.startsWith("data: ")).map(l -> new JsonObject(l.substring(6)))
        .toList();
    assertThat(events.get(0).getString("backupState")).isEqualTo("IN_PROGRESS");
    List<String> steps = events.stream().skip(1).filter(e -> "done".equals(e.getString("kind")))
        .map(e -> e.getString("step")).distinct().toList();
    assertThat(steps).contains("volume", "etcd", "auth-store", "finalize");
    assertThat(events.stream().skip(1).filter(e -> "progress".equals(e.getString("kind")))
        .mapToLong(e -> e.getLong("totalBytes")).toArray()).as("byte counts grow").isSorted().isNotEmpty();
    JsonObject last = events.get(events.size() - 1);
    assertThat(last.getString("kind")).isEqualTo("succeeded");
    assertThat(last.getString("node")).isEqualTo(running.getString("nodeLocation"));

    JsonObject done = cluster.record(2, tokens.get(2), id);
    assertThat(done.getString("backupState")).isEqualTo("SUCCESS");
    assertThat(Files.size(cluster.backups.resolve(done.getString("fileName")))).isPositive();
    assertThat(Files.exists(cluster.backups.resolve(done.getString("logFileName")))).isTrue();
  }

  @Test
  @Order(2)
  void killNineOfTheMemberRunningABackupFailsItWithin15sAndTheNextSucceedsElsewhere() throws Exception {
    String t0 = token(0);
    String t1 = token(1);
    Api.Response accepted = cluster.api(0).post("/api/ucp/backup", body("killed.tar"), t0);
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
    String id = accepted.json().getString("backupId");
    ManagerProcess owner = cluster.managers.get(0);
    assertThat(cluster.record(1, t1, id).getString("nodeLocation")).isEqualTo(owner.node);
    // Wait until it is writing (its temporary file exists), then kill its JVM outright.
    await().atMost(Duration.ofSeconds(30)).until(() -> partFiles().size() > 0);
    java.time.Instant killedAt = java.time.Instant.now();
    owner.kill9();

    // The promise is the record's: it is marked FAILED (its completed_at, set by the member that
    // marked it) within 15 s of the kill; the test may take longer to read it on a busy machine.
    JsonObject failed = cluster.awaitState(1, t1, id, BackupState.FAILED, Duration.ofSeconds(60));
    assertThat(failed.getString("shortError")).contains(owner.node);
    assertThat(failed.getString("completed_at")).isNotEqualTo("0001-01-01T00:00:00Z");
    Duration markedAfter = Duration.between(killedAt, java.time.Instant.parse(failed.getString("completed_at")));
    System.out.printf("backup of the killed member marked FAILED %.1f s after the kill%n", markedAfter.toMillis() / 1e3);
    assertThat(markedAfter).as("from the kill to the record's completed_at").isPositive()
        .isLessThanOrEqualTo(Duration.ofSeconds(15));
    await("temporary files removed").atMost(Duration.ofSeconds(5)).until(() -> partFiles().isEmpty());
    assertThat(cluster.backups.resolve("killed.tar")).doesNotExist();

    Api.Response next = cluster.api(1).post("/api/ucp/backup", body("after-kill.tar"), t1);
    assertThat(next.status()).as(next.body()).isEqualTo(200);
    JsonObject ok = cluster.awaitState(2, token(2), next.json().getString("backupId"), BackupState.SUCCESS,
        Duration.ofSeconds(60));
    assertThat(ok.getString("nodeLocation")).isNotEqualTo(owner.node);

    owner.start();
    cluster.awaitReady(3);
  }

  @Test
  @Order(3)
  void historySurvivesARestartOfEveryMember() throws Exception {
    // A history of its own, whatever ran before: a success and a refusal.
    String t = token(2);
    Api.Response accepted = cluster.api(2).post("/api/ucp/backup", body("history.tar"), t);
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
    String id = accepted.json().getString("backupId");
    cluster.awaitState(2, t, id, BackupState.SUCCESS, Duration.ofSeconds(60));
    JsonArray before = cluster.api(2).get("/api/ucp/backups", t).array();
    assertThat(before.stream().map(o -> ((JsonObject) o).getString("id"))).contains(id);
    for (ManagerProcess m : cluster.managers) {
      m.stop();
    }
    for (ManagerProcess m : cluster.managers) {
      m.start();
    }
    cluster.awaitReady(3);
    JsonArray after = cluster.api(1).get("/api/ucp/backups", token(1)).array();
    seenOutput.append(after.encode());
    assertThat(after).isEqualTo(before);
    // newest first
    List<String> created = after.stream().map(o -> ((JsonObject) o).getString("created_at")).toList();
    assertThat(created).isSortedAccordingTo(java.util.Comparator.reverseOrder());
  }

  @Test
  @Order(4)
  void aBackupRunningWhenEveryMemberDiedIsFailedAtStartUp() throws Exception {
    Api.Response accepted = cluster.api(0).post("/api/ucp/backup", body("whole-cluster-down.tar"), token(0));
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
    String id = accepted.json().getString("backupId");
    await().atMost(Duration.ofSeconds(30)).until(() -> partFiles().size() > 0);
    for (ManagerProcess m : cluster.managers) {
      m.kill9();
    }
    for (ManagerProcess m : cluster.managers) {
      m.start();
    }
    cluster.awaitReady(3);
    JsonObject failed = cluster.awaitState(2, token(2), id, BackupState.FAILED, Duration.ofSeconds(30));
    assertThat(failed.getString("shortError")).contains(cluster.managers.get(0).node);
    await("temporary files removed").atMost(Duration.ofSeconds(10)).until(() -> partFiles().isEmpty());
    assertThat(cluster.backups.resolve("whole-cluster-down.tar")).doesNotExist();
  }

  @Test
  @Order(5)
  void noPassphrasePasswordOrTokenInAnyLogRecordEventOrError() throws Exception {
    String t = token(0);
    // A backup of its own with the passphrase, followed to its end, whatever ran before.
    Api.Response accepted = cluster.api(0).post("/api/ucp/backup", body("secrets.tar"), t);
    seenOutput.append(accepted.body());
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
    String id = accepted.json().getString("backupId");
    try (Stream<String> sse = cluster.api(1).stream("/api/ucp/backup/" + id + "/events", token(1))) {
      sse.forEach(line -> seenOutput.append(line).append('\n'));
    }
    seenOutput.append(cluster.awaitState(2, token(2), id, BackupState.SUCCESS, Duration.ofSeconds(60)).encode());
    // One character short of the minimum: refused, so it starts no backup that would outlive this test.
    Api.Response shortOne = cluster.api(0).post("/api/ucp/backup",
        new JsonObject().put("passphrase", "shrt-s3cret").encode(), t);
    seenOutput.append(shortOne.body());
    assertThat(shortOne.status()).as(shortOne.body()).isEqualTo(400);
    seenOutput.append(cluster.api(0).get("/api/ucp/backups", t).body());
    StringBuilder disk = new StringBuilder();
    for (ManagerProcess m : cluster.managers) {
      try (Stream<java.nio.file.Path> files = Files.walk(m.dataDir.resolve("catalog"))) {
        for (java.nio.file.Path f : files.filter(Files::isRegularFile).toList()) {
          disk.append(Files.readString(f));
        }
      }
    }
    String everything = cluster.allLogs() + seenOutput + disk;
    assertThat(everything).contains("backupState"); // the haystack is real
    assertThat(everything).doesNotContain(PASSPHRASE).doesNotContain("shrt-s3cret").doesNotContain(cluster.password);
    for (String token : seenTokens) {
      assertThat(everything).doesNotContain(token);
    }
  }

  /**
   * A manager stopped (SIGTERM) while its backup runs, as a Swarm rolling update stops a task:
   * with a stop wait, it takes no new job (one sent to it goes to another manager's worker, which
   * finds the backup running), lets its backup finish as SUCCESS, and only then leaves.
   */
  @Test
  @Order(6)
  void aManagerStoppedMidBackupLetsItFinishAndSendsNewJobsElsewhere() throws Exception {
    String t0 = token(0);
    String t1 = token(1);
    Api.Response accepted = cluster.api(0).post("/api/ucp/backup", body("drained.tar"), t0);
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
    String id = accepted.json().getString("backupId");
    ManagerProcess owner = cluster.managers.get(0);
    assertThat(cluster.record(1, t1, id).getString("nodeLocation")).isEqualTo(owner.node);
    await().atMost(Duration.ofSeconds(30)).until(() -> partFiles().size() > 0);
    owner.terminate();
    await("the stopping manager waits for its backup").atMost(Duration.ofSeconds(30))
        .until(() -> owner.logText().contains("stopping: waiting up to 120 s"));
    // Its gateway still answers; the job goes to another worker, which finds the backup running.
    Api.Response meanwhile = cluster.api(0).post("/api/ucp/backup", body("while-stopping.tar"), t0);
    assertThat(meanwhile.status()).as(meanwhile.body()).isEqualTo(409);
    assertThat(meanwhile.json().getString("code")).isEqualTo("BACKUP_RUNNING");
    assertThat(owner.alive()).as("still there while its backup runs").isTrue();
    JsonObject done = cluster.awaitState(1, t1, id, BackupState.SUCCESS, Duration.ofSeconds(120));
    assertThat(done.getString("nodeLocation")).isEqualTo(owner.node);
    assertThat(cluster.backups.resolve("drained.tar")).isRegularFile();
    await("the manager leaves once its backup is done").atMost(Duration.ofSeconds(60)).until(() -> !owner.alive());
    assertThat(owner.logText()).contains("stopping: no backup runs here");
    assertThat(partFiles()).isEmpty();
    owner.start();
    cluster.awaitReady(3);
  }

  static List<java.nio.file.Path> partFiles() throws java.io.IOException {
    try (Stream<java.nio.file.Path> s = Files.list(cluster.backups)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
    }
  }
}
