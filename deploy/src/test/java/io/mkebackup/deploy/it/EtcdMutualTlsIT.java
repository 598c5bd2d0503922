package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.backup.BackupProcedure;
import io.mkebackup.worker.backup.BackupRequest;
import io.mkebackup.worker.pipeline.ArchiveVerifier;
import io.mkebackup.worker.pipeline.VerifyReport;
import io.mkebackup.worker.source.EtcdClient;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MKE's etcd speaks mutual TLS: a real etcd with the demo's ucp-kv-certs, snapshotted over https. */
@Tag("integration")
class EtcdMutualTlsIT {
  static DemoFixture demo;
  static Process etcd;
  static String url;
  static Path certs;
  @TempDir
  static Path data;

  @BeforeAll
  static void up() throws Exception {
    demo = DemoFixture.create(10, 0);
    certs = demo.mountpoint("ucp-kv-certs");
    int client = DemoFixture.freePort();
    int peer = DemoFixture.freePort();
    url = "https://127.0.0.1:" + client;
    String peerUrl = "https://127.0.0.1:" + peer;
    etcd = new ProcessBuilder("etcd", "--name", "tls", "--data-dir", data.resolve("etcd").toString(),
        "--listen-client-urls", url, "--advertise-client-urls", url,
        "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
        "--initial-cluster", "tls=" + peerUrl,
        "--cert-file", certs.resolve("cert.pem").toString(), "--key-file", certs.resolve("key.pem").toString(),
        "--trusted-ca-file", certs.resolve("ca.pem").toString(), "--client-cert-auth",
        "--peer-cert-file", certs.resolve("cert.pem").toString(), "--peer-key-file", certs.resolve("key.pem").toString(),
        "--peer-trusted-ca-file", certs.resolve("ca.pem").toString(), "--peer-client-cert-auth")
        .redirectErrorStream(true).redirectOutput(data.resolve("etcd.log").toFile()).start();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
        .ignoreExceptions().until(() -> {
          try (EtcdClient c = EtcdClient.connect(mutualTls())) {
            c.put("/registry/secrets/default/tls-test", "{\"kind\":\"Secret\"}");
            return true;
          }
        });
  }

  @AfterAll
  static void down() throws Exception {
    if (etcd != null) {
      etcd.destroy();
      etcd.waitFor(15, TimeUnit.SECONDS);
    }
    demo.close();
  }

  static EtcdEndpoint mutualTls() {
    return new EtcdEndpoint(url, certs.resolve("ca.pem"), certs.resolve("cert.pem"), certs.resolve("key.pem"),
        Duration.ofSeconds(5));
  }

  @Test
  void snapshotsOverMutualTls(@TempDir Path dir) throws Exception {
    BackupConfig config = demo.config(SourceMode.AUTO).withEtcd(mutualTls());
    Path archive = dir.resolve("tls.tar");
    new BackupProcedure(config).run(new BackupRequest(UUID.randomUUID().toString(), null, archive, null, null, "file"),
        e -> {});
    try (InputStream in = Files.newInputStream(archive)) {
      VerifyReport r = ArchiveVerifier.verify(in, null, "passphrase");
      assertThat(r.snapshotEntry()).isNotNull();
      assertThat(r.metadata().etcd().endpoint()).contains(url);
    }
  }

  /** A backup through {@code endpoint} fails naming etcd's URL and writes nothing into {@code backups}. */
  static void refusedWithNothingWritten(EtcdEndpoint endpoint, Path backups) throws Exception {
    BackupConfig config = demo.config(SourceMode.AUTO).withEtcd(endpoint);
    assertThatThrownBy(() -> new BackupProcedure(config).run(
        new BackupRequest(UUID.randomUUID().toString(), null, backups.resolve("x.tar"), null, null, "file"), e -> {}))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ETCD_UNAVAILABLE);
          assertThat(e.getMessage()).contains(url);
        });
    assertThat(Tools.listing(backups)).isEmpty();
  }

  @Test
  void withoutAClientCertificateEtcdRefusesAndNothingIsWritten(@TempDir Path dir) throws Exception {
    refusedWithNothingWritten(new EtcdEndpoint(url, certs.resolve("ca.pem"), null, null, Duration.ofSeconds(5)), dir);
  }

  @Test
  void anEtcdWhoseCertificateAnotherCaSignedIsRefusedAndNothingIsWritten(@TempDir Path dir) throws Exception {
    Path otherCa = Files.writeString(dir.resolve("other-ca.pem"),
        io.mkebackup.common.tls.Certificates.rootCa("not etcd's CA").certPem());
    refusedWithNothingWritten(new EtcdEndpoint(url, otherCa, certs.resolve("cert.pem"), certs.resolve("key.pem"),
        Duration.ofSeconds(5)), Files.createDirectory(dir.resolve("backups")));
  }
}
