package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hazelcast.config.Config;
import io.mkebackup.common.tls.Certificates;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The clustered event bus between real Vert.x members (Hazelcast on loopback) with the options
 * {@link ClusterTrust#eventBusOptions} gives: members whose CA was derived separately from one
 * secret talk; a TLS peer without a member certificate gets nothing, neither as a client of a
 * member's port nor as a member of the Hazelcast cluster registering for the jobs' address.
 */
@Tag("integration")
class EventBusTrustIT {
  final String configuredName = "eb-" + UUID.randomUUID();
  final String secret = "event-bus-test-secret-" + UUID.randomUUID();
  final int portA = freePort();
  final int portB = freePort();
  final int portRogue = freePort();
  final List<String> members = List.of("127.0.0.1:" + portA, "127.0.0.1:" + portB, "127.0.0.1:" + portRogue);
  final List<Vertx> started = new ArrayList<>();

  @AfterEach
  void stop() {
    started.forEach(v -> v.close().toCompletionStage().toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).join());
  }

  /** A member as the manager starts one, with its own derivation of the trust from the secret. */
  Vertx member(String node, int port) {
    ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(secret.getBytes(StandardCharsets.UTF_8), "test"));
    Config config = new ClusterSettings(configuredName, "127.0.0.1", port, members, node).memberConfig(trust);
    return start(config, trust.eventBusOptions("127.0.0.1", node));
  }

  Vertx start(Config config, EventBusOptions eventBus) {
    Vertx v = Vertx.builder().with(new VertxOptions().setEventBusOptions(eventBus))
        .withClusterManager(new HazelcastClusterManager(config)).buildClustered()
        .toCompletionStage().toCompletableFuture().orTimeout(120, TimeUnit.SECONDS).join();
    started.add(v);
    return v;
  }

  static int eventBusPort(Vertx v) {
    return ((io.vertx.core.internal.VertxInternal) v).clusterManager().getNodeInfo().port();
  }

  @Test
  void membersTalkOverMutualTlsAndATlsClientWithoutAMemberCertificateGetsNothing() throws Exception {
    Vertx a = member("a", portA);
    Vertx b = member("b", portB);
    b.eventBus().<JsonObject>consumer("test.echo", m -> m.reply(m.body().put("from", "b")))
        .completion().toCompletionStage().toCompletableFuture().join();
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> "b".equals(a.eventBus()
        .<JsonObject>request("test.echo", new JsonObject().put("n", 1), new DeliveryOptions().setSendTimeout(3000))
        .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).body().getString("from")));

    int port = eventBusPort(b);
    ClusterTrust same = ClusterTrust.derive(ClusterSecret.of(secret.getBytes(StandardCharsets.UTF_8), "test"));
    // Positive control: a client holding a member certificate of the same derivation is admitted.
    try (SSLSocket s = tls(port, same.memberCa().issueMember("tool", List.of()))) {
      s.startHandshake();
      s.setSoTimeout(1000);
      assertThatThrownBy(() -> s.getInputStream().read()).as("the connection stays open")
          .isInstanceOf(SocketTimeoutException.class);
    }
    // No client certificate at all, and one from a CA of another secret: refused at the handshake.
    assertRefused(port, null);
    ClusterTrust other = ClusterTrust.derive(ClusterSecret.of(("another-" + secret).getBytes(StandardCharsets.UTF_8),
        "test"));
    assertRefused(port, other.memberCa().issueMember("rogue", List.of()));
    assertRefused(port, Certificates.selfSignedServer("rogue", List.of("127.0.0.1")));
  }

  @Test
  void aRogueInTheHazelcastClusterNeverReceivesAJob() throws Exception {
    Vertx a = member("a", portA);
    Vertx b = member("b", portB);
    List<JsonObject> atB = new CopyOnWriteArrayList<>();
    b.eventBus().<JsonObject>consumer("mke.backup.jobs", m -> {
      atB.add(m.body());
      m.reply(new JsonObject().put("ok", true));
    }).completion().toCompletionStage().toCompletableFuture().join();

    // The rogue knows the derived cluster name (it is on the wire) but holds no secret: it joins
    // Hazelcast, registers for the jobs' address, and offers a certificate of its own, trusting all.
    ClusterTrust known = ClusterTrust.derive(ClusterSecret.of(secret.getBytes(StandardCharsets.UTF_8), "test"));
    Config rogueConfig = io.vertx.spi.cluster.hazelcast.ConfigUtil.loadConfig();
    rogueConfig.setClusterName(known.clusterName(configuredName));
    rogueConfig.setProperty("hazelcast.logging.type", "jdk");
    rogueConfig.getNetworkConfig().setPort(portRogue).setPortAutoIncrement(false);
    rogueConfig.getNetworkConfig().getJoin().getMulticastConfig().setEnabled(false);
    rogueConfig.getNetworkConfig().getJoin().getAutoDetectionConfig().setEnabled(false);
    rogueConfig.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(true).setMembers(members);
    rogueConfig.setProperty("hazelcast.local.localAddress", "127.0.0.1");
    Certificates.Issued own = Certificates.selfSignedServer("rogue", List.of("127.0.0.1"));
    Vertx rogue = start(rogueConfig, new EventBusOptions().setHost("127.0.0.1").setPort(0).setSsl(true)
        .setTrustAll(true).setKeyCertOptions(new PemKeyCertOptions().setCertValue(Buffer.buffer(own.certPem()))
            .setKeyValue(Buffer.buffer(own.keyPem()))));
    List<JsonObject> atRogue = new CopyOnWriteArrayList<>();
    rogue.eventBus().<JsonObject>consumer("mke.backup.jobs", m -> {
      atRogue.add(m.body());
      m.reply(new JsonObject().put("ok", true));
    }).completion().toCompletionStage().toCompletableFuture().join();
    assertThat(((io.vertx.core.internal.VertxInternal) a).clusterManager().getNodes()).as("the rogue is a Hazelcast member")
        .hasSize(3);

    // Sends are spread over the registered nodes: some go to b, some are tried on the rogue. A send
    // tried on the rogue fails (a timeout: its connection is refused, the message dropped); one to b
    // may time out too on a busy machine, but b has it: so a failure counts as the rogue's only
    // when b never received that send.
    List<Integer> succeeded = new ArrayList<>();
    List<Integer> failedSends = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      Future<?> f = a.eventBus().request("mke.backup.jobs", new JsonObject().put("n", i)
          .put("passphrase", "a-passphrase-" + i), new DeliveryOptions().setSendTimeout(5000));
      try {
        f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        succeeded.add(i);
      } catch (java.util.concurrent.ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(io.vertx.core.eventbus.ReplyException.class);
        failedSends.add(i);
      }
    }
    List<Integer> atBNumbers = atB.stream().map(j -> j.getInteger("n")).toList();
    List<Integer> triedOnTheRogue = failedSends.stream().filter(n -> !atBNumbers.contains(n)).toList();
    assertThat(atRogue).as("nothing reached the rogue").isEmpty();
    assertThat(atBNumbers).as("every send that succeeded reached b").containsAll(succeeded);
    assertThat(triedOnTheRogue).as("some sends were tried on the rogue, and failed").isNotEmpty();
    assertThat(atBNumbers).as("the others reached b").hasSize(12 - triedOnTheRogue.size());
  }

  void assertRefused(int port, Certificates.Issued clientCert) throws Exception {
    try (SSLSocket s = tls(port, clientCert)) {
      s.setSoTimeout(5000);
      s.startHandshake();
      // TLS 1.3 sends the client's certificate after the client sees the handshake done: the
      // server's refusal arrives on the first read.
      InputStream in = s.getInputStream();
      s.getOutputStream().write(new byte[] {0, 0, 0, 1, 0});
      s.getOutputStream().flush();
      assertThat(in.read()).as("the server closed the connection").isEqualTo(-1);
    } catch (javax.net.ssl.SSLException | java.net.SocketException expected) {
      // refused during the handshake
    }
  }

  /** A raw TLS client that trusts any server, presenting the given certificate (or none). */
  static SSLSocket tls(int port, Certificates.Issued clientCert) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    KeyManagerFactory kmf = null;
    if (clientCert != null) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(clientCert.certPem().getBytes(StandardCharsets.US_ASCII)));
      ks.setKeyEntry("member", clientCert.key(), new char[0], new java.security.cert.Certificate[] {cert});
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
    }
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    return (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
