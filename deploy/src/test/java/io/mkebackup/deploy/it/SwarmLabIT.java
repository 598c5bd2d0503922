package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
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
 * Not in the default run (tag swarm-lab): deploy/swarm/lab-test.sh runs it.
 */
@Tag("integration")
@Tag("swarm-lab")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SwarmLabIT {
  static final int NODES = 3;
  static final String PASSPHRASE = "swarm-lab-passphrase-" + System.nanoTime();
  static final Path LAB = Files.exists(Path.of("swarm/lab.sh")) ? Path.of("swarm/lab.sh").toAbsolutePath()
      : Path.of("deploy/swarm/lab.sh").toAbsolutePath();
  static final Path DIR = Path.of(System.getenv().getOrDefault("MKE_LAB_DIR", "/var/lib/mkelab"));
  static final List<String> ips = new ArrayList<>();
  static final List<Api> apis = new ArrayList<>();
  static final List<Path> serverCerts = new ArrayList<>();
  static Path share;
  static String token;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void labUp() throws Exception {
    long t0 = System.nanoTime();
    Tools.Out up = Tools.sh(LAB + " up " + NODES);
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
    String password = System.getenv("MKE_ADMIN_PASSWORD");
    if (password == null || password.isEmpty()) {
      password = Files.readString(DIR.resolve("admin-password")).strip();
    }
    token = apis.get(0).login("admin", password);
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
    }
    // Swarm agrees: one running task per manager node.
    String tasks = inNode(0, "docker service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'"
        + " mke-backup_manager");
    assertThat(tasks.lines().filter(l -> l.contains("Running")).map(l -> l.split(" ")[0]).sorted().toList())
        .containsExactly("node1", "node2", "node3");
    System.out.printf("SwarmLabIT: cluster check took %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  @Test
  @Order(2)
  void eachNodesApiAnswersItsOwnClientBundle() throws Exception {
    long t0 = System.nanoTime();
    for (int i = 0; i < NODES; i++) {
      Path bundle = DIR.resolve("node" + (i + 1)).resolve("bundle");
      String url = "https://" + ips.get(i) + ":8443/api/ucp/backups";
      // curl checks the task's certificate by the node's address, and presents the bundle.
      Tools.Out ok = Tools.sh("curl -s -o /dev/null -w '%{http_code}' --cacert " + serverCerts.get(i) + " --cert "
          + bundle.resolve("cert.pem") + " --key " + bundle.resolve("key.pem") + " " + url);
      assertThat(ok.text()).as("node%d with its bundle", i + 1).isEqualTo("200");
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
    String run = "lab-" + System.nanoTime();
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

    JsonObject done = apis.get(other).get("/api/ucp/backup/" + id, token).json();
    assertThat(done.getString("backupState")).isEqualTo("SUCCESS");
    Path archive = share.resolve(done.getString("fileName"));
    assertThat(archive).isRegularFile();
    assertThat(Tools.listing(share)).noneMatch(n -> n.endsWith(".part"));

    // Stock gpg and GNU tar open it, and it is the running node's state: its cluster root CA and
    // its etcd snapshot, not another node's (each node made its own CA).
    String decrypt = Tools.gpgDecrypt(archive, PASSPHRASE, gnupg);
    Tools.Out list = Tools.sh(decrypt + " | tar --list");
    assertThat(list.exit()).as(list.text()).isZero();
    assertThat(list.text()).contains("./ucp-cluster-root-ca/cert.pem", "./ucp-kv.json", "etcd.backup.db");
    Tools.Out ca = Tools.sh(decrypt + " | tar -xO ./ucp-cluster-root-ca/cert.pem");
    assertThat(ca.exit()).as(ca.text()).isZero();
    for (int i = 0; i < NODES; i++) {
      String nodesCa = inNode(i, "cat /var/lib/docker/volumes/ucp-cluster-root-ca/_data/cert.pem");
      if (i == r) {
        assertThat(ca.text()).as("the archive holds %s's CA", runner).isEqualTo(nodesCa);
      } else {
        assertThat(ca.text()).as("not node%d's", i + 1).isNotEqualTo(nodesCa);
      }
    }
    Files.writeString(tmp.resolve("last-archive"), archive.toString(), StandardCharsets.UTF_8);
    System.out.printf("SwarmLabIT: ten concurrent posts, one backup on %s, took %.1f s%n", runner,
        (System.nanoTime() - t0) / 1e9);
  }

  static JsonObject awaitState(int node, String token, String id, String state, java.time.Duration within) {
    JsonObject[] last = new JsonObject[1];
    org.awaitility.Awaitility.await(id + " " + state + " seen on node" + (node + 1)).atMost(within)
        .pollInterval(java.time.Duration.ofMillis(250)).ignoreExceptions().until(() -> {
          last[0] = apis.get(node).get("/api/ucp/backup/" + id, token).json();
          return state.equals(last[0].getString("backupState"));
        });
    return last[0];
  }

  static List<String> partFiles() throws java.io.IOException {
    return Tools.listing(share).stream().filter(n -> n.endsWith(".part")).toList();
  }

  @Test
  @Order(4)
  void aNodeKilledMidBackupFailsItWithin15sTheSurvivorsBackUpAndItRejoinsToOneHistory() throws Exception {
    long t0 = System.nanoTime();
    String file = "lab-killed-" + System.nanoTime() + ".tar";
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

      Api.Response next = apis.get(survivor).post("/api/ucp/backup", body("lab-after-kill-" + System.nanoTime()
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
    JsonObject ready = apis.get(r).get("/_ready", t).json();
    assertThat(ready.getJsonObject("checks").getJsonObject("cluster").getString("detail"))
        .isEqualTo("3 of 3 configured managers");
    List<Object> history = apis.get(survivor).get("/api/ucp/backups", t).array().getList();
    assertThat(history).isNotEmpty();
    for (int i = 0; i < NODES; i++) {
      assertThat(apis.get(i).get("/api/ucp/backups", t).array().getList()).as("node%d's history", i + 1)
          .isEqualTo(history);
    }
    System.out.printf("SwarmLabIT: node kill, failure, next backup and rejoin took %.1f s%n",
        (System.nanoTime() - t0) / 1e9);
  }

  static String password() throws java.io.IOException {
    String password = System.getenv("MKE_ADMIN_PASSWORD");
    return password == null || password.isEmpty() ? Files.readString(DIR.resolve("admin-password")).strip()
        : password;
  }
}
