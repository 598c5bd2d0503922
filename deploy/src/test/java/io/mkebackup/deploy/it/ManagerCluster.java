package io.mkebackup.deploy.it;

import static org.awaitility.Awaitility.await;

import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * N real managers (separate JVMs, Hazelcast on loopback) over a demo MKE state of the test's own,
 * sharing one backup directory, each with its own ports and data directory.
 */
final class ManagerCluster implements AutoCloseable {
  final DemoFixture demo;
  final Path base;
  final Path backups;
  final String password = "pw-" + UUID.randomUUID();
  final List<ManagerProcess> managers = new ArrayList<>();
  /** Server certificates the managers were configured with, trusted besides their generated ones. */
  final List<Path> trusted = new ArrayList<>();

  private ManagerCluster(DemoFixture demo, Path base) throws IOException {
    this.demo = demo;
    this.base = base;
    this.backups = Files.createDirectories(base.resolve("backups"));
  }

  /**
   * @param extraEnv added to every manager's environment (a rate cap to make backups last, ...)
   */
  static ManagerCluster start(int count, Map<String, String> extraEnv) throws Exception {
    return start(count, demo -> extraEnv);
  }

  /** @param envOf the extra environment, from the demo state (its certificates, say) */
  static ManagerCluster start(int count, java.util.function.Function<DemoFixture, Map<String, String>> envOf)
      throws Exception {
    return start(count, envOf, java.util.Collections.nCopies(count, "127.0.0.1"), 0);
  }

  static ManagerCluster start(int count, Map<String, String> extraEnv, List<String> hosts, long volumeMib)
      throws Exception {
    return start(count, demo -> extraEnv, hosts, volumeMib);
  }

  /**
   * @param envOf the extra environment, from the demo state (its certificates, say)
   * @param hosts each manager's bind address (127.0.0.x: separate addresses let a test cut one
   *     manager off from the others with iptables)
   * @param volumeMib grows two demo volumes to at least this many MiB (0: the plain demo state)
   */
  static ManagerCluster start(int count, java.util.function.Function<DemoFixture, Map<String, String>> envOf,
      List<String> hosts, long volumeMib) throws Exception {
    long t0 = System.nanoTime();
    DemoFixture demo = DemoFixture.create(200, volumeMib);
    long t1 = System.nanoTime();
    ManagerCluster c = null;
    try {
      Map<String, String> extraEnv = envOf.apply(demo);
      c = new ManagerCluster(demo, Scratch.dir("mke-cluster-"));
      if (extraEnv.containsKey("MKE_BACKUP_TLS_CERT")) {
        c.trusted.add(Path.of(extraEnv.get("MKE_BACKUP_TLS_CERT")));
      }
      List<Integer> clusterPorts = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        clusterPorts.add(DemoFixture.freePort());
      }
      List<String> members = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        members.add(hosts.get(i) + ":" + clusterPorts.get(i));
      }
      for (int i = 0; i < count; i++) {
        Map<String, String> env = new HashMap<>();
        env.put("MKE_BACKUP_CLUSTER_MEMBERS", String.join(",", members));
        env.put("MKE_BACKUP_CLUSTER_NAME", "it-" + demo.prefix);
        env.put("MKE_BACKUP_DEFAULT_DIR", c.backups.toString());
        env.put("MKE_BACKUP_ALLOWED_ROOTS", c.backups.toString());
        env.putAll(demo.managerEnv());
        env.put("MKE_ADMIN_PASSWORD", c.password);
        env.putAll(extraEnv);
        c.managers.add(new ManagerProcess(demo.prefix + "node-" + (i + 1), hosts.get(i), DemoFixture.freePort(),
            clusterPorts.get(i), c.base.resolve("node-" + (i + 1)), env));
      }
      for (ManagerProcess m : c.managers) {
        m.start();
      }
      c.awaitReady(count);
      System.out.printf("ManagerCluster: the demo state took %.1f s, %d managers ready %.1f s after%n",
          (t1 - t0) / 1e9, count, (System.nanoTime() - t1) / 1e9);
      return c;
    } catch (Exception | Error e) {
      if (c != null) {
        c.close();
      } else {
        demo.close();
      }
      throw e;
    }
  }

  /** Waits until every running manager answers and sees the expected number of members. */
  void awaitReady(int members) {
    for (ManagerProcess m : managers) {
      if (!m.alive()) {
        continue;
      }
      await("manager " + m.node + " ready").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
          .until(() -> {
            if (!m.alive()) {
              throw new AssertionError("manager " + m.node + " exited:\n" + m.logText());
            }
            // This run of it: the log file holds every start of the manager.
            String log = m.logText();
            int life = log.lastIndexOf("ManagerCommand: starting:");
            return log.indexOf("manager " + m.node + " ready", Math.max(life, 0)) >= 0
                && api(managers.indexOf(m)).ping();
          });
    }
    // Cluster membership: the last "ready" line names the member count; wait until all joined.
    try {
      await("cluster of " + members).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
          .ignoreExceptions().until(() -> provenEverywhere(members));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      StringBuilder tails = new StringBuilder();
      for (ManagerProcess m : managers) {
        List<String> lines = m.logText().lines().toList();
        tails.append("\n--- ").append(m.node).append(m.alive() ? "" : " (not running)").append(", last lines:\n")
            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())));
      }
      throw new AssertionError("no cluster of " + members + " within 60 s; the managers' logs end:" + tails, e);
    }
  }

  /**
   * Whether every running manager's readiness says it sees {@code members} proven managers ("N of
   * M configured managers"), asked through its API: a count in the log is a snapshot (the
   * ready line's, taken while proofs may still come in, can be the last one logged).
   */
  boolean provenEverywhere(int members) throws IOException, InterruptedException {
    String token = null;
    for (int i = 0; i < managers.size(); i++) {
      if (!managers.get(i).alive()) {
        continue;
      }
      if (token == null) {
        token = token(i);
      }
      io.vertx.core.json.JsonObject ready = api(i).get("/_ready", token).json();
      String detail = ready.getJsonObject("checks").getJsonObject("cluster").getString("detail", "");
      if (!detail.startsWith(members + " of ")) {
        return false;
      }
    }
    return true;
  }

  Api api(int i) {
    List<Path> trust = new ArrayList<>(managers.stream().map(m -> m.dataDir).toList());
    trust.addAll(trusted);
    return new Api(managers.get(i).host, managers.get(i).httpsPort, trust);
  }

  String token(int i) throws IOException, InterruptedException {
    return api(i).login("admin", password);
  }

  /** The record of a backup as manager i reports it. */
  JsonObject record(int i, String token, String id) throws IOException, InterruptedException {
    Api.Response r = api(i).get("/api/ucp/backup/" + id, token);
    if (r.status() != 200) {
      throw new AssertionError("GET backup " + id + ": " + r);
    }
    return r.json();
  }

  JsonObject awaitState(int i, String token, String id, BackupState state, Duration within) {
    JsonObject[] last = new JsonObject[1];
    await("backup " + id + " " + state).atMost(within).pollInterval(Duration.ofMillis(200))
        .until(() -> {
          last[0] = record(i, token, id);
          return last[0].getString("backupState").equals(state.name());
        });
    return last[0];
  }

  String allLogs() {
    StringBuilder b = new StringBuilder();
    managers.forEach(m -> b.append(m.logText()));
    return b.toString();
  }

  @Override
  public void close() throws Exception {
    try {
      for (ManagerProcess m : managers) {
        m.stop();
      }
      demo.close();
    } finally {
      Scratch.remove(base);
    }
  }
}
