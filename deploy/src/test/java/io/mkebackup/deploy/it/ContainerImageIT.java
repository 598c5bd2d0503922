package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The manager image (FROM scratch, jlink runtime) built by deploy/image/build.sh with the local
 * Docker engine: two containers on one Docker network form a cluster and take a backup through
 * one of them, reading the demo volumes through the mounted Docker socket and finding ucp-kv's etcd
 * (and its certificates) through it on that network; the admin's client bundle works on it.
 */
@Tag("integration")
class ContainerImageIT {
  static final Path ROOT = Cli.JAR.toAbsolutePath().getParent().getParent().getParent();

  /** Builds the product image under {@code image} (repository:tag) with deploy/image/build.sh. */
  static void buildImage(String image) throws Exception {
    Tools.Out build = Tools.sh("MKE_BACKUP_IMAGE=" + image + " " + ROOT.resolve("deploy/image/build.sh"));
    assertThat(build.exit()).as(build.text()).isZero();
  }

  @Test
  void twoContainersFormAClusterAndBackUp() throws Exception {
    String tag = "mke-backup-it:" + UUID.randomUUID().toString().substring(0, 8);
    buildImage(tag);
    try (DemoFixture demo = DemoFixture.create(20, 0)) {
      String p = demo.prefix;
      String net = p + "net";
      Path backups = Scratch.dir("mke-image-backups-");
      int port = DemoFixture.freePort();
      String password = "pw-" + UUID.randomUUID();
      try {
        assertThat(Tools.sh("docker network create " + net).exit()).isZero();
        // ucp-kv on the managers' network too: they find it there through the Docker API.
        assertThat(Tools.sh("docker network connect " + net + " " + p + "ucp-kv").exit()).isZero();
        for (int i = 1; i <= 2; i++) {
          String name = p + "mgr" + i;
          Tools.Out run = Tools.sh("docker run -d --name " + name + " --network " + net
              + " -v /var/run/docker.sock:/var/run/docker.sock -v " + backups + ":/backups"
              + " -e MKE_BACKUP_NODE_NAME=" + name
              + " -e MKE_BACKUP_CLUSTER_MEMBERS=" + p + "mgr1:5701," + p + "mgr2:5701"
              + " -e MKE_BACKUP_CLUSTER_NAME=" + p + "cluster"
              + " -e MKE_BACKUP_DEFAULT_DIR=/backups -e MKE_BACKUP_VOLUME_PREFIX=" + p
              + " -e MKE_ADMIN_PASSWORD=" + password
              + (i == 2 ? " -p 127.0.0.1:" + port + ":8443" : "") + " " + tag);
          assertThat(run.exit()).as(run.text()).isZero();
        }
        await("both members joined").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() ->
            Tools.sh("docker logs " + p + "mgr2 2>&1").text().matches("(?s).*cluster members: 2.*")
                && Tools.sh("docker logs " + p + "mgr1 2>&1").text().matches("(?s).*cluster members: 2.*"));

        HttpClient http = HttpClient.newBuilder().sslContext(trustAll()).build();
        String base = "https://127.0.0.1:" + port;
        await("the API answers").atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() ->
            http.send(HttpRequest.newBuilder(URI.create(base + "/_ping")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        String token = new JsonObject(http.send(HttpRequest.newBuilder(URI.create(base + "/auth/login"))
            .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", "admin")
                .put("password", password).encode())).build(), HttpResponse.BodyHandlers.ofString()).body())
            .getString("auth_token");
        HttpResponse<String> started = http.send(HttpRequest.newBuilder(URI.create(base + "/api/ucp/backup"))
            .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"noPassphrase\": true, \"fileName\": \"from-image.tar\"}"))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(started.statusCode()).as(started.body()).isEqualTo(200);
        String id = new JsonObject(started.body()).getString("backupId");
        JsonObject[] record = new JsonObject[1];
        await("backup done").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> {
          record[0] = new JsonObject(http.send(HttpRequest.newBuilder(URI.create(base + "/api/ucp/backup/" + id))
              .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).body());
          return !record[0].getString("backupState").equals("IN_PROGRESS");
        });
        assertThat(record[0].getString("backupState")).as(record[0].encode()).isEqualTo(BackupState.SUCCESS.name());
        assertThat(record[0].getString("nodeLocation")).isEqualTo(p + "mgr2");
        Path archive = backups.resolve("from-image.tar");
        assertThat(archive).exists();
        Tools.Out listing = Tools.sh("tar --list -f " + archive);
        assertThat(listing.text()).contains("./ucp-controller-server-certs/key.pem").contains("./backup-metadata.json")
            .containsPattern("\\./ucp-backup/\\d{13}/etcd\\.backup\\.db");
        // The admin's client bundle: the client CA was read through the Docker API inside the container.
        Path bundle = demo.adminBundle();
        Tools.Out bundled = Tools.sh("curl -sk -o /dev/null -w '%{http_code}' --cert " + bundle.resolve("cert.pem")
            + " --key " + bundle.resolve("key.pem") + " " + base + "/api/ucp/backup/" + id);
        assertThat(bundled.text()).isEqualTo("200");
      } finally {
        Tools.sh("docker rm -f -v " + p + "mgr1 " + p + "mgr2; docker network disconnect -f " + net + " " + p + "ucp-kv;"
            + " docker network rm " + net + "; docker rmi " + tag + " " + tag.substring(0, tag.indexOf(':')) + ":latest");
      }
    }
  }

  static SSLContext trustAll() throws Exception {
    // The containers' certificates are generated inside them; this test checks the image, not TLS.
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {Tools.TRUST_ANY}, null);
    return ctx;
  }
}
