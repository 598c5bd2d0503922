package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.record.BackupState;
import io.mkebackup.common.tls.Certificates;
import io.mkebackup.gateway.auth.Passwords;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients written for MKE, unchanged, against a real manager: a UCP 3.x-era backup script (curl,
 * lower-case keys, includeLogs false with a logFileName, polling every 3 s), and MKE client bundles
 * (client certificates of MKE's client root CA) instead of a login. The manager serves the demo's
 * ucp-controller certificate, signed by the cluster root CA, so a bundle's ca.pem verifies it as
 * it verifies MKE's.
 */
@Tag("integration")
class MkeClientsIT {
  static final String SECRET = "ucp3 script passphrase";
  static ManagerCluster cluster;
  static Path bundle;
  static String base;

  @BeforeAll
  static void up() throws Exception {
    Path config = Scratch.file("mke-clients-", ".json");
    Files.writeString(config, new JsonObject().put("users", new JsonArray().add(new JsonObject()
        .put("username", "viewer").put("passwordHash", Passwords.hash("viewer-password".toCharArray()))
        .put("roles", new JsonArray()))).encode());
    cluster = ManagerCluster.start(1, demo -> {
      Path server = demo.mountpoint("ucp-controller-server-certs");
      return Map.of("MKE_BACKUP_TLS_CERT", server.resolve("cert.pem").toString(),
          "MKE_BACKUP_TLS_KEY", server.resolve("key.pem").toString(), "MKE_BACKUP_CONFIG", config.toString());
    });
    bundle = cluster.demo.adminBundle();
    base = "https://127.0.0.1:" + cluster.managers.get(0).httpsPort;
  }

  @AfterAll
  static void down() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aUcp3ScriptFindsItsBackupWhereItAskedFor() throws Exception {
    Path dir = cluster.backups;
    String script = """
        set -eu
        UCP=%s
        CA=%s
        json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
        AUTHTOKEN=$(curl -sf --cacert $CA -d '{"username": "admin", "password": "%s"}' $UCP/auth/login | json auth_token)
        BACKUP_ID=$(curl -sf --cacert $CA -H "Authorization: Bearer $AUTHTOKEN" $UCP/api/ucp/backup -X POST \\
          -H "Content-Type: application/json" \\
          --data '{"encrypted": true, "passphrase": "%s", "includeLogs": false, "filename": "ucp3-nightly.tar",
                   "logFileName": "ucp3-nightly.log", "hostPath": "%s"}' | json backupId)
        STATE=IN_PROGRESS
        for i in $(seq 1 100); do
          STATE=$(curl -sf --cacert $CA -H "Authorization: Bearer $AUTHTOKEN" $UCP/api/ucp/backup/$BACKUP_ID | json backupState)
          [ "$STATE" = IN_PROGRESS ] || break
          sleep 3
        done
        echo "id=$BACKUP_ID state=$STATE"
        """.formatted(base, bundle.resolve("ca.pem"), cluster.password, SECRET, dir);
    Tools.Out run = Tools.sh(script);
    assertThat(run.exit()).as(run.text()).isZero();
    assertThat(run.text()).contains("state=SUCCESS");
    Path file = dir.resolve("ucp3-nightly.tar");
    assertThat(file).exists();
    assertThat(Tools.listing(dir)).doesNotContain("ucp3-nightly.log");
    String id = run.text().replaceAll("(?s).*id=(\\S+) state.*", "$1").trim();
    JsonObject record = cluster.record(0, cluster.token(0), id);
    assertThat(record.getString("fileName")).isEqualTo("ucp3-nightly.tar");
    assertThat(record.getString("logFileName")).isEmpty();
    assertThat(record.getString("backupPath")).isEqualTo(dir.toRealPath().toString());
    assertThat(record.getBoolean("encrypted")).isTrue();
    Tools.Out list = Tools.sh(Tools.gpgDecrypt(file, SECRET, Scratch.dir("gnupg-")) + " | tar --list");
    assertThat(list.exit()).as(list.text()).isZero();
    assertThat(list.text().lines().count()).isGreaterThanOrEqualTo(27);
  }

  /** curl with a client bundle's three files, as MKE's documentation shows it; the status and the body. */
  static Tools.Out curl(Path certDir, String method, String path, String body) throws Exception {
    Path out = Scratch.file("curl-", ".txt");
    Tools.Out r = Tools.sh("curl -s -o " + out + " -w '%{http_code}' --cacert " + bundle.resolve("ca.pem")
        + (certDir == null ? "" : " --cert " + certDir.resolve("cert.pem") + " --key " + certDir.resolve("key.pem"))
        + " -X " + method + " " + base + path
        + (body == null ? "" : " -H 'Content-Type: application/json' --data '" + body + "'")
        + " -D " + out + ".headers");
    String text = Files.readString(out);
    String headers = Files.readString(Path.of(out + ".headers"));
    return new Tools.Out(Integer.parseInt(r.text().trim()), headers + "\n" + text);
  }

  @Test
  void anAdminsClientBundleBacksUp() throws Exception {
    assertThat(Files.getPosixFilePermissions(bundle.resolve("key.pem")))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    Tools.Out started = curl(bundle, "POST", "/api/ucp/backup",
        "{\"noPassphrase\": true, \"FileName\": \"bundle.tar\", \"backupName\": \"ignored\"}");
    assertThat(started.exit()).as(started.text()).isEqualTo(200);
    assertThat(started.text()).contains("Warning: 299 - \"ignored unknown fields: backupName\"");
    String id = new JsonObject(started.text().substring(started.text().indexOf('{'))).getString("backupId");
    cluster.awaitState(0, cluster.token(0), id, BackupState.SUCCESS, Duration.ofSeconds(120));
    assertThat(cluster.backups.resolve("bundle.tar")).exists();
    Tools.Out listed = curl(bundle, "GET", "/api/ucp/backups", null);
    assertThat(listed.exit()).as(listed.text()).isEqualTo(200);
    assertThat(listed.text()).contains(id);
  }

  @Test
  void aBundleOfAnotherCaIsUnauthorized(@TempDir Path dir) throws Exception {
    Certificates.Issued otherCa = Certificates.rootCa("UCP Client Root CA");
    Path foreign = writeBundle(dir, Certificates.client("admin", otherCa, Duration.ofDays(1)));
    Tools.Out r = curl(foreign, "GET", "/api/ucp/backups", null);
    assertThat(r.exit()).as(r.text()).isEqualTo(401);
    assertThat(r.text()).contains("UNAUTHORIZED").contains("not issued by this cluster's client CA");
  }

  @Test
  void anExpiredBundleOrOneOfARemovedUserIsUnauthorized(@TempDir Path dir) throws Exception {
    Path caDir = cluster.demo.mountpoint("ucp-client-root-ca");
    Certificates.Issued clientCa = Certificates.parse(Files.readString(caDir.resolve("cert.pem")),
        Files.readString(caDir.resolve("key.pem")));
    Path expired = writeBundle(Files.createDirectory(dir.resolve("expired")),
        Certificates.client("admin", clientCa, Duration.ofMinutes(-5)));
    Tools.Out r = curl(expired, "GET", "/api/ucp/backups", null);
    assertThat(r.exit()).as(r.text()).isEqualTo(401);
    assertThat(r.text()).contains("is not valid now");

    Path removed = cluster.demo.demo.clientBundle("mallory", dir.resolve("mallory"));
    Tools.Out gone = curl(removed, "GET", "/api/ucp/backups", null);
    assertThat(gone.exit()).as(gone.text()).isEqualTo(401);
    assertThat(gone.text()).contains("'mallory', who is not a user of this manager");
  }

  @Test
  void aNonAdminsBundleIsForbidden(@TempDir Path dir) throws Exception {
    Path viewer = cluster.demo.demo.clientBundle("viewer", dir.resolve("viewer"));
    Tools.Out r = curl(viewer, "GET", "/api/ucp/backups", null);
    assertThat(r.exit()).as(r.text()).isEqualTo(403);
    assertThat(r.text()).contains("FORBIDDEN").contains("viewer is not an administrator");
  }

  @Test
  void withoutABundleTokensStillDecide() throws Exception {
    Tools.Out none = curl(null, "GET", "/api/ucp/backups", null);
    assertThat(none.exit()).as(none.text()).isEqualTo(401);
    assertThat(none.text()).contains("client bundle");
    assertThat(cluster.api(0).get("/api/ucp/backups", cluster.token(0)).status()).isEqualTo(200);
    assertThat(cluster.api(0).get("/api/ucp/backups", cluster.api(0).login("viewer", "viewer-password")).status())
        .isEqualTo(403);
  }

  static Path writeBundle(Path dir, Certificates.Issued cert) throws Exception {
    Files.writeString(dir.resolve("cert.pem"), cert.certPem());
    Files.writeString(dir.resolve("key.pem"), cert.keyPem());
    return dir;
  }
}
