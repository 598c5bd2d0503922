package io.mkebackup.worker.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.tls.Certificates;
import java.io.IOException;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The client key manager in a real TLS handshake: a JDK server on loopback that requires a client
 * certificate signed by its CA sees the client's certificate, for EC and RSA keys, over TLS 1.2
 * and 1.3; a server that asks for another CA's certificate still gets it (the client has one key)
 * and refuses it itself.
 */
class EtcdTlsHandshakeTest {
  private static final char[] PW = "test".toCharArray();

  @ParameterizedTest
  @CsvSource({"EC, TLSv1.3", "EC, TLSv1.2", "RSA, TLSv1.3", "RSA, TLSv1.2"})
  void theServerSeesTheClientCertificate(String keyType, String protocol) throws Exception {
    Certificates.Issued ca = Certificates.rootCa("etcd test CA");
    Certificates.Issued client = keyType.equals("EC") ? Certificates.component("etcd client", ca) : rsaClient(ca);
    X509Certificate seen = handshake(ca, ca, client, protocol);
    assertThat(seen).isEqualTo(client.certificate());
  }

  @ParameterizedTest
  @CsvSource({"TLSv1.3", "TLSv1.2"})
  void aServerTrustingAnotherCaGetsTheCertificateAndRefusesIt(String protocol) {
    Certificates.Issued ca = Certificates.rootCa("etcd test CA");
    Certificates.Issued other = Certificates.rootCa("another CA");
    Certificates.Issued client = Certificates.component("etcd client", ca);
    PRESENTED.set(null);
    assertThatThrownBy(() -> handshake(ca, other, client, protocol)).isInstanceOf(IOException.class);
    assertThat(PRESENTED.get()).as("the chain the client presented").containsExactly(client.certificate());
  }

  /** The chain a client last presented to a test server, before the server's trust decided on it. */
  private static final java.util.concurrent.atomic.AtomicReference<X509Certificate[]> PRESENTED =
      new java.util.concurrent.atomic.AtomicReference<>();

  /** The peer certificate a server (its certificate from {@code serverCa}, trusting {@code clientCa}) saw. */
  private static X509Certificate handshake(Certificates.Issued serverCa, Certificates.Issued clientCa,
      Certificates.Issued client, String protocol) throws Exception {
    Certificates.Issued server = Certificates.component("etcd", serverCa);
    KeyStore serverKeys = KeyStore.getInstance("PKCS12");
    serverKeys.load(null, null);
    serverKeys.setKeyEntry("server", server.key(), PW, new Certificate[] {server.certificate()});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(serverKeys, PW);
    SSLContext serverContext = SSLContext.getInstance("TLS");
    serverContext.init(kmf.getKeyManagers(), trusting(clientCa), null);

    SSLContext clientContext = SSLContext.getInstance("TLS");
    clientContext.init(new javax.net.ssl.KeyManager[] {
        new EtcdTls.ClientKey(client.key(), new X509Certificate[] {client.certificate()})}, trusting(serverCa), null);

    try (SSLServerSocket listener = (SSLServerSocket) serverContext.getServerSocketFactory()
        .createServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      listener.setNeedClientAuth(true);
      listener.setEnabledProtocols(new String[] {protocol});
      CompletableFuture<X509Certificate> peer = CompletableFuture.supplyAsync(() -> {
        try (SSLSocket s = (SSLSocket) listener.accept()) {
          s.startHandshake();
          X509Certificate c = (X509Certificate) s.getSession().getPeerCertificates()[0];
          s.getOutputStream().write(1);
          return c;
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      try (SSLSocket s = (SSLSocket) clientContext.getSocketFactory()
          .createSocket(java.net.InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
        s.setEnabledProtocols(new String[] {protocol});
        s.setSoTimeout(10_000);
        s.startHandshake();
        if (s.getInputStream().read() != 1) {
          throw new IOException("the server closed the connection: it refused the client");
        }
      }
      return peer.get(10, TimeUnit.SECONDS);
    }
  }

  private static javax.net.ssl.TrustManager[] trusting(Certificates.Issued ca) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca.certificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.X509TrustManager jdk = (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0];
    return new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType)
          throws java.security.cert.CertificateException {
        PRESENTED.set(chain.clone());
        jdk.checkClientTrusted(chain, authType);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType)
          throws java.security.cert.CertificateException {
        jdk.checkServerTrusted(chain, authType);
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return jdk.getAcceptedIssuers();
      }
    }};
  }

  /** An RSA client certificate signed by the (EC) CA, as a cluster whose clients use RSA has. */
  private static Certificates.Issued rsaClient(Certificates.Issued ca) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair kp = g.generateKeyPair();
    Instant now = Instant.now();
    var builder = new JcaX509v3CertificateBuilder(ca.certificate().getSubjectX500Principal(),
        BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minus(1, ChronoUnit.HOURS)),
        Date.from(now.plus(1, ChronoUnit.DAYS)), new javax.security.auth.x500.X500Principal("CN=etcd rsa client"),
        kp.getPublic());
    var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(ca.key());
    return new Certificates.Issued(new JcaX509CertificateConverter().getCertificate(builder.build(signer)), kp.getPrivate());
  }
}
