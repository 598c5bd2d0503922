package io.mkebackup.worker.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.TlsChannelCredentials;
import io.mkebackup.common.tls.Certificates;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;

/**
 * etcd's TLS files read by the JDK: the key forms MKE and etcd users have (PKCS#8, SEC1 "EC
 * PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY") give the same key, and what is not a key is refused
 * without its text in the message.
 */
class EtcdTlsTest {
  /** The key in the older, algorithm-specific PEM form Bouncy Castle writes for a key object. */
  private static String traditionalPem(PrivateKey key) throws Exception {
    StringWriter s = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(s)) {
      w.writeObject(key);
    }
    return s.toString();
  }

  /**
   * The key as OpenSSL and Go (cfssl, which makes MKE's certificates) write an "EC PRIVATE KEY":
   * SEC1 with the curve named inside, and the public key unless {@code withPublicKey} is false.
   */
  static String sec1Pem(Certificates.Issued issued, boolean withPublicKey) throws Exception {
    var spki = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(issued.certificate().getPublicKey().getEncoded());
    var curve = org.bouncycastle.asn1.ASN1ObjectIdentifier.getInstance(spki.getAlgorithm().getParameters());
    java.math.BigInteger s = ((java.security.interfaces.ECPrivateKey) issued.key()).getS();
    var sec1 = withPublicKey ? new org.bouncycastle.asn1.sec.ECPrivateKey(256, s, spki.getPublicKeyData(), curve)
        : new org.bouncycastle.asn1.sec.ECPrivateKey(256, s, curve);
    return "-----BEGIN EC PRIVATE KEY-----\n"
        + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(sec1.getEncoded())
        + "\n-----END EC PRIVATE KEY-----\n";
  }

  @Test
  void anEcKeyReadsTheSameAsPkcs8AndAsSec1WithOrWithoutItsPublicKey() throws Exception {
    Certificates.Issued ca = Certificates.rootCa("etcd test CA");
    java.math.BigInteger s = ((java.security.interfaces.ECPrivateKey) ca.key()).getS();

    PrivateKey fromPkcs8 = EtcdTls.privateKey(ca.keyPem().getBytes(StandardCharsets.US_ASCII));
    assertThat(fromPkcs8.getEncoded()).isEqualTo(ca.key().getEncoded());
    for (boolean withPublicKey : new boolean[] {true, false}) {
      PrivateKey fromSec1 = EtcdTls.privateKey(sec1Pem(ca, withPublicKey).getBytes(StandardCharsets.US_ASCII));
      assertThat(fromSec1.getAlgorithm()).isEqualTo("EC");
      assertThat(((java.security.interfaces.ECPrivateKey) fromSec1).getS()).isEqualTo(s);
    }
  }

  @Test
  void anRsaKeyInPkcs1Reads() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair kp = g.generateKeyPair();
    String pkcs1 = traditionalPem(kp.getPrivate());
    assertThat(pkcs1).contains("BEGIN RSA PRIVATE KEY");

    assertThat(EtcdTls.privateKey(pkcs1.getBytes(StandardCharsets.US_ASCII)).getEncoded())
        .isEqualTo(kp.getPrivate().getEncoded());
  }

  @Test
  void whatIsNotAKeyIsRefusedWithoutQuotingIt() {
    String notAKey = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXRva2VuLXRoYXQtaXMtbm90LWEta2V5\n-----END PRIVATE KEY-----\n";
    assertThatThrownBy(() -> EtcdTls.privateKey(notAKey.getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(GeneralSecurityException.class)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("c2VjcmV0"));
    assertThatThrownBy(() -> EtcdTls.privateKey("password=hunter2".getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(GeneralSecurityException.class)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2"));
  }

  @Test
  void credentialsCarryTheClientKeyAndTrustOnlyTheGivenCa() throws Exception {
    Certificates.Issued ca = Certificates.rootCa("etcd test CA");
    Certificates.Issued client = Certificates.component("etcd client", ca);
    EtcdEndpoint endpoint = new EtcdEndpoint("https://127.0.0.1:2379", null, null, null, Duration.ofSeconds(5),
        new EtcdEndpoint.Pem(ca.certPem().getBytes(StandardCharsets.US_ASCII), client.certPem().getBytes(StandardCharsets.US_ASCII),
            sec1Pem(client, true).getBytes(StandardCharsets.US_ASCII)), null);

    TlsChannelCredentials tls = (TlsChannelCredentials) EtcdTls.credentials(endpoint);

    var km = (javax.net.ssl.X509KeyManager) tls.getKeyManagers().get(0);
    String alias = km.chooseClientAlias(new String[] {"RSA", "EC"}, null, null);
    assertThat(km.getCertificateChain(alias)).containsExactly(client.certificate());
    assertThat(((java.security.interfaces.ECPrivateKey) km.getPrivateKey(alias)).getS())
        .isEqualTo(((java.security.interfaces.ECPrivateKey) client.key()).getS());
    assertThat(km.chooseClientAlias(new String[] {"RSA"}, null, null)).as("no RSA key to offer").isNull();
    assertThat(km.getPrivateKey("another")).isNull();
    var tm = (javax.net.ssl.X509TrustManager) tls.getTrustManagers().get(0);
    assertThat(tm.getAcceptedIssuers()).containsExactly(ca.certificate());
  }

  @Test
  void aKeyAfterEcParametersOrAfterItsCertificateIsFound() throws Exception {
    Certificates.Issued client = Certificates.component("etcd client", Certificates.rootCa("etcd test CA"));
    java.math.BigInteger s = ((java.security.interfaces.ECPrivateKey) client.key()).getS();
    // As `openssl ecparam -name prime256v1 -genkey` writes it: the curve, then the key.
    String withParameters = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
        + sec1Pem(client, true);
    String combined = client.certPem() + sec1Pem(client, true);

    for (String pem : List.of(withParameters, combined, client.certPem() + client.keyPem())) {
      PrivateKey key = EtcdTls.privateKey(pem.getBytes(StandardCharsets.US_ASCII));
      assertThat(((java.security.interfaces.ECPrivateKey) key).getS()).isEqualTo(s);
    }
    List<java.security.cert.Certificate> certs = List.copyOf(
        EtcdTls.certificates(combined.getBytes(StandardCharsets.US_ASCII), "client"));
    assertThat(certs).containsExactly(client.certificate());
  }

  @Test
  void aCertificateWithoutItsKeyIsRefusedAndNoCaMeansTheDefaultTrust() throws Exception {
    Certificates.Issued ca = Certificates.rootCa("etcd test CA");
    Certificates.Issued client = Certificates.component("etcd client", ca);
    byte[] cert = client.certPem().getBytes(StandardCharsets.US_ASCII);
    EtcdEndpoint certOnly = new EtcdEndpoint("https://127.0.0.1:2379", null, null, null, Duration.ofSeconds(5),
        new EtcdEndpoint.Pem(null, cert, null), null);
    assertThatThrownBy(() -> EtcdTls.credentials(certOnly)).isInstanceOf(GeneralSecurityException.class)
        .hasMessageContaining("go together");

    EtcdEndpoint noCa = new EtcdEndpoint("https://127.0.0.1:2379", null, null, null, Duration.ofSeconds(5),
        new EtcdEndpoint.Pem(null, cert, client.keyPem().getBytes(StandardCharsets.US_ASCII)), null);
    TlsChannelCredentials tls = (TlsChannelCredentials) EtcdTls.credentials(noCa);
    assertThat(tls.getTrustManagers()).as("the JDK's default trust store").isNull();
    assertThat(tls.getKeyManagers()).hasSize(1);
  }
}
