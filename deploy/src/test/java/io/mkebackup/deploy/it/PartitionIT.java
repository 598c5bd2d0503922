package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three real managers on 127.0.0.1, 127.0.0.2 and 127.0.0.3, with real signals and a real
 * partition: a manager paused (SIGSTOP) in the middle of a backup for longer than the others take
 * to declare it dead never writes another byte when it wakes, its backup stays FAILED and it is
 * back in the cluster within 30 s; a manager cut off from the other two by iptables refuses to
 * start a backup while the two can, and after healing there is one history. Backups are slowed
 * (0.5 MiB/s) so that they last long enough to collide with.
 */
@Tag("integration")
@Tag("alone")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PartitionIT {
  static final String PASSPHRASE = "partition-it-passphrase-" + System.nanoTime();
  static ManagerCluster cluster;
  static CommandLineWatch commandLines;

  @BeforeAll
  static void start() throws Exception {
    cluster = ManagerCluster.start(3, Map.of("MKE_BACKUP_MAX_RATE_MIB", "0.5"),
        List.of("127.0.0.1", "127.0.0.2", "127.0.0.3"), 0);
    commandLines = CommandLineWatch.start(PASSPHRASE, cluster.password);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (commandLines != null) {
        // Proof that the sampling read the command lines at all: it saw the managers'.
        commandLines.closeAndAssertNoLeaks("the managers' command line",
            l -> l.contains(Cli.JAR.toAbsolutePath() + " manager"));
      }
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }

  static String body(String fileName) {
    return new JsonObject().put("passphrase", PASSPHRASE).put("fileName", fileName).encode();
  }

  static List<Path> parts(String fileName) throws Exception {
    try (Stream<Path> s = Files.list(cluster.backups)) {
      return s.filter(p -> p.getFileName().toString().startsWith("." + fileName + ".")
          && p.getFileName().toString().endsWith(".part")).toList();
    }
  }

  /** What the managers logged about the cluster's membership: to explain a failure. */
  static String membershipChanges() {
    StringBuilder b = new StringBuilder("membership as the managers logged it:\n");
    for (ManagerProcess m : cluster.managers) {
      m.logText().lines().filter(l -> l.contains("Members {") || l.contains("split") || l.contains("merge")
          || l.contains("suspect")).forEach(l -> b.append(m.node).append(": ").append(l).append('\n'));
    }
    return b.toString();
  }

  /** The member count each manager reports (its /metrics, read from the cluster at scrape time). */
  static int members(int i) {
    try {
      String metrics = cluster.api(i).get("/metrics", null).body();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^mke_backup_cluster_members\\{proven=\"true\"\\} (\\d+)").matcher(metrics);
      return m.find() ? Integer.parseInt(m.group(1)) : -1;
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  @Order(1)
  void aManagerPausedMidBackupNeverWritesAgainAndItsBackupStaysFailed() throws Exception {
    String t0 = cluster.token(0);
    String t1 = cluster.token(1);
    commandLines.watch(t0);
    commandLines.watch(t1);
    ManagerProcess paused = cluster.managers.get(0);
    Api.Response first = cluster.api(0).post("/api/ucp/backup", body("paused.tar"), t0);
    assertThat(first.status()).as(first.body()).isEqualTo(200);
    String pausedId = first.json().getString("backupId");
    // Writing: its temporary file has its first chunk.
    await("the first backup writes").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
        .until(() -> parts("paused.tar").stream().anyMatch(p -> p.toFile().length() > 0));
    Path part = parts("paused.tar").get(0);

    paused.pause();
    try {
      whilePaused(paused, part, pausedId, t1);
    } finally {
      paused.resume(); // also when an assertion failed, for the tests after this one
    }
    // Every manager, the woken one included, says the first backup FAILED, as the others decided.
    for (int i = 0; i < 3; i++) {
      JsonObject r = cluster.record(i, cluster.token(i), pausedId);
      assertThat(r.getString("backupState")).as("on manager " + i).isEqualTo("FAILED");
      assertThat(r.getString("shortError")).contains("left the cluster");
    }
    // And the woken member backs up again.
    String t0again = cluster.token(0);
    Api.Response next = cluster.api(0).post("/api/ucp/backup", body("after-pause.tar"), t0again);
    assertThat(next.status()).as(next.body()).isEqualTo(200);
    JsonObject ok = cluster.awaitState(2, cluster.token(2), next.json().getString("backupId"), BackupState.SUCCESS,
        Duration.ofSeconds(60));
    assertThat(ok.getString("nodeLocation")).isEqualTo(paused.node);
  }

  /** From the pause of the member writing the first backup to its wake-up, and what it does then. */
  void whilePaused(ManagerProcess paused, Path part, String pausedId, String t1) throws Exception {
    Instant pausedAt = Instant.now();
    // Hold the temporary file's inode: the others remove the file, and what the paused writer does
    // when it wakes still shows in the inode's size and modification time.
    try (FileChannel held = FileChannel.open(part, StandardOpenOption.READ)) {
      long sizeAtPause = held.size();
      FileTime mtimeAtPause = Files.getLastModifiedTime(part);

      // 8 s without heartbeats, then (when the paused member was the master) a new master, then
      // the reaper: well within a minute.
      JsonObject failed = cluster.awaitState(1, t1, pausedId, BackupState.FAILED, Duration.ofSeconds(60));
      assertThat(failed.getString("shortError")).contains(paused.node);
      await("its temporary file removed").atMost(Duration.ofSeconds(10)).until(() -> parts("paused.tar").isEmpty());

      // The lock is free: the majority starts the next backup while the first one's member sleeps.
      Api.Response second = cluster.api(1).post("/api/ucp/backup", body("second.tar"), t1);
      assertThat(second.status()).as(() -> second.body() + "\n" + membershipChanges()).isEqualTo(200);
      String secondId = second.json().getString("backupId");
      await("the second backup writes").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .until(() -> parts("second.tar").stream().anyMatch(p -> p.toFile().length() > 0));
      assertThat(Duration.between(pausedAt, Instant.now())).isGreaterThan(Duration.ofSeconds(8));

      paused.resume();
      Instant resumedAt = Instant.now();
      // Awake, it finds its lease expired: its writer stops, its record is not touched.
      await("the paused member gives its backup up").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
          .until(() -> paused.logText().contains("backup " + pausedId + " lost its lease"));
      await("the paused member is back in one cluster").atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(500)).until(() -> members(0) == 3 && members(1) == 3 && members(2) == 3);
      System.out.printf("paused member back in the cluster %.1f s after SIGCONT%n",
          Duration.between(resumedAt, Instant.now()).toMillis() / 1000.0);

      JsonObject secondDone = cluster.awaitState(1, t1, secondId, BackupState.SUCCESS, Duration.ofSeconds(60));
      // No second writer overlapped: the paused writer's file did not change after it was paused,
      // the second backup started only after the first was FAILED, and nothing took the first's name.
      assertThat(held.size()).as("bytes written by the paused writer after it woke").isEqualTo(sizeAtPause);
      assertThat(Files.getLastModifiedTime(descriptorOf(part))).isEqualTo(mtimeAtPause);
      assertThat(secondDone.getString("created_at").compareTo(failed.getString("completed_at"))).isPositive();
      assertThat(cluster.backups.resolve("paused.tar")).doesNotExist();
      assertThat(parts("paused.tar")).isEmpty();
      Cli.Result verified = Cli.run(List.of("verify", cluster.backups.resolve("second.tar").toString(),
          "--passphrase-file", passphraseFile().toString()));
      assertThat(verified.exit()).as(verified.stderr()).isZero();
    }
  }

  @Test
  @Order(2)
  void aManagerCutOffFromTheOthersRefusesBackupsWhileTheMajorityTakesThem() throws Exception {
    ManagerProcess lone = cluster.managers.get(2);
    JsonArray before = cluster.api(2).get("/api/ucp/backups", cluster.token(2)).array();
    String majorityId;
    try (Partition partition = Partition.isolate(lone, cluster.managers.subList(0, 2))) {
      await("the partition is seen on both sides").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
          .until(() -> members(2) == 1 && members(0) == 2 && members(1) == 2);
      // Tokens from now: each side kept only the part of the token map it held.
      String lonely = cluster.token(2);
      String t0 = cluster.token(0);
      commandLines.watch(lonely);
      commandLines.watch(t0);

      Api.Response refused = cluster.api(2).post("/api/ucp/backup", body("minority.tar"), lonely);
      assertThat(refused.status()).as(refused.body()).isEqualTo(503);
      assertThat(refused.json().getString("code")).isEqualTo("NO_MAJORITY");
      assertThat(refused.json().getString("message")).contains("no majority").contains("1 of 3");
      Api.Response ready = cluster.api(2).get("/_ready", null);
      assertThat(ready.status()).isEqualTo(503);

      Api.Response accepted = cluster.api(0).post("/api/ucp/backup", body("majority.tar"), t0);
      assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
      majorityId = accepted.json().getString("backupId");
      cluster.awaitState(0, t0, majorityId, BackupState.SUCCESS, Duration.ofSeconds(60));
      // The lone side wrote nothing: whatever it still sees (the records whose partitions it held)
      // is as it was.
      assertThat(cluster.api(2).get("/api/ucp/backups", lonely).array().getList()).as("the lone side wrote nothing")
          .isSubsetOf(before.getList());
    }
    await("healed: one cluster again").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
        .until(() -> members(0) == 3 && members(1) == 3 && members(2) == 3);
    JsonArray[] histories = new JsonArray[3];
    await("one history").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(() -> {
      for (int i = 0; i < 3; i++) {
        histories[i] = cluster.api(i).get("/api/ucp/backups", cluster.token(i)).array();
      }
      return histories[0].equals(histories[1]) && histories[1].equals(histories[2]);
    });
    List<JsonObject> records = histories[2].stream().map(o -> (JsonObject) o).toList();
    assertThat(records).filteredOn(r -> r.getString("id").equals(majorityId)).singleElement()
        .satisfies(r -> assertThat(r.getString("backupState")).isEqualTo("SUCCESS"));
    assertThat(records).noneMatch(r -> r.getString("fileName").equals("minority.tar"));
    assertThat(cluster.backups.resolve("minority.tar")).doesNotExist();
    assertThat(records).noneMatch(r -> r.getString("backupState").equals("IN_PROGRESS"));
  }

  static Path passphraseFile() throws Exception {
    Path f = Scratch.file("partition-it-", ".pass", java.nio.file.attribute.PosixFilePermissions
        .asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    Files.writeString(f, PASSPHRASE + "\n");
    f.toFile().deleteOnExit();
    return f;
  }

  /**
   * This JVM's /proc/self/fd link to a file it holds open, deleted or not: stat through it reaches
   * the inode.
   */
  static Path descriptorOf(Path file) throws Exception {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          if (Files.readSymbolicLink(fd).toString().startsWith(file.toString())) {
            return fd;
          }
        } catch (java.io.IOException closedMeanwhile) {
          // not ours
        }
      }
    }
    throw new AssertionError("no descriptor of " + file);
  }
}
