package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.tls.Certificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterTrustTest {
  @TempDir
  Path dir;

  static ClusterTrust trust(String secret) {
    return ClusterTrust.derive(ClusterSecret.of(secret.getBytes(StandardCharsets.UTF_8), "test"));
  }

  @Test
  void oneSecretGivesOneClusterNameFingerprintAndCaOnEveryManager() throws Exception {
    ClusterTrust a = trust("the same secret of at least thirty-two bytes");
    ClusterTrust b = trust("the same secret of at least thirty-two bytes");
    assertThat(a.clusterName("mke-backup")).isEqualTo(b.clusterName("mke-backup"))
        .startsWith("mke-backup-").isNotEqualTo("mke-backup").matches("mke-backup-[0-9a-f]{24}");
    assertThat(a.clusterName("other")).isNotEqualTo(a.clusterName("mke-backup"));
    assertThat(a.fingerprint()).isEqualTo(b.fingerprint()).matches("[0-9a-f]{8}");
    // Built the same way on each member, byte for byte (deterministic ECDSA), and self-signed.
    X509Certificate ca = a.memberCa().certificate();
    assertThat(ca.getEncoded()).isEqualTo(b.memberCa().certificate().getEncoded());
    ca.verify(ca.getPublicKey());
    assertThat(ca.getBasicConstraints()).isZero();
    // A member certificate issued by one member's CA verifies under the other's.
    Certificates.Issued member = a.memberCa().issueMember("node-1", java.util.List.of("127.0.0.1"));
    member.certificate().verify(b.memberCa().certificate().getPublicKey());
    assertThat(member.certificate().getIssuerX500Principal()).isEqualTo(ca.getSubjectX500Principal());
  }

  @Test
  void anotherSecretGivesAnotherEverything() throws Exception {
    ClusterTrust a = trust("the same secret of at least thirty-two bytes");
    ClusterTrust c = trust("another secret, also thirty-two bytes long");
    assertThat(c.clusterName("mke-backup")).isNotEqualTo(a.clusterName("mke-backup"));
    assertThat(c.fingerprint()).isNotEqualTo(a.fingerprint());
    assertThat(c.memberCa().certificate().getPublicKey()).isNotEqualTo(a.memberCa().certificate().getPublicKey());
    X509Certificate foreign = c.memberCa().issueMember("rogue", java.util.List.of()).certificate();
    assertThatThrownBy(() -> foreign.verify(a.memberCa().certificate().getPublicKey()))
        .isInstanceOf(java.security.SignatureException.class);
  }

  @Test
  void aSecretFileIgnoresTrailingWhiteSpaceAndMustBeLongEnough() throws Exception {
    String secret = "0123456789abcdef0123456789abcdef-and-more";
    Path withNewline = Files.writeString(dir.resolve("a"), secret + "\n");
    Path without = Files.writeString(dir.resolve("b"), secret);
    assertThat(ClusterTrust.derive(ClusterSecret.fromFile(withNewline, "clusterSecretFile")).fingerprint())
        .isEqualTo(ClusterTrust.derive(ClusterSecret.fromFile(without, "clusterSecretFile")).fingerprint());

    Path shortOne = Files.writeString(dir.resolve("c"), "too short\n");
    assertThatThrownBy(() -> ClusterSecret.fromFile(shortOne, "clusterSecretFile"))
        .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.field()).isEqualTo("clusterSecretFile"))
        .hasMessageContaining("at least 32").hasMessageNotContaining("too short");
    assertThatThrownBy(() -> ClusterSecret.fromFile(dir.resolve("missing"), "clusterSecretFile"))
        .hasMessageContaining("clusterSecretFile").hasMessageContaining("cannot be read");
  }

  @Test
  void theRootCaKeyCountsNotItsEncoding() throws Exception {
    Certificates.Issued ca = Certificates.rootCa("MKE cluster root CA");
    byte[] pkcs8 = ca.keyPem().getBytes(StandardCharsets.US_ASCII);
    java.io.StringWriter traditional = new java.io.StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(traditional)) {
      w.writeObject(ca.key()); // "EC PRIVATE KEY", as cfssl writes it
    }
    assertThat(traditional.toString()).contains("BEGIN EC PRIVATE KEY");
    ClusterTrust fromPkcs8 = ClusterTrust.derive(ClusterSecret.fromRootCaKey(pkcs8, "a"));
    ClusterTrust fromTraditional = ClusterTrust.derive(ClusterSecret.fromRootCaKey(
        traditional.toString().getBytes(StandardCharsets.US_ASCII), "b"));
    assertThat(fromPkcs8.fingerprint()).isEqualTo(fromTraditional.fingerprint());
    ClusterTrust otherCa = ClusterTrust.derive(ClusterSecret.fromRootCaKey(
        Certificates.rootCa("MKE cluster root CA").keyPem().getBytes(StandardCharsets.US_ASCII), "c"));
    assertThat(otherCa.fingerprint()).isNotEqualTo(fromPkcs8.fingerprint());

    assertThatThrownBy(() -> ClusterSecret.fromRootCaKey(ca.certPem().getBytes(StandardCharsets.US_ASCII), "volume x"))
        .hasMessageContaining("volume x").hasMessageContaining("clusterSecretFile");
  }

  @Test
  void aSealedValueOpensOnlyUnderItsMapAndKey() {
    ValueSeal seal = trust("the same secret of at least thirty-two bytes").seal();
    String sealed = seal.seal("mke-backup-tokens", "k1", "{\"username\":\"admin\"}");
    assertThat(seal.unseal("mke-backup-tokens", "k1", sealed)).isEqualTo("{\"username\":\"admin\"}");
    assertThat(seal.unseal("mke-backup-tokens", "k2", sealed)).as("moved to another key").isNull();
    assertThat(seal.unseal("mke-backup-catalog", "k1", sealed)).as("moved to another map").isNull();
    assertThat(seal.unseal("mke-backup-tokens", "k1", sealed.replace("admin", "root"))).as("changed").isNull();
    assertThat(seal.unseal("mke-backup-tokens", "k1", "{\"username\":\"admin\"}")).as("no MAC").isNull();
    assertThat(seal.unseal("mke-backup-tokens", "k1", "mac1:" + "A".repeat(43) + ":{}")).as("made-up MAC").isNull();
    ValueSeal other = trust("another secret, also thirty-two bytes long").seal();
    assertThat(other.unseal("mke-backup-tokens", "k1", sealed)).as("another cluster's key").isNull();
  }
}
