package io.mkebackup.common.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CertificatesTest {
  /** Apple's clients refuse a TLS server certificate valid for more than 825 days (notBefore to notAfter). */
  static final Duration MOST = Duration.ofDays(825);

  static Duration lifetime(X509Certificate c) {
    return Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant());
  }

  @Test
  void selfSignedServerCertificateLivesAtMost825Days() {
    X509Certificate c = Certificates.selfSignedServer("manager-1", List.of("10.0.0.5")).certificate();
    assertThat(lifetime(c)).isLessThanOrEqualTo(MOST).isGreaterThan(MOST.minusDays(1));
  }

  @Test
  void componentServerCertificateLivesAtMost825Days() {
    Certificates.Issued ca = Certificates.rootCa("test root");
    X509Certificate c = Certificates.component("ucp-controller", ca, List.of()).certificate();
    assertThat(lifetime(c)).isLessThanOrEqualTo(MOST).isGreaterThan(MOST.minusDays(1));
  }
}
