package io.mkebackup.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.tls.Certificates;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClientCertificatesTest {
  static final Certificates.Issued CLIENT_CA = Certificates.rootCa("UCP Client Root CA");
  static final ClientCertificates BUNDLES = new ClientCertificates(List.of(CLIENT_CA.certificate()));

  static void unauthorized(List<X509Certificate> chain, String reason) {
    assertThatThrownBy(() -> BUNDLES.user(chain)).isInstanceOfSatisfying(BackupException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
      assertThat(e.getMessage()).contains(reason);
    });
  }

  @Test
  void aBundleOfTheClientCaNamesItsUser() {
    X509Certificate alice = Certificates.client("alice", CLIENT_CA, Duration.ofDays(1)).certificate();
    assertThat(BUNDLES.user(List.of(alice))).isEqualTo("alice");
    assertThat(BUNDLES.user(List.of(alice, CLIENT_CA.certificate()))).isEqualTo("alice");
  }

  @Test
  void anotherCasCertificateIsRefused() {
    Certificates.Issued otherCa = Certificates.rootCa("UCP Client Root CA"); // same name, other key
    unauthorized(List.of(Certificates.client("admin", otherCa, Duration.ofDays(1)).certificate()),
        "not issued by this cluster's client CA");
  }

  @Test
  void anExpiredCertificateIsRefused() {
    unauthorized(List.of(Certificates.client("admin", CLIENT_CA, Duration.ofMinutes(-5)).certificate()),
        "is not valid now");
  }

  @Test
  void aCaCertificateIsNoUser() {
    unauthorized(List.of(CLIENT_CA.certificate()), "a CA's");
    Certificates.Issued sub = Certificates.rootCa("rogue");
    unauthorized(List.of(sub.certificate()), "a CA's");
  }

  @Test
  void theTlsLayerAsksForTheClientCaAndLeavesTheVerdictToTheRequest() throws Exception {
    var tm = BUNDLES.trustManager();
    assertThat(tm.getAcceptedIssuers()).containsExactly(CLIENT_CA.certificate());
    tm.checkClientTrusted(new X509Certificate[] {Certificates.rootCa("anyone").certificate()}, "EC");
  }

  @Test
  void pemBundlesAreRead() {
    byte[] pem = (CLIENT_CA.certPem() + Certificates.rootCa("second").certPem()).getBytes(StandardCharsets.US_ASCII);
    assertThat(ClientCertificates.parsePem(pem)).hasSize(2);
  }
}
