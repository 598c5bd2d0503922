package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stack on a real three-node Swarm (deploy/swarm/lab.sh): three nodes, each its own Docker
 * engine with its own MKE state (ucp-* volumes, ucp-kv, client bundle), the share bind-mounted on
 * every node, deploy/swarm/mke-backup-stack.yml deployed as an admin would. The lab is brought up
 * once for the class (reused when it is up) and left up for the next run; lab.sh down removes it.
 * With MKE_LAB_DOWN_AFTER=1 (deploy/test.sh's full run) the class removes it when done: its nodes'
 * engines, managers and health checks would otherwise load the machine under every later test.
 * Not in the default run (tag swarm-lab): deploy/swarm/lab-test.sh runs it.
 */
@Tag("integration")
@Tag("alone")
@Tag("swarm-lab")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SwarmLabIT {
  static final int NODES = 3;
  static final String PASSPHRASE = "swarm-lab-passphrase-" + System.nanoTime();
  static final Path LAB = Files.exists(Path.of("swarm/lab.sh")) ? Path.of("swarm/lab.sh").toAbsolutePath()
      : Path.of("deploy/swarm/lab.sh").toAbsolutePath();
  static final Path DIR = Path.of(System.getenv().getOrDefault("MKE_LAB_DIR", "/var/lib/mkelab"));
  static final String IMAGE = System.getenv().getOrDefault("MKE_BACKUP_IMAGE", "mke-backup-lab:lab");
  static final List<String> ips = new ArrayList<>();
  static final List<Api> apis = new ArrayList<>();
  static final List<Path> serverCerts = new ArrayList<>();
  static Path share;
  static String token;
  /** The SockJS clients a test opened, closed after it. */
  static final List<ApiIT.BridgeClient> bridges = new ArrayList<>();

  @TempDir
  static Path tmp;

  @org.junit.jupiter.api.AfterAll
  static void labDownWhenAsked() throws Exception {
    if ("1".equals(System.getenv("MKE_LAB_DOWN_AFTER"))) {
      // The managers' logs go with the lab: kept in target/ first, for a failure to be read after.
      Path logs = Path.of("target", "swarm-lab-managers.log").toAbsolutePath();
      Tools.sh("for n in 1 2 3; do docker exec mkelab-node$n sh -c 'for c in $(docker ps -aq --filter"
          + " label=com.docker.swarm.service.name=mke-backup_manager); do docker logs $c 2>&1; done'"
          + " | sed \"s/^/node$n /\"; done > " + logs + " 2>&1");
      System.out.println("SwarmLabIT: the managers' logs are in " + logs);
      long t0 = System.nanoTime();
      Tools.Out down = Tools.sh(LAB + " down");
      System.out.printf("SwarmLabIT: lab.sh down (MKE_LAB_DOWN_AFTER=1) took %.1f s, exit %d%n",
          (System.nanoTime() - t0) / 1e9, down.exit());
      assertThat(down.exit()).as(down.text()).isZero();
    }
  }

  @BeforeAll
  static void labUp() throws Exception {
    long t0 = System.nanoTime();
    // The product image from this build's jar, whatever image of that name the engine has.
    Tools.Out image = Tools.sh("MKE_BACKUP_IMAGE=" + IMAGE + " " + LAB.getParent().getParent().resolve("image/build.sh"));
    assertThat(image.exit()).as(image.text()).isZero();
    System.out.printf("SwarmLabIT: the image took %.1f s%n", (System.nanoTime() - t0) / 1e9);
    t0 = System.nanoTime();
    Tools.Out up = Tools.sh("MKE_BACKUP_IMAGE=" + IMAGE + " " + LAB + " up " + NODES);
    assertThat(up.exit()).as(up.text()).isZero();
    System.out.printf("SwarmLabIT: lab.sh up took %.1f s%n", (System.nanoTime() - t0) / 1e9);
    for (String line : up.text().split("\n")) {
      String[] f = line.split(" ");
      if (f.length == 3 && f[0].matches("node[0-9]+")) {
        ips.add(f[1]);
        assertThat(f[2]).isEqualTo("https://" + f[1] + ":8443");
      } else if (f.length == 2 && f[0].equals("share")) {
        share = Path.of(f[1]);
      }
    }
    assertThat(ips).as(up.text()).hasSize(NODES);
    assertThat(share).as(up.text()).isEqualTo(DIR.resolve("share"));
    for (int i = 0; i < NODES; i++) {
      // Each task's own self-signed certificate, from its data volume on its node: it must name the
      // node's address, which is where clients reach it (host-name checking stays on).
      Path cert = tmp.resolve("server-" + (i + 1) + ".pem");
      Tools.Out c = Tools.sh("docker exec mkelab-node" + (i + 1)
          + " cat /var/lib/docker/volumes/mke-backup_mke-backup-data/_data/tls/server-cert.pem > " + cert);
      assertThat(c.exit()).as(c.text()).isZero();
      serverCerts.add(cert);
      apis.add(new Api(ips.get(i), 8443, List.of(cert)));
    }
    token = apis.get(0).login("admin", password());
    removeOwnSchedules(token);
    awaitNoOwnBackupRunning(); // a tick of a deleted schedule may have started
    removeOwnArchives(); // a run that was killed left its own
  }

  /** What every archive and schedule these tests make is named by. */
  static final String OWN = "swarmlabit-";

  /**
   * Each lab backup is about 220 MiB and a run makes a few dozen: kept, they filled the host's disk
   * run after run until backups failed for want of space. Removed after each test, once no backup
   * is running (a tick may have started before its schedule was deleted); only this class's own
   * ({@value #OWN}...), never the share's other files.
   */
  @org.junit.jupiter.api.AfterEach
  void removeArchivesOfThisTest() {
    try {
      for (ApiIT.BridgeClient b : bridges) { // a failed test's too
        try {
          b.close();
        } catch (RuntimeException e) {
          System.out.println("SwarmLabIT: cannot close a bridge client: " + e);
        }
      }
    } finally {
      bridges.clear();
    }
    awaitNoOwnBackupRunning();
    removeOwnArchives();
  }

  /** Waits (at most 60 s) until none of this class's backups runs; fails no test. */
  static void awaitNoOwnBackupRunning() {
    try {
      String t = apis.get(0).login("admin", password());
      org.awaitility.Awaitility.await("no backup of this class running").atMost(java.time.Duration.ofSeconds(60))
          .pollInterval(java.time.Duration.ofSeconds(1)).ignoreExceptions()
          .until(() -> apis.get(0).get("/api/ucp/backups", t).array().stream().map(o -> (JsonObject) o)
              .noneMatch(o -> "IN_PROGRESS".equals(o.getString("backupState"))
                  && o.getString("fileName", "").startsWith(OWN)));
    } catch (Exception e) {
      System.out.println("SwarmLabIT: a backup of this class may still run (" + e.getMessage()
          + "); its archive may stay");
    }
  }

  /** Best effort: what cannot be removed is said, and fails no test. */
  static void removeOwnArchives() {
    if (share == null) {
      return;
    }
    try {
      for (String name : Tools.listing(share)) {
        if ((name.startsWith(OWN) && name.endsWith(".tar")) || (name.startsWith("." + OWN) && name.endsWith(".part"))) {
          Files.deleteIfExists(share.resolve(name));
        }
      }
    } catch (IOException | RuntimeException e) {
      System.out.println("SwarmLabIT: cannot remove its archives from " + share + ": " + e);
    }
  }

  /** A killed run's schedules would go on writing into the share every minute: deleted first. */
  static void removeOwnSchedules(String t) throws Exception {
    Api.Response list = apis.get(0).get("/api/ucp/backup/schedules", t);
    assertThat(list.status()).as(list.body()).isEqualTo(200);
    for (Object o : list.array()) {
      JsonObject schedule = (JsonObject) o;
      if (schedule.getString("fileNamePrefix", "").startsWith(OWN)) {
        Api.Response deleted = apis.get(0).delete("/api/ucp/backup/schedules/" + schedule.getString("id"), t);
        assertThat(deleted.status()).as(deleted.body()).isIn(200, 204);
      }
    }
  }

  static String body(String fileName) {
    return new JsonObject().put("passphrase", PASSPHRASE).put("fileName", fileName).put("includeLogs", false).encode();
  }

  static int indexOf(String node) {
    assertThat(node).matches("node[1-" + NODES + "]");
    return Integer.parseInt(node.substring(4)) - 1;
  }

  static String inNode(int i, String cmd) throws Exception {
    Tools.Out o = Tools.sh("docker exec mkelab-node" + (i + 1) + " " + cmd);
    assertThat(o.exit()).as(cmd + ": " + o.text()).isZero();
    return o.text();
  }

  @Test
  @Order(1)
  void theTasksOnThreeNodesFormOneClusterOfThree() throws Exception {
    long t0 = System.nanoTime();
    // A task counts once it holds its share of the cluster's data, a moment after it is ready.
    org.awaitility.Awaitility.await("3 of 3 on every node").atMost(java.time.Duration.ofSeconds(60))
        .pollInterval(java.time.Duration.ofSeconds(1))
        .until(() -> clusterLines(token).stream().allMatch(l -> l.equals("3 of 3 configured managers")));
    for (int i = 0; i < NODES; i++) {
      Api.Response r = apis.get(i).get("/_ready", token);
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      JsonObject ready = r.json();
      assertThat(ready.getString("node")).isEqualTo("node" + (i + 1));
      JsonObject checks = ready.getJsonObject("checks");
      assertThat(checks.getJsonObject("cluster").getString("detail")).isEqualTo("3 of 3 configured managers");
      // Each task reads its own node's ucp-kv, found through its node's engine.
      assertThat(checks.getJsonObject("etcd").getString("detail")).contains("at https://" + ips.get(i) + ":12379");
      // A token issued by node1 works on every node: one cluster, one token store.
      assertThat(apis.get(i).get("/api/ucp/backups", token).status()).isEqualTo(200);
      assertThat(apis.get(i).get("/api/ucp/backups", null).status()).isEqualTo(401);
      // Each node's ucp-auth-store is a live database writer, as on MKE's managers.
      long first = maxTxn(i);
      assertThat(first).as("node%d's auth store answers", i + 1).isPositive();
      int node = i;
      org.awaitility.Awaitility.await("node" + (i + 1) + "'s auth store writes").atMost(java.time.Duration.ofSeconds(30))
          .pollInterval(java.time.Duration.ofMillis(500)).until(() -> maxTxn(node), txn -> txn > first);
    }
    // Swarm agrees: one running task per manager node.
    String tasks = inNode(0, "docker service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'"
        + " mke-backup_manager");
    assertThat(tasks.lines().filter(l -> l.contains("Running")).map(l -> l.split(" ")[0]).sorted().toList())
        .containsExactly("node1", "node2", "node3");
    System.out.printf("SwarmLabIT: cluster check took %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  /** One cluster, one client root CA: the client bundle of any node works on every node's API. */
  @Test
  @Order(2)
  void everyNodesApiAnswersEveryNodesClientBundle() throws Exception {
    long t0 = System.nanoTime();
    for (int i = 0; i < NODES; i++) {
      String url = "https://" + ips.get(i) + ":8443/api/ucp/backups";
      for (int b = 0; b < NODES; b++) {
        Path bundle = DIR.resolve("node" + (b + 1)).resolve("bundle");
        // curl checks the task's certificate by the node's address, and presents the bundle.
        Tools.Out ok = Tools.sh("curl -s -o /dev/null -w '%{http_code}' --cacert " + serverCerts.get(i) + " --cert "
            + bundle.resolve("cert.pem") + " --key " + bundle.resolve("key.pem") + " " + url);
        assertThat(ok.text()).as("node%d with node%d's bundle", i + 1, b + 1).isEqualTo("200");
      }
      Tools.Out none = Tools.sh("curl -s -o /dev/null -w '%{http_code}' --cacert " + serverCerts.get(i) + " " + url);
      assertThat(none.text()).as("node%d without credentials", i + 1).isEqualTo("401");
    }
    System.out.printf("SwarmLabIT: client bundles took %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  @Test
  @Order(3)
  void tenConcurrentPostsOverThreeNodesGiveOneBackupOfTheRunningNodesStateSeenLiveElsewhere(@TempDir Path gnupg)
      throws Exception {
    long t0 = System.nanoTime();
    String run = OWN + System.nanoTime();
    // Each node's SockJS event-bus bridge, registered for progress with the admin's token.
    for (int i = 0; i < NODES; i++) {
      ApiIT.BridgeClient b = new ApiIT.BridgeClient(apis.get(i));
      b.send(new JsonObject().put("type", "register").put("address", "mke.backup.progress")
          .put("headers", new JsonObject().put("auth_token", token)));
      bridges.add(b);
    }
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(10);
    List<CompletableFuture<Api.Response>> calls = new ArrayList<>();
    for (int k = 0; k < 10; k++) {
      int node = k % NODES;
      String file = run + "-" + k + ".tar";
      calls.add(CompletableFuture.supplyAsync(() -> {
        try {
          go.await();
          return apis.get(node).post("/api/ucp/backup", body(file), token);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, pool));
    }
    go.countDown();
    List<Api.Response> responses = calls.stream().map(CompletableFuture::join).toList();
    pool.shutdown();
    List<Api.Response> ok = responses.stream().filter(r -> r.status() == 200).toList();
    List<Api.Response> busy = responses.stream().filter(r -> r.status() == 409).toList();
    assertThat(ok).as("exactly one accepted: %s", responses).hasSize(1);
    assertThat(busy).as("the nine others refused: %s", responses).hasSize(9);
    String id = ok.get(0).json().getString("backupId");
    busy.forEach(r -> assertThat(r.json().getString("code")).isEqualTo("BACKUP_RUNNING"));

    String runner = apis.get(0).get("/api/ucp/backup/" + id, token).json().getString("nodeLocation");
    int r = indexOf(runner);
    int other = (r + 1) % NODES;
    // Its progress, live, through another node's Server-Sent Events.
    List<String> lines;
    try (Stream<String> sse = apis.get(other).stream("/api/ucp/backup/" + id + "/events", token)) {
      lines = sse.collect(Collectors.toList());
    }
    List<JsonObject> events = lines.stream().filter(l -> l.startsWith("data: "))
        .map(l -> new JsonObject(l.substring(6))).toList();
    assertThat(events).as(String.join("\n", lines)).isNotEmpty();
    assertThat(events.get(0).getString("backupState")).as("the stream starts while it runs").isEqualTo("IN_PROGRESS");
    // Steps it finished while the stream was open, relayed from the running node before the end
    // (which steps depends on when the stream opened: the backup lasts seconds).
    assertThat(events.subList(1, events.size() - 1)).as(String.join("\n", lines))
        .anyMatch(e -> "done".equals(e.getString("kind")) || "progress".equals(e.getString("kind")));
    JsonObject last = events.get(events.size() - 1);
    assertThat(last.getString("kind")).isEqualTo("succeeded");
    assertThat(last.getString("node")).isEqualTo(runner);

    // And through the SockJS bridge of each node that did not run it, to the end.
    for (int i = 0; i < NODES; i++) {
      ApiIT.BridgeClient b = bridges.get(i);
      if (i != r) {
        List<JsonObject> frames = b.awaitSucceeded("node" + (i + 1) + "'s SockJS bridge", id,
            java.time.Duration.ofSeconds(30));
        assertThat(frames.stream().filter(f -> f.getJsonObject("body") != null
            && id.equals(f.getJsonObject("body").getString("backupId"))).map(f -> f.getJsonObject("body")
            .getString("step")).distinct()).as("node%d's bridge", i + 1).contains("etcd", "finalize");
      }
      b.close();
    }

    JsonObject done = apis.get(other).get("/api/ucp/backup/" + id, token).json();
    assertThat(done.getString("backupState")).isEqualTo("SUCCESS");
    Path archive = share.resolve(done.getString("fileName"));
    assertThat(archive).isRegularFile();
    assertThat(Tools.listing(share)).noneMatch(n -> n.endsWith(".part"));

    // Stock gpg and GNU tar open it, and it is the running node's state: the cluster's root CA, and
    // the node's own ucp-kv certificate (each node's is issued to a key of its own), not another's.
    String decrypt = Tools.gpgDecrypt(archive, PASSPHRASE, gnupg);
    Tools.Out list = Tools.sh(decrypt + " | tar --list");
    assertThat(list.exit()).as(list.text()).isZero();
    assertThat(list.text()).contains("./ucp-cluster-root-ca/cert.pem", "./ucp-kv-certs/cert.pem", "./ucp-kv.json",
        "etcd.backup.db");
    Tools.Out ca = Tools.sh(decrypt + " | tar -xO ./ucp-cluster-root-ca/cert.pem");
    assertThat(ca.exit()).as(ca.text()).isZero();
    Tools.Out kv = Tools.sh(decrypt + " | tar -xO ./ucp-kv-certs/cert.pem");
    assertThat(kv.exit()).as(kv.text()).isZero();
    for (int i = 0; i < NODES; i++) {
      assertThat(ca.text()).as("the cluster's one root CA, node%d's too", i + 1)
          .isEqualTo(inNode(i, "cat /var/lib/docker/volumes/ucp-cluster-root-ca/_data/cert.pem"));
      String nodesKv = inNode(i, "cat /var/lib/docker/volumes/ucp-kv-certs/_data/cert.pem");
      if (i == r) {
        assertThat(kv.text()).as("the archive holds %s's ucp-kv certificate", runner).isEqualTo(nodesKv);
      } else {
        assertThat(kv.text()).as("not node%d's", i + 1).isNotEqualTo(nodesKv);
      }
    }
    // The running node's auth store wrote all through the backup: its copy opens, passes SQLite's
    // own check and has every pair whole (the task froze it through the engine's socket).
    Path copy = Files.createDirectories(tmp.resolve("auth-store-" + run));
    Tools.Out extract = Tools.sh(decrypt + " | tar -C " + copy + " -x ./ucp-auth-store-data");
    assertThat(extract.exit()).as(extract.text()).isZero();
    assertThat(LiveAuthStoreIT.openDatabase(copy.resolve("ucp-auth-store-data/auth.db")))
        .as("the archive's auth store").isEqualTo("ok\n0");
    Files.writeString(tmp.resolve("last-archive"), archive.toString(), StandardCharsets.UTF_8);
    System.out.printf("SwarmLabIT: ten concurrent posts, one backup on %s, took %.1f s%n", runner,
        (System.nanoTime() - t0) / 1e9);
  }

  /**
   * Waits for the backup's record on that node to show {@code state}. A record that ends in
   * another state fails at once, and a timeout names the last record seen: either says why.
   */
  static JsonObject awaitState(int node, String token, String id, String state, java.time.Duration within) {
    JsonObject[] last = new JsonObject[1];
    try {
      org.awaitility.Awaitility.await(id + " " + state + " seen on node" + (node + 1)).atMost(within)
          .pollInterval(java.time.Duration.ofMillis(250)).ignoreExceptionsMatching(e -> !(e instanceof AssertionError))
          .until(() -> {
            last[0] = apis.get(node).get("/api/ucp/backup/" + id, token).json();
            String now = last[0].getString("backupState");
            if (!state.equals(now) && !"IN_PROGRESS".equals(now)) {
              throw new AssertionError("backup " + id + " ended " + now + " instead of " + state + ": " + last[0]);
            }
            return state.equals(now);
          });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(e.getMessage() + "; the last record seen: " + last[0], e);
    }
    return last[0];
  }

  static List<String> partFiles() throws java.io.IOException {
    return Tools.listing(share).stream().filter(n -> n.endsWith(".part")).toList();
  }

  @Test
  @Order(4)
  void aNodeKilledMidBackupFailsItWithin15sTheSurvivorsBackUpAndItRejoinsToOneHistory() throws Exception {
    long t0 = System.nanoTime();
    String file = OWN + "killed-" + System.nanoTime() + ".tar";
    Api.Response accepted = apis.get(0).post("/api/ucp/backup", body(file), token);
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
    String id = accepted.json().getString("backupId");
    String runner = apis.get(0).get("/api/ucp/backup/" + id, token).json().getString("nodeLocation");
    int r = indexOf(runner);
    int survivor = (r + 1) % NODES;
    // Writing (its temporary file is on the share), then its host loses power.
    org.awaitility.Awaitility.await("a .part on the share").atMost(java.time.Duration.ofSeconds(60))
        .pollInterval(java.time.Duration.ofMillis(100)).until(() -> !partFiles().isEmpty());
    Tools.Out kill = Tools.sh(LAB + " kill node" + (r + 1));
    long killedAt = System.nanoTime();
    assertThat(kill.exit()).as(kill.text()).isZero();
    try {
      String t = apis.get(survivor).login("admin", password());
      JsonObject failed = awaitState(survivor, t, id, "FAILED", java.time.Duration.ofSeconds(15));
      System.out.printf("SwarmLabIT: the killed node's backup FAILED after %.1f s%n",
          (System.nanoTime() - killedAt) / 1e9);
      assertThat(failed.getString("shortError")).contains(runner);
      org.awaitility.Awaitility.await("nothing of it left on the share").atMost(java.time.Duration.ofSeconds(10))
          .until(() -> partFiles().isEmpty());
      assertThat(share.resolve(file)).doesNotExist();

      Api.Response next = apis.get(survivor).post("/api/ucp/backup", body(OWN + "after-kill-" + System.nanoTime()
          + ".tar"), t);
      assertThat(next.status()).as("the survivors accept the next backup: %s", next.body()).isEqualTo(200);
      JsonObject ok = awaitState(survivor, t, next.json().getString("backupId"), "SUCCESS",
          java.time.Duration.ofSeconds(120));
      assertThat(ok.getString("nodeLocation")).isNotEqualTo(runner);
      assertThat(share.resolve(ok.getString("fileName"))).isRegularFile();
    } finally {
      Tools.Out start = Tools.sh(LAB + " start node" + (r + 1));
      assertThat(start.exit()).as(start.text()).isZero();
    }
    // Back with its disk: its task comes back, joins the cluster, and sees the one history.
    long startedAt = System.nanoTime();
    org.awaitility.Awaitility.await("node" + (r + 1) + " ready again").atMost(java.time.Duration.ofSeconds(180))
        .pollInterval(java.time.Duration.ofMillis(500)).ignoreExceptions()
        .until(() -> apis.get(r).get("/_ready", null).status() == 200);
    System.out.printf("SwarmLabIT: node%d ready again %.1f s after its container started%n", r + 1,
        (System.nanoTime() - startedAt) / 1e9);
    String t = apis.get(r).login("admin", password());
    // Ready once it sees a majority; the third manager's proof may come a little later (seen at
    // load 10: "2 of 3 configured managers (and 1 unproven ...)" right after ready).
    String[] detail = {""};
    try {
      org.awaitility.Awaitility.await("node" + (r + 1) + " sees 3 of 3").atMost(java.time.Duration.ofSeconds(60))
          .pollInterval(java.time.Duration.ofMillis(500)).ignoreExceptions().until(() -> {
            detail[0] = apis.get(r).get("/_ready", t).json().getJsonObject("checks").getJsonObject("cluster")
                .getString("detail");
            return detail[0].equals("3 of 3 configured managers");
          });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(e.getMessage() + "; last: " + detail[0], e);
    }
    List<Object> history = apis.get(survivor).get("/api/ucp/backups", t).array().getList();
    assertThat(history).isNotEmpty();
    for (int i = 0; i < NODES; i++) {
      assertThat(apis.get(i).get("/api/ucp/backups", t).array().getList()).as("node%d's history", i + 1)
          .isEqualTo(history);
    }
    System.out.printf("SwarmLabIT: node kill, failure, next backup and rejoin took %.1f s%n",
        (System.nanoTime() - t0) / 1e9);
  }

  /**
   * A POST to node {@code i}'s API with that node's client bundle (no token: a cut-off node may
   * not reach the cluster's token store); the answer's body, then its status on the last line.
   */
  static String[] postWithBundle(int i, String path, String body) throws Exception {
    Path bundle = DIR.resolve("node" + (i + 1)).resolve("bundle");
    Path request = tmp.resolve("request-" + System.nanoTime() + ".json");
    Files.writeString(request, body);
    Tools.Out o = Tools.sh("curl -s --max-time 30 -w '\\n%{http_code}' --cacert " + serverCerts.get(i) + " --cert "
        + bundle.resolve("cert.pem") + " --key " + bundle.resolve("key.pem") + " -H 'Content-Type: application/json'"
        + " --data-binary @" + request + " https://" + ips.get(i) + ":8443" + path);
    String text = o.text();
    int nl = text.lastIndexOf('\n');
    return new String[] {nl < 0 ? "" : text.substring(0, nl), text.substring(nl + 1).strip()};
  }

  /**
   * Node {@code cut}'s network namespace drops everything from and to the other nodes (their
   * Swarm gossip, the overlay's VXLAN, Hazelcast), or lets it through again; this test host still
   * reaches every node.
   */
  static void cutOff(int cut, boolean on) throws Exception {
    StringBuilder rules = new StringBuilder();
    for (int i = 0; i < NODES; i++) {
      if (i != cut) {
        String op = on ? "-I" : "-D";
        rules.append(" && iptables ").append(op).append(" INPUT -s ").append(ips.get(i)).append(" -j DROP")
            .append(" && iptables ").append(op).append(" OUTPUT -d ").append(ips.get(i)).append(" -j DROP");
      }
    }
    inNode(cut, "sh -c 'true" + rules + "'");
  }

  @Test
  // Last: in a full run the cut (about 75 s, to see a tick during it) once left the lab's swarm
  // without a leader for minutes after healing (its managers' raft is cut off too), and the recovery
  // drill's lab.sh up and the rolling update, which need the swarm, failed after it.
  @Order(8)
  void aNodeCutOffRefusesWithNoMajorityTheOthersBackUpAndAfterHealingThereIsOneHistory() throws Exception {
    long t0 = System.nanoTime();
    int cut = NODES - 1;
    String t = apis.get(0).login("admin", password());
    // A schedule every minute, made before the cut and seen by the node to be cut off: its first
    // tick comes a minute after it was made, when the cut-off node knows it is alone (it refuses
    // about 10-15 s after the cut). The majority fires that tick, once; the cut-off node fires none
    // (a tick it fired would be a second record of that tick, or one of its own, once the
    // histories are one again).
    String prefix = OWN + "cut-" + Long.toString(System.nanoTime(), 36);
    JsonObject created = everyMinute(t, prefix);
    String schedule = created.getString("id");
    long firstTick = java.time.Instant.parse(created.getString("nextTick")).toEpochMilli();
    try {
      cutUnderSchedule(t0, t, cut, schedule, prefix, firstTick);
    } finally {
      // A schedule left behind would start backups in the lab's later tests. On the normal path it
      // is deleted already, and this second delete answers 404.
      try {
        apis.get(0).delete("/api/ucp/backup/schedules/" + schedule, apis.get(0).login("admin", password()));
      } catch (Exception e) {
        System.out.println("SwarmLabIT: could not delete schedule " + schedule + ": " + e.getMessage());
      }
    }
  }

  void cutUnderSchedule(long t0, String t, int cut, String schedule, String prefix, long firstTick) throws Exception {
    org.awaitility.Awaitility.await("node" + (cut + 1) + " has the schedule").atMost(java.time.Duration.ofSeconds(30))
        .pollInterval(java.time.Duration.ofMillis(500)).ignoreExceptions()
        .until(() -> apis.get(cut).get("/api/ucp/backup/schedules/" + schedule, t).status() == 200);
    // The cut-off node's manager: its log is read after the healing.
    String task = inNode(cut, "docker ps -q --filter label=com.docker.swarm.service.name=mke-backup_manager").strip();
    assertThat(task).as("one manager task on node" + (cut + 1)).matches("[0-9a-f]{12,64}");
    String majorityBackup;
    List<String> notRefusedAll = new ArrayList<>();
    cutOff(cut, true);
    long cutAt = System.nanoTime();
    long cutAtMillis = System.currentTimeMillis();
    try {
      // The cut-off node sees itself alone (1 of 3) once its heartbeats time out. Before that it
      // still counts a majority, but the others cannot confirm a lock it takes: it refuses too.
      String[][] last = new String[1][];
      List<String> notRefused = notRefusedAll; // any answer but 503
      List<String> refused = new ArrayList<>();
      org.awaitility.Awaitility.await("node" + (cut + 1) + " refuses with 503 NO_MAJORITY")
          .atMost(java.time.Duration.ofSeconds(90)).pollInterval(java.time.Duration.ofSeconds(1)).until(() -> {
            String name = OWN + "minority-" + System.nanoTime() + ".tar";
            last[0] = postWithBundle(cut, "/api/ucp/backup", body(name));
            (last[0][1].equals("503") ? refused : notRefused).add(name);
            if (!last[0][1].equals("503")) {
              System.out.printf("SwarmLabIT: %.1f s after the cut the cut-off node answered %s %s%n",
                  (System.nanoTime() - cutAt) / 1e9, last[0][1], last[0][0]);
            }
            return last[0][1].equals("503");
          });
      System.out.printf("SwarmLabIT: the cut-off node refused %.1f s after the cut, %.1f s before the first tick%n",
          (System.nanoTime() - cutAt) / 1e9, (firstTick - System.currentTimeMillis()) / 1e3);
      assertThat(new JsonObject(last[0][0]).getString("code")).as(last[0][0]).isEqualTo("NO_MAJORITY");
      assertThat(System.currentTimeMillis()).as("the cut-off node knew it was alone before the first tick")
          .isLessThan(firstTick);
      // The two others are a majority: they accept and finish a backup.
      String file = OWN + "majority-" + System.nanoTime() + ".tar";
      Api.Response[] accepted = new Api.Response[1];
      org.awaitility.Awaitility.await("the majority accepts a backup").atMost(java.time.Duration.ofSeconds(60))
          .pollInterval(java.time.Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
            accepted[0] = apis.get(0).post("/api/ucp/backup", body(file), t);
            return accepted[0].status() == 200;
          });
      majorityBackup = accepted[0].json().getString("backupId");
      JsonObject done;
      try {
        done = awaitState(0, t, majorityBackup, "SUCCESS", java.time.Duration.ofSeconds(120));
      } catch (AssertionError e) {
        // Seen in full runs at load 20-25 when etcd's time-out was 10 s: the node's own etcd (not
        // the cut) too slow. One more backup, said in the output; any other failure fails the test.
        String m = String.valueOf(e.getMessage());
        if (!(m.contains("etcd at ") && m.contains("did not answer within"))) {
          throw e;
        }
        System.out.printf("SwarmLabIT: the majority's backup failed on etcd's time-out, taken again: %s%n",
            e.getMessage());
        Api.Response again = apis.get(0).post("/api/ucp/backup", body(file), t);
        assertThat(again.status()).as(again.body()).isEqualTo(200);
        majorityBackup = again.json().getString("backupId");
        done = awaitState(0, t, majorityBackup, "SUCCESS", java.time.Duration.ofSeconds(120));
      }
      assertThat(done.getString("nodeLocation")).isNotEqualTo("node" + (cut + 1));
      assertThat(share.resolve(file)).isRegularFile();
      // Nothing the cut-off node was sent after the cut was written, refused at once or not.
      assertThat(Tools.listing(share)).as("refused: " + refused).noneMatch(refused::contains);
      // It refuses from the first request on: its lock is not confirmed by the others.
      assertThat(notRefused).as("requests the cut-off node did not refuse with 503").isEmpty();
      org.awaitility.Awaitility.await("the first tick succeeded during the cut").atMost(java.time.Duration.ofSeconds(150))
          .pollInterval(java.time.Duration.ofSeconds(2)).until(() -> scheduled(0, t, prefix).stream()
              .anyMatch(r -> "SUCCESS".equals(r.getString("backupState"))));
      System.out.printf("SwarmLabIT: the first tick succeeded during the cut, %.1f s after it was due%n",
          (System.currentTimeMillis() - firstTick) / 1e3);
    } finally {
      cutOff(cut, false);
    }
    long healedAt = System.nanoTime();
    long healedAtMillis = System.currentTimeMillis();
    String[] lastSeen = {"nothing"};
    try {
      org.awaitility.Awaitility.await("node" + (cut + 1) + " back in the cluster of three")
          .atMost(java.time.Duration.ofSeconds(120)).pollInterval(java.time.Duration.ofSeconds(1)).until(() -> {
            try {
              lastSeen[0] = apis.get(cut).get("/_ready", t).body();
              return new JsonObject(lastSeen[0]).getJsonObject("checks").getJsonObject("cluster").getString("detail")
                  .equals("3 of 3 configured managers");
            } catch (Exception e) {
              lastSeen[0] = e.toString();
              return false;
            }
          });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("node" + (cut + 1) + " not back in the cluster of three 120 s after healing; its"
          + " readiness said last: " + lastSeen[0] + "; the others: " + clusterLines(t), e);
    }
    System.out.printf("SwarmLabIT: the cut-off node back in the cluster %.1f s after healing%n",
        (System.nanoTime() - healedAt) / 1e9);
    // One history: every node lists the majority's backup, and the same records.
    String t2 = apis.get(0).login("admin", password());
    String majorityId = majorityBackup;
    org.awaitility.Awaitility.await("one history on every node").atMost(java.time.Duration.ofSeconds(60))
        .pollInterval(java.time.Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
          List<Object> reference = apis.get(0).get("/api/ucp/backups", t2).array().getList();
          for (int i = 1; i < NODES; i++) {
            if (!apis.get(i).get("/api/ucp/backups", t2).array().getList().equals(reference)) {
              return false;
            }
          }
          return reference.toString().contains(majorityId);
        });
    // What became of the backups the cut-off node did not refuse, beside the majority's.
    for (Object o : apis.get(0).get("/api/ucp/backups", t2).array()) {
      JsonObject r = (JsonObject) o;
      if (r.getString("fileName", "").startsWith(OWN + "minority-") && r.getString("created_at", "").compareTo(
          java.time.Instant.ofEpochMilli(cutAtMillis - 60_000).toString()) > 0 || majorityId.equals(r.getString("id"))) {
        System.out.printf("SwarmLabIT: after healing: %s %s on %s, %s to %s %s%n", r.getString("fileName"),
            r.getString("backupState"), r.getString("nodeLocation"), r.getString("created_at"), r.getString("completed_at"),
            r.getString("shortError", ""));
      }
    }
    // Nor after healing (a request the cut-off node held on to must not run late).
    assertThat(Tools.listing(share)).as("sent to the cut-off node after the cut: " + notRefusedAll)
        .noneMatch(notRefusedAll::contains);
    // Deleted once the histories are one (a later tick may be fired by any node: not counted).
    assertThat(apis.get(0).delete("/api/ucp/backup/schedules/" + schedule, t2).status()).isIn(200, 204);
    // The ticks due during the cut, once each has ended: each once, by the majority, SUCCESS (or
    // skipped because the majority's manual backup above still ran: a FAILED "skipped: ..." record).
    java.util.function.Supplier<List<JsonObject>> ofTheCut = () -> scheduled(0, t2, prefix).stream()
        .filter(r -> tickMillis(r, prefix) < healedAtMillis).toList();
    org.awaitility.Awaitility.await("the ticks of the cut have ended").atMost(java.time.Duration.ofSeconds(120))
        .pollInterval(java.time.Duration.ofSeconds(1))
        .until(() -> ofTheCut.get().stream().noneMatch(r -> "IN_PROGRESS".equals(r.getString("backupState"))));
    List<JsonObject> during = ofTheCut.get();
    List<Long> ticks = during.stream().map(r -> tickMillis(r, prefix)).toList();
    assertThat(ticks).as("ticks during the cut: " + during).isNotEmpty();
    assertThat(new java.util.HashSet<>(ticks)).as("no tick of the cut ran twice: " + during).hasSameSizeAs(ticks);
    assertThat(during).as("the cut-off node fired no tick: " + during)
        .noneMatch(r -> ("node" + (cut + 1)).equals(r.getString("nodeLocation")))
        .allMatch(r -> "SUCCESS".equals(r.getString("backupState"))
            || r.getString("shortError", "").startsWith("skipped:"))
        .anyMatch(r -> "SUCCESS".equals(r.getString("backupState")));
    // A tick the cut-off node claimed or fired would leave no record of it (its lock, catalog and
    // claims all need a majority), but it would leave a line in its log: none from the cut to the
    // healing may name the schedule.
    java.time.Instant from = java.time.Instant.ofEpochMilli(cutAtMillis);
    java.time.Instant to = java.time.Instant.ofEpochMilli(healedAtMillis);
    List<String> duringCut = inNode(cut, "docker logs " + task).lines().filter(l -> {
      try {
        java.time.Instant at = java.time.Instant.parse(l.substring(0, Math.max(0, l.indexOf(' '))));
        return !at.isBefore(from) && at.isBefore(to);
      } catch (RuntimeException e) {
        return false; // a continuation line (a stack trace, say): no time of its own
      }
    }).toList();
    // The log does cover the cut: the manager said there that it saw no majority.
    assertThat(duringCut).as("the cut-off node's log during the cut").anyMatch(l -> l.contains("majority"));
    assertThat(duringCut).as("the cut-off node's log names the schedule during the cut")
        .noneMatch(l -> l.contains("schedule " + schedule));
    System.out.printf("SwarmLabIT: partition, majority backup, %d tick(s) and healing took %.1f s%n", ticks.size(),
        (System.nanoTime() - t0) / 1e9);
  }

  /** A schedule made through node1: a backup every minute into the share, files named {@code <prefix>-...}. */
  static JsonObject everyMinute(String token, String prefix) throws Exception {
    Api.Response created = apis.get(0).post("/api/ucp/backup/schedules", new JsonObject().put("cron", "@every 1m")
        .put("hostPath", "/backups").put("includeLogs", false).put("fileNamePrefix", prefix)
        .put("passphraseFile", "/run/secrets/mke_backup_passphrase").encode(), token);
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    return created.json();
  }

  /** The records node {@code node} lists of a schedule's backups (their file names start with its prefix). */
  static List<JsonObject> scheduled(int node, String token, String prefix) {
    try {
      return apis.get(node).get("/api/ucp/backups", token).array().stream().map(o -> (JsonObject) o)
          .filter(r -> r.getString("fileName", "").startsWith(prefix + "-")).toList();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A scheduled backup's tick, from its file name ({@code <prefix>-yyyyMMddTHHmmssZ...}). */
  static long tickMillis(JsonObject record, String prefix) {
    String name = record.getString("fileName");
    return java.time.Instant.from(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
        .withZone(java.time.ZoneOffset.UTC).parse(name.substring(prefix.length() + 1, prefix.length() + 17)))
        .toEpochMilli();
  }

  /** Every file of node {@code i}'s ucp-* volumes but ucp-kv's (etcd's data): path to SHA-256. */
  static java.util.Map<String, String> volumeFiles(int i) throws Exception {
    String out = inNode(i, "sh -c 'cd /var/lib/docker/volumes && find . -path \"./ucp-*/_data/*\" -type f"
        + " ! -path \"./ucp-kv/*\" -exec sha256sum {} +'");
    java.util.Map<String, String> files = new java.util.TreeMap<>();
    out.lines().filter(l -> !l.isBlank()).forEach(l -> files.put(l.substring(66), l.substring(0, 64)));
    return files;
  }

  /** Where volumeFiles names the auth store's files. */
  static final String AUTH_STORE_FILES = "./ucp-auth-store-data/_data/";

  /** The last transaction node {@code i}'s running auth store has written, or -1 when it cannot be read. */
  static long maxTxn(int i) throws Exception {
    return Tools.lastAuthStoreTxn("docker exec mkelab-node" + (i + 1) + " docker exec ucp-auth-store");
  }

  /** Node {@code i}'s etcd keys and the SHA-256 of each value, read with its ucp-kv client certificate. */
  static java.util.Map<String, String> etcdKeys(int i) throws Exception {
    String out = inNode(i, "docker run --rm --network host --entrypoint /usr/bin/etcdctl -e ETCDCTL_API=3"
        + " -v /var/lib/docker/volumes/ucp-kv-certs/_data:/c:ro mke-backup:latest --endpoints https://127.0.0.1:12379"
        + " --cacert /c/ca.pem --cert /c/cert.pem --key /c/key.pem --command-timeout 20s get '' --prefix -w json");
    java.util.Map<String, String> keys = new java.util.TreeMap<>();
    io.vertx.core.json.JsonArray kvs = new JsonObject(out.strip()).getJsonArray("kvs", new io.vertx.core.json.JsonArray());
    java.util.Base64.Decoder b64 = java.util.Base64.getDecoder();
    for (int k = 0; k < kvs.size(); k++) {
      JsonObject kv = kvs.getJsonObject(k);
      byte[] value = b64.decode(kv.getString("value", ""));
      keys.put(new String(b64.decode(kv.getString("key")), StandardCharsets.UTF_8), java.util.HexFormat.of()
          .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(value)));
    }
    return keys;
  }

  /**
   * The disaster-recovery drill, as an MKE admin runs it on one manager node: the seed's backup
   * in container form into the share, the node's MKE state wiped, the seed's restore in container
   * form with the archive on stdin (the container has only the Docker socket), etcd started on
   * the restored ucp-kv as MKE starts it; then the node's files are the same bytes, its etcd
   * answers the same keys, its task is ready and the next backup through its API succeeds.
   */
  @Test
  @Order(6)
  void theRecoveryDrillBringsANodesStateBackAndItsTaskBacksUpAgain(@TempDir Path gnupg) throws Exception {
    long t0 = System.nanoTime();
    int n = 1;
    String node = "mkelab-node" + (n + 1);
    // The live auth store writes all along: its files are compared with the archive's, not with
    // what they were before the backup.
    java.util.Map<String, String> files = volumeFiles(n);
    files.keySet().removeIf(f -> f.startsWith(AUTH_STORE_FILES));
    java.util.Map<String, String> keys = etcdKeys(n);
    assertThat(files).hasSizeGreaterThan(30);
    assertThat(keys).isNotEmpty();
    // The passphrase into a 0600 file on the node, through stdin: never in a process's arguments.
    Path pass = tmp.resolve("dr-pass");
    Files.writeString(pass, PASSPHRASE + "\n");
    Tools.Out put = Tools.sh("docker exec -i " + node + " sh -c 'umask 077; cat > /root/dr-pass' < " + pass);
    assertThat(put.exit()).as(put.text()).isZero();
    String file = OWN + "dr-" + System.nanoTime() + ".tar";
    String seed = "docker exec -i " + node + " docker container run --rm -i --log-driver none --name ucp"
        + " --volume /var/run/docker.sock:/var/run/docker.sock --volume /root/dr-pass:/run/pass:ro ";
    Tools.Out backup = Tools.sh(seed + "--volume /mnt/nfs/mke-backups:/backup mke-backup:latest backup --file " + file
        + " --passphrase-file /run/pass --include-logs=false");
    assertThat(backup.exit()).as(backup.text()).isZero();
    assertThat(share.resolve(file)).isRegularFile();

    // A drill that fails between the wipe and its own lab.sh up would leave the node without its
    // MKE state (no ucp-kv) for the tests after it: it is brought up again, on fresh state.
    boolean upAgain = false;
    try {
      Tools.Out wipe = Tools.sh(LAB + " wipe node" + (n + 1));
      assertThat(wipe.exit()).as(wipe.text()).isZero();
      assertThat(volumeFiles(n)).isEmpty();

      Tools.Out restore = Tools.sh(seed + "mke-backup:latest restore --passphrase-file /run/pass < " + share.resolve(file));
      assertThat(restore.exit()).as(restore.text()).isZero();
      // Every file the seed backs up ("Data not included in the backup": ucp-metrics-data and
      // ucp-node-certs, which MKE makes again), byte for byte.
      java.util.Map<String, String> backedUp = new java.util.TreeMap<>(files);
      backedUp.keySet().removeIf(f -> f.startsWith("./ucp-metrics-data/") || f.startsWith("./ucp-node-certs/"));
      assertThat(backedUp).hasSizeGreaterThan(20); // certificates, keys and the auth worker's data
      java.util.Map<String, String> restored = volumeFiles(n);
      java.util.Map<String, String> authStore = new java.util.TreeMap<>(restored);
      authStore.keySet().removeIf(f -> !f.startsWith(AUTH_STORE_FILES));
      restored.keySet().removeAll(authStore.keySet());
      assertThat(restored).as("the node's volume files, byte for byte").isEqualTo(backedUp);
      // The auth store's database, written to all through the backup: the restored files are the
      // archive's, byte for byte, and SQLite opens them, passes its own check and finds every pair whole.
      Path copy = Files.createDirectories(tmp.resolve("dr-auth-store-" + System.nanoTime()));
      Tools.Out extract = Tools.sh(Tools.gpgDecrypt(share.resolve(file), PASSPHRASE, gnupg) + " | tar -C " + copy
          + " -x ./ucp-auth-store-data");
      assertThat(extract.exit()).as(extract.text()).isZero();
      java.util.Map<String, String> archived = new java.util.TreeMap<>();
      Tools.Out sums = Tools.sh("cd " + copy.resolve("ucp-auth-store-data") + " && find . -type f -exec sha256sum {} +");
      assertThat(sums.exit()).as(sums.text()).isZero();
      sums.text().lines().filter(l -> !l.isBlank())
          .forEach(l -> archived.put(AUTH_STORE_FILES + l.substring(68), l.substring(0, 64)));
      assertThat(archived).as("the archive's auth store").containsKey(AUTH_STORE_FILES + "auth.db");
      assertThat(authStore).as("the restored auth store, byte for byte").isEqualTo(archived);
      Path db = copy.resolve("ucp-auth-store-data/auth.db");
      assertThat(LiveAuthStoreIT.openDatabase(db)).as("the restored auth store").isEqualTo("ok\n0");
      long restoredTxn = Long.parseLong(Tools.sh("sqlite3 " + db + " 'SELECT max(txn) FROM pairs;'").text().strip());
      // etcd on the restored ucp-kv, started as MKE starts it (lab.sh up runs demo-state on the node,
      // which starts ucp-kv on the volume as it is and changes nothing that exists).
      Tools.Out up = Tools.sh(LAB + " up " + NODES);
      upAgain = true;
      assertThat(up.exit()).as(up.text()).isZero();
      assertThat(etcdKeys(n)).as("the node's etcd keys and values").isEqualTo(keys);
      // ... and the auth store's writer, started by demo-state on the restored database, goes on from it.
      org.awaitility.Awaitility.await("node" + (n + 1) + "'s auth store writes past " + restoredTxn)
          .atMost(java.time.Duration.ofSeconds(60)).pollInterval(java.time.Duration.ofSeconds(1))
          .until(() -> maxTxn(n), txn -> txn > restoredTxn);
    } finally {
      if (!upAgain) {
        Tools.sh(LAB + " up " + NODES);
      }
    }

    String t = apis.get(n).login("admin", password());
    org.awaitility.Awaitility.await("node" + (n + 1) + " ready").atMost(java.time.Duration.ofSeconds(120))
        .pollInterval(java.time.Duration.ofSeconds(1)).ignoreExceptions()
        .until(() -> apis.get(n).get("/_ready", t).status() == 200);
    String next = OWN + "after-dr-" + System.nanoTime() + ".tar";
    Api.Response accepted = apis.get(n).post("/api/ucp/backup", body(next), t);
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
    JsonObject done = awaitState(n, t, accepted.json().getString("backupId"), "SUCCESS",
        java.time.Duration.ofSeconds(180));
    assertThat(share.resolve(done.getString("fileName"))).isRegularFile();
    System.out.printf("SwarmLabIT: the recovery drill (%d files, %d etcd keys) took %.1f s%n", files.size(),
        keys.size(), (System.nanoTime() - t0) / 1e9);
  }

  /** Each node's cluster line ("3 of 3 configured managers"), or "down" when it does not answer. */
  static List<String> clusterLines(String token) {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < NODES; i++) {
      String line;
      try {
        line = apis.get(i).get("/_ready", token).json().getJsonObject("checks").getJsonObject("cluster")
            .getString("detail");
      } catch (Exception e) {
        line = "down";
      }
      lines.add(line);
    }
    return lines;
  }

  /**
   * A rolling update of the stack (docker service update --force: one task at a time, each new task
   * healthy before the next is stopped) while a schedule fires every minute: every second of it a
   * majority of the managers is in one cluster and no task is ever alone; a login token made before
   * it works on every node after it; each tick of the schedule from before the update to after it
   * ran exactly once and succeeded.
   */
  @Test
  @Order(7)
  void aRollingUpdateWhileAScheduleRunsKeepsOneClusterAndEveryTickOnce() throws Exception {
    long t0 = System.nanoTime();
    String t = apis.get(0).login("admin", password());
    String prefix = OWN + "rolling-" + Long.toString(System.nanoTime(), 36);
    String schedule = everyMinute(t, prefix).getString("id");
    try {
      rollingUpdateUnderSchedule(t, prefix);
    } finally {
      // A schedule left behind would start backups in the lab's later tests.
      assertThat(apis.get(0).delete("/api/ucp/backup/schedules/" + schedule, t).status()).isIn(200, 204);
    }
    System.out.printf("SwarmLabIT: the rolling update test took %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  void rollingUpdateUnderSchedule(String t, String prefix) throws Exception {
    long updateStart = System.currentTimeMillis();
    ExecutorService one = Executors.newSingleThreadExecutor();
    List<String> samples = new ArrayList<>();
    try {
      CompletableFuture<Tools.Out> update = CompletableFuture.supplyAsync(() -> {
        try {
          return Tools.sh("docker exec mkelab-node1 docker service update --force --detach=false --quiet mke-backup_manager");
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      }, one);
      while (!update.isDone()) {
        List<String> lines = clusterLines(t);
        samples.add(String.join(", ", lines));
        long inMajority = lines.stream().filter(l -> l.startsWith("2 of 3") || l.startsWith("3 of 3")).count();
        assertThat(lines).as("no task alone during the update; samples so far: " + samples)
            .noneMatch(l -> l.startsWith("1 of "));
        assertThat(inMajority).as("a majority in one cluster throughout; samples so far: " + samples)
            .isGreaterThanOrEqualTo(2);
        try {
          update.get(1, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException stillUpdating) {
          // sample again
        }
      }
      Tools.Out out = update.join();
      assertThat(out.exit()).as(out.text()).isZero();
    } finally {
      one.shutdown();
    }
    long updateEnd = System.currentTimeMillis();
    System.out.printf("SwarmLabIT: the rolling update took %.1f s, %d samples%n", (updateEnd - updateStart) / 1e3,
        samples.size());
    Tools.Out tasks = Tools.sh("docker exec mkelab-node1 docker service ps --filter desired-state=running"
        + " --format '{{.Node}} {{.CurrentState}}' mke-backup_manager");
    assertThat(tasks.text().lines().filter(l -> l.contains("Running")).count()).as(tasks.text()).isEqualTo(NODES);
    org.awaitility.Awaitility.await("three of three after the update").atMost(java.time.Duration.ofSeconds(120))
        .pollInterval(java.time.Duration.ofSeconds(1))
        .until(() -> clusterLines(t).stream().allMatch(l -> l.startsWith("3 of 3")));
    // The token made before the update still works on every node.
    for (int i = 0; i < NODES; i++) {
      assertThat(apis.get(i).get("/api/ucp/backups", t).status()).as("node" + (i + 1)).isEqualTo(200);
    }
    // A tick after the update fires too, then the schedule's history is read.
    java.util.function.Supplier<List<JsonObject>> records = () -> scheduled(0, t, prefix);
    java.util.function.ToLongFunction<JsonObject> tick = r -> tickMillis(r, prefix);
    try {
      org.awaitility.Awaitility.await("a tick after the update succeeded").atMost(java.time.Duration.ofSeconds(150))
          .pollInterval(java.time.Duration.ofSeconds(2)).until(() -> records.get().stream()
              .anyMatch(r -> tick.applyAsLong(r) > updateEnd && "SUCCESS".equals(r.getString("backupState"))));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("no tick after the update succeeded; its ticks: " + records.get().stream()
          .filter(r -> tick.applyAsLong(r) > updateEnd).map(r -> r.getString("created_at") + " "
              + r.getString("nodeLocation") + " " + r.getString("backupState") + " " + r.getString("shortError"))
          .toList(), e);
    }
    List<JsonObject> all = records.get();
    List<Long> ticks = all.stream().map(tick::applyAsLong).sorted().toList();
    // The ticks that did not succeed first: CI keeps only the start of a failure's message.
    List<JsonObject> failed = all.stream().filter(r -> !"SUCCESS".equals(r.getString("backupState"))).toList();
    assertThat(failed).as("ticks that did not succeed: " + failed.stream().map(r -> r.getString("created_at") + " "
        + r.getString("nodeLocation") + " " + r.getString("backupState") + " " + r.getString("shortError")).toList()
        + "; all: " + all).isEmpty();
    assertThat(new java.util.HashSet<>(ticks)).as("no tick ran twice: " + all).hasSameSizeAs(ticks);
    for (int i = 1; i < ticks.size(); i++) {
      assertThat(ticks.get(i) - ticks.get(i - 1)).as("no tick lost between " + ticks.get(i - 1) + " and "
          + ticks.get(i) + ": " + all).isEqualTo(60_000L);
    }
    assertThat(ticks.get(0)).as("the first tick came within a minute of the schedule").isLessThan(updateStart + 61_000);
    assertThat(ticks.get(ticks.size() - 1)).isGreaterThan(updateEnd);
    for (JsonObject r : all) {
      assertThat(share.resolve(r.getString("fileName"))).isRegularFile();
    }
    System.out.printf("SwarmLabIT: %d ticks, each once, over the rolling update%n", ticks.size());
  }

  static String password() throws java.io.IOException {
    String password = System.getenv("MKE_ADMIN_PASSWORD");
    return password == null || password.isEmpty() ? Files.readString(DIR.resolve("admin-password")).strip()
        : password;
  }
}
