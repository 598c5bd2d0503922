package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.deploy.demo.DemoState;
import io.mkebackup.worker.freeze.SiblingSwitch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dead man's switch of a backup run as the seed runs it, in a container ({@code docker
 * container run --rm --log-driver none --name ... --volume /var/run/docker.sock:/var/run/docker.sock
 * IMAGE backup ... > backup.tar}, the image built by deploy/image/build.sh), while a live auth store
 * ({@code ucp-auth-store}, a real SQLite writer, as in {@link LiveAuthStoreIT}) is paused for its
 * volume's copy: {@code docker kill --signal KILL} of the backup's container ends every process in
 * it, and the switch, a sibling container of the same image waiting on the backup's container,
 * unpauses the auth store within a minute and is gone. A backup that ends normally leaves no
 * sibling behind.
 */
@Tag("integration")
@Tag("alone")
class ContainerFreezeSwitchIT {
  static String image;
  static String repository;
  static DemoFixture demo;

  @BeforeAll
  static void up() throws Exception {
    repository = "mke-backup-freeze-it-" + UUID.randomUUID().toString().substring(0, 8);
    image = repository + ":test";
    ContainerImageIT.buildImage(image);
    demo = DemoFixture.create(50, 0);
    demo.startAuthStoreWriter(DemoState.AuthStore.DEFAULT);
  }

  @AfterAll
  static void down() throws Exception {
    try {
      if (demo != null) {
        demo.close();
      }
    } finally {
      Tools.sh("docker rmi " + image + " " + repository + ":latest");
    }
  }

  static String authStore() {
    return demo.prefix + "ucp-auth-store";
  }

  static boolean paused() throws Exception {
    return Tools.sh("docker inspect -f '{{.State.Paused}}' " + authStore()).text().strip().equals("true");
  }

  /** Sibling switches (in any state) of the backup container {@code parent}. */
  static List<String> siblings(String parent) throws Exception {
    Tools.Out ps = Tools.sh("docker ps -aq --no-trunc --filter label=" + SiblingSwitch.LABEL + "=" + parent);
    assertThat(ps.exit()).as(ps.text()).isZero();
    return ps.text().lines().filter(l -> !l.isBlank()).toList();
  }

  /** The seed's stdout form, with this test's volume prefix and options; the container's id goes to {@code cid}. */
  static String backupCommand(String name, Path cid, String options, Path archive) {
    return "docker container run --rm --log-driver none --name " + name + " --cidfile " + cid
        + " --volume /var/run/docker.sock:/var/run/docker.sock " + image + " backup --no-passphrase --etcd-endpoint"
        + " none --volume-prefix " + demo.prefix + " " + options + " > " + archive;
  }

