package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** deploy/local-cluster.sh as the README uses it: up, status, a backup through the API, down. */
@Tag("integration")
class LocalClusterScriptIT {
  static final Path SCRIPT = Path.of(System.getProperty("mke.backup.jar", "target/mke-backup.jar"))
      .toAbsolutePath().getParent().getParent().resolve("local-cluster.sh");

  @Test
  void upStatusBackupDown() throws Exception {
    try (DemoFixture demo = DemoFixture.create(50, 0)) {
      Path dir = Scratch.dir("mke-local-cluster-");
      String password = "pw-" + UUID.randomUUID();
      int https = DemoFixture.freePort();
      int hz = DemoFixture.freePort();
      String env = "export MKE_LOCAL_CLUSTER_DIR=" + dir + " MKE_LOCAL_HTTPS_PORT=" + https
          + " MKE_LOCAL_CLUSTER_PORT=" + hz + " MKE_BACKUP_VOLUME_PREFIX=" + demo.prefix
          + " MKE_BACKUP_CLUSTER_NAME=it-" + demo.prefix
          + " MKE_ADMIN_PASSWORD=" + password
          + " MKE_LOCAL_DEMO_ARGS='--etcd-client-port " + demo.clientPort + " --etcd-peer-port " + demo.peerPort + "'; ";
      try {
        Tools.Out up = Tools.sh(env + SCRIPT + " up");
        assertThat(up.exit()).as(up.text()).isZero();
        Tools.Out status = Tools.sh(env + SCRIPT + " status");
        List<String> lines = status.text().lines().toList();
        assertThat(lines).hasSize(3);
        Pattern shape = Pattern.compile("(manager-\\d) (\\d+) https://127\\.0\\.0\\.1:(\\d+)");
        for (int i = 0; i < 3; i++) {
          Matcher m = shape.matcher(lines.get(i));
          assertThat(m.matches()).as(lines.get(i)).isTrue();
          assertThat(m.group(1)).isEqualTo("manager-" + (i + 1));
          assertThat(ProcessHandle.of(Long.parseLong(m.group(2))).map(ProcessHandle::isAlive)).contains(true);
          assertThat(Integer.parseInt(m.group(3))).isEqualTo(https + i);
        }
        List<Path> dataDirs = List.of(dir.resolve("manager-1"), dir.resolve("manager-2"), dir.resolve("manager-3"));
        // The managers hold the secret the script made, readable by root only, and say so.
        Path secret = dir.resolve("cluster-secret");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secret))).isEqualTo("rw-------");
        for (Path d : dataDirs) {
          assertThat(Files.readString(d.resolve("manager.log"))).contains("from clusterSecretFile " + secret)
              .doesNotContain(Files.readString(secret).strip());
        }
        Api api = new Api(https + 2, dataDirs);
        String token = api.login("admin", password);
        Api.Response r = api.post("/api/ucp/backup", new JsonObject().put("noPassphrase", true)
            .put("fileName", "local.tar").encode(), token);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        String id = r.json().getString("backupId");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() ->
            new Api(https, dataDirs).get("/api/ucp/backup/" + id, token).json().getString("backupState")
                .equals(BackupState.SUCCESS.name()));
        assertThat(dir.resolve("backups/local.tar")).exists();
      } finally {
        Tools.sh(env + SCRIPT + " down");
      }
      Tools.Out after = Tools.sh(env + SCRIPT + " status");
      assertThat(after.text().lines()).hasSize(3).allMatch(l -> l.matches("manager-\\d - https://127\\.0\\.0\\.1:\\d+"));
    }
  }
}