  @Test
  void aBackupContainerKilledMidFreezeLeavesTheAuthStoreRunningWithinAMinute(@TempDir Path dir) throws Exception {
    String name = "mke-freeze-it-" + UUID.randomUUID().toString().substring(0, 8);
    Path cid = dir.resolve("cid");
    // In a container the volumes are read through the engine's archive API, whole while paused: a
    // read-rate cap makes the freeze last long enough to kill the backup in it. --max-freeze puts
    // the switch's own deadline (max + 5 s) past the minute, so only its wait on the backup's
    // container can thaw in time.
    Process run = new ProcessBuilder("bash", "-c", backupCommand(name, cid, "--max-rate 0.5 --max-freeze 120",
        dir.resolve("killed.tar"))).redirectErrorStream(true).redirectOutput(dir.resolve("run.txt").toFile()).start();
    try {
      await("the auth store paused by the backup").atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(100))
          .until(() -> {
            assertThat(run.isAlive()).as("the backup ended early: %s", Files.readString(dir.resolve("run.txt"))).isTrue();
            return paused();
          });
      String parent = Files.readString(cid).strip();
      // The switch was armed before the pause: its sibling runs now, beside the backup's container
      // (checked after the kill's outcome, which is what this test is about).
      List<String> armed = siblings(parent);
      String armedState = armed.isEmpty() ? "none" : Tools.sh("docker inspect -f '{{.State.Running}}"
          + " {{.HostConfig.AutoRemove}}' " + armed.get(0)).text().strip();

      Tools.Out kill = Tools.sh("docker kill --signal KILL " + name);
      assertThat(kill.exit()).as(kill.text()).isZero();
      Instant killed = Instant.now();
      await("the auth store running again").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .until(() -> !paused());
      long ms = Duration.between(killed, Instant.now()).toMillis();
      System.out.println("ContainerFreezeSwitchIT: the auth store ran again " + ms + " ms after docker kill");
      assertThat(armed).hasSize(1);
      assertThat(armedState).as("the sibling: running, removed by the engine when it exits").isEqualTo("true true");
      await("the sibling gone").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
          .until(() -> siblings(parent).isEmpty());
      assertThat(run.waitFor(1, TimeUnit.MINUTES)).isTrue();
      assertThat(run.exitValue()).isEqualTo(137);
      // The writer commits again.
      long before = lastTxn();
      await("the writer commits again").atMost(Duration.ofSeconds(30)).until(() -> lastTxn() > before);
    } finally {
      run.destroyForcibly();
      Tools.sh("docker rm -f " + name + " 2>/dev/null; docker unpause " + authStore() + " 2>/dev/null || true");
    }
  }

  /**
   * The switch learns each container as the backup pauses it, not the list of writers it starts
   * with: a second writer of the auth store's volume, paused by someone else once the switch was
   * being started (after the backup had listed the writers, before its own pause), is theirs to
   * unpause, and stays paused when the backup is killed mid-freeze; the auth store, which the
   * backup paused, runs again. Nothing the switch may unpause is in its arguments.
   */
  @Test
  void aWriterSomeoneElsePausedBeforeTheBackupDidStaysPausedWhenTheBackupIsKilled(@TempDir Path dir)
      throws Exception {
    String name = "mke-freeze-it-" + UUID.randomUUID().toString().substring(0, 8);
    // Named before the auth store, so the backup comes to it first.
    String other = demo.prefix + "other-writer";
    Path cid = dir.resolve("cid");
    String storeImage = Tools.sh("docker inspect -f '{{.Config.Image}}' " + authStore()).text().strip();
    Tools.Out started = Tools.sh("docker run -d --name " + other + " --entrypoint /bin/busybox -v " + demo.prefix
        + "ucp-auth-store-data:/data " + storeImage + " sleep 100000");
    assertThat(started.exit()).as(started.text()).isZero();
    // --debug: the backup's log says what it found paused.
    Process run = new ProcessBuilder("bash", "-c", backupCommand(name, cid, "--max-rate 0.5 --max-freeze 120 --debug",
        dir.resolve("killed.tar"))).redirectErrorStream(true).redirectOutput(dir.resolve("run.txt").toFile()).start();
    try {
      // The switch is created once the backup has listed the volume's writers, and started
      // before its first pause: someone pauses the other writer in between.
      String parent = await("the backup's switch created").atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofMillis(50)).until(() -> {
            assertThat(run.isAlive()).as("the backup ended early: %s", Files.readString(dir.resolve("run.txt"))).isTrue();
            return Files.exists(cid) && !Files.readString(cid).isBlank()
                && !siblings(Files.readString(cid).strip()).isEmpty() ? Files.readString(cid).strip() : null;
          }, p -> p != null);
      Tools.Out pause = Tools.sh("docker pause " + other);
      assertThat(pause.exit()).as(pause.text()).isZero();
      await("the auth store paused by the backup").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100))
          .until(() -> {
            assertThat(run.isAlive()).as("the backup ended early: %s", Files.readString(dir.resolve("run.txt"))).isTrue();
            return paused();
          });
      List<String> armed = siblings(parent);
      String args = armed.isEmpty() ? "" : Tools.sh("docker inspect -f '{{json .Args}}' " + armed.get(0)).text();
      String storeId = Tools.sh("docker inspect -f '{{.Id}}' " + authStore()).text().strip();
      String otherId = Tools.sh("docker inspect -f '{{.Id}}' " + other).text().strip();

      Tools.Out kill = Tools.sh("docker kill --signal KILL " + name);
      assertThat(kill.exit()).as(kill.text()).isZero();
      await("the auth store running again").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .until(() -> !paused());
      await("the switches gone").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
          .until(() -> siblings(parent).isEmpty());
      assertThat(Tools.sh("docker inspect -f '{{.State.Paused}}' " + other).text().strip())
          .as("the writer someone else paused, after the backup's switch is gone").isEqualTo("true");
      assertThat(args).as("the switch's arguments").contains(parent).doesNotContain(storeId.substring(0, 12))
          .doesNotContain(otherId.substring(0, 12));
      assertThat(run.waitFor(1, TimeUnit.MINUTES)).isTrue();
      assertThat(run.exitValue()).isEqualTo(137);
      // The case this test is about: the backup came to the other writer after someone had paused it.
      assertThat(Files.readString(dir.resolve("run.txt")))
          .contains("container " + other + " was paused by someone else (or is gone) before this backup's pause");
    } finally {
      run.destroyForcibly();
      Tools.sh("docker rm -f " + name + " " + other + " 2>/dev/null; docker unpause " + authStore()
          + " 2>/dev/null || true");
    }
  }

  @Test
  void aBackupThatEndsLeavesNoSiblingAndItsCopyOpens(@TempDir Path dir) throws Exception {
    String name = "mke-freeze-it-" + UUID.randomUUID().toString().substring(0, 8);
    Path cid = dir.resolve("cid");
    Path archive = dir.resolve("ok.tar");
    String since = Tools.sh("date +%s.%N").text().strip();
    Tools.Out r = Tools.sh(backupCommand(name, cid, "", archive) + " 2> " + dir.resolve("err.txt"));
    String err = Files.readString(dir.resolve("err.txt"));
    assertThat(r.exit()).as(err).isZero();
    String until = Tools.sh("date +%s.%N").text().strip();
    String parent = Files.readString(cid).strip();
    assertThat(err).containsPattern("auth-store ucp-auth-store-data: " + authStore() + " paused [0-9.]+ s");
    assertThat(siblings(parent)).isEmpty();
    assertThat(paused()).isFalse();
    // The engine's own account: one sibling of this backup's container, created and started
    // before the auth store's pause, and ended (killed, then removed) only after the backup had
    // unpaused the auth store itself.
    List<String[]> sibling = events(since, until, "label=" + SiblingSwitch.LABEL + "=" + parent);
    List<String[]> store = events(since, until, "container=" + authStore());
    assertThat(sibling.stream().map(e -> e[1]).toList()).containsSubsequence("create", "start", "die", "destroy");
    assertThat(sibling.stream().filter(e -> e[1].equals("create")).count()).isEqualTo(1);
    long pausedAt = at(store, "pause");
    long unpausedAt = at(store, "unpause");
    assertThat(at(sibling, "start")).isLessThan(pausedAt);
    assertThat(at(sibling, "die")).isGreaterThan(unpausedAt);
    System.out.println("ContainerFreezeSwitchIT: the sibling's create to the pause " + (pausedAt - at(sibling,
        "create")) / 1_000_000 + " ms, pause " + (unpausedAt - pausedAt) / 1_000_000 + " ms, unpause to the"
        + " sibling's end " + (at(sibling, "die") - unpausedAt) / 1_000_000 + " ms");
    assertThat(LiveAuthStoreIT.openCopy(archive, dir)).isEqualTo("ok\n0");
  }

  /** The engine's container events in [since, until] that match {@code filter}: {time in ns, action}. */
  static List<String[]> events(String since, String until, String filter) throws Exception {
    Tools.Out events = Tools.sh("docker events --since " + since + " --until " + until + " --filter type=container"
        + " --filter " + filter + " --format '{{.TimeNano}} {{.Action}}'");
    assertThat(events.exit()).as(events.text()).isZero();
    return events.text().lines().filter(l -> !l.isBlank()).map(l -> l.split(" ", 2)).toList();
  }

  /** When the first event of that action happened (ns). */
  static long at(List<String[]> events, String action) {
    return events.stream().filter(e -> e[1].equals(action)).mapToLong(e -> Long.parseLong(e[0])).findFirst()
        .orElseThrow(() -> new AssertionError("no " + action + " event"));
  }

  static long lastTxn() throws Exception {
    long txn = Tools.lastAuthStoreTxn("docker exec " + authStore());
    assertThat(txn).as("the auth store's last transaction").isNotNegative();
    return txn;
  }
}
