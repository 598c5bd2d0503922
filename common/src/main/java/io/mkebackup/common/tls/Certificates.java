package io.mkebackup.common.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * X.509 certificates made with Bouncy Castle (EC P-256, SHA-256): root CAs and component
 * certificates signed by them, shaped like MKE's, and the gateway's self-signed server certificate.
 */
public final class Certificates {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A certificate with its key. */
  public record Issued(X509Certificate certificate, PrivateKey key) {
    public String certPem() {
      return pem(certificate);
    }

    /** PKCS#8, as MKE's components read it. */
    public String keyPem() {
      try {
        return pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null));
      } catch (org.bouncycastle.util.io.pem.PemGenerationException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private Certificates() {}

  public static Issued rootCa(String commonName) {
    return sign(commonName, "Mirantis MKE demo", keyPair(), null, true, Duration.ofDays(3650), java.util.List.of());
  }

  public static Issued component(String commonName, Issued ca) {
    return component(commonName, ca, java.util.List.of());
  }

  /** @param hosts more names and addresses the certificate is valid for (besides localhost, 127.0.0.1) */
  public static Issued component(String commonName, Issued ca, java.util.List<String> hosts) {
    return sign(commonName, "Mirantis MKE demo", keyPair(), ca, false, Duration.ofDays(825), hosts);
  }

  /**
   * A self-signed server certificate for these host names and IP addresses (and localhost,
   * 127.0.0.1), as the gateway makes on first start.
   */
  public static Issued selfSignedServer(String commonName, java.util.List<String> hosts) {
    return sign(commonName, "mke-backup", keyPair(), null, false, Duration.ofDays(825), hosts);
  }

  /** @param issuer null for a self-signed certificate */
  private static Issued sign(String subject, String org, KeyPair kp, Issued issuer, boolean ca, Duration validity,
      java.util.List<String> hosts) {
    try {
      // Back-dated an hour for clocks a little behind; the lifetime counts from there, so a server
      // certificate's notBefore..notAfter stays within the 825 days clients (Apple's) accept.
      Instant notBefore = Instant.now().minus(Duration.ofHours(1));
      X500Name subjectName = new X500Name("CN=" + subject + ",O=" + org);
      // The issuer name is copied from the CA's certificate byte for byte, as verifiers compare it.
      X500Name issuerName = issuer == null ? subjectName
          : new org.bouncycastle.cert.jcajce.JcaX509CertificateHolder(issuer.certificate()).getSubject();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName,
          new BigInteger(64, RANDOM).abs().add(BigInteger.ONE), Date.from(notBefore),
          Date.from(notBefore.plus(validity)), subjectName, kp.getPublic());
      var ext = new org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(
          issuer == null ? kp.getPublic() : issuer.certificate().getPublicKey()));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      if (ca) {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        b.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>();
        names.add(subject);
        names.addAll(hosts);
        names.add("localhost");
        names.add("127.0.0.1");
        java.util.List<GeneralName> sans = new java.util.ArrayList<>();
        for (String n : names) {
          boolean ip = n.matches("[0-9.]+") || n.contains(":");
          sans.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, n));
        }
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])));
      }
      var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(issuer == null ? kp.getPrivate() : issuer.key());
      return new Issued(new JcaX509CertificateConverter().getCertificate(b.build(signer)), kp.getPrivate());
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("certificate generation failed", e);
    }
  }

  private static KeyPair keyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String pemOf(Object o) {
    return pem(o);
  }

  /** Reads a CA written earlier, so later component certificates chain to it. */
  public static Issued parse(String certPem, String keyPem) {
    try (var certReader = new org.bouncycastle.openssl.PEMParser(new java.io.StringReader(certPem));
        var keyReader = new org.bouncycastle.openssl.PEMParser(new java.io.StringReader(keyPem))) {
      var holder = (org.bouncycastle.cert.X509CertificateHolder) certReader.readObject();
      Object k = keyReader.readObject();
      var converter = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter();
      PrivateKey key = k instanceof org.bouncycastle.openssl.PEMKeyPair pair
          ? converter.getKeyPair(pair).getPrivate()
          : converter.getPrivateKey((org.bouncycastle.asn1.pkcs.PrivateKeyInfo) k);
      return new Issued(new JcaX509CertificateConverter().getCertificate(holder), key);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot read the certificate and key: " + e, e);
    }
  }

  /**
   * A private key in PEM, whatever its form (PKCS#8, or the SEC 1 and PKCS#1 forms cfssl and
   * OpenSSL write), as PKCS#8 PEM: the one form gRPC's TLS reads.
   */
  public static String toPkcs8Pem(String keyPem) {
    // The first key in the file: OpenSSL writes an "EC PARAMETERS" block before an EC key, and
    // some files carry the certificate before its key. Never the key's text in a message.
    Object found = null;
    try (var reader = new org.bouncycastle.openssl.PEMParser(new java.io.StringReader(keyPem))) {
      for (Object o = reader.readObject(); o != null && found == null; o = reader.readObject()) {
        if (o instanceof org.bouncycastle.openssl.PEMKeyPair || o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo
            || o instanceof org.bouncycastle.openssl.PEMEncryptedKeyPair
            || o instanceof org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo) {
          found = o;
        }
      }
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a PEM private key (" + e.getClass().getSimpleName() + ")", e);
    }
    if (found == null) {
      throw new IllegalArgumentException("not an unencrypted PEM private key");
    }
    if (found instanceof org.bouncycastle.openssl.PEMEncryptedKeyPair
        || found instanceof org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo) {
      throw new IllegalArgumentException("the private key is encrypted; give it unencrypted (mode 0600)");
    }
    try {
      var converter = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter();
      // The private half only: SEC1 keys may leave out the (optional) public key.
      PrivateKey key = converter.getPrivateKey(found instanceof org.bouncycastle.openssl.PEMKeyPair pair
          ? pair.getPrivateKeyInfo() : (org.bouncycastle.asn1.pkcs.PrivateKeyInfo) found);
      return new Issued(null, key).keyPem();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a usable private key (" + e.getClass().getSimpleName() + ")", e);
    }
  }

  /**
   * A client certificate for a user, as MKE's client bundles carry: the user's name as the
   * subject's common name, signed by the client root CA, for client authentication only.
   *
   * @param validity from an hour ago; negative for an already expired certificate (tests)
   */
  public static Issued client(String user, Issued clientCa, Duration validity) {
    try {
      KeyPair kp = keyPair();
      Instant now = Instant.now();
      X500Name issuerName = new org.bouncycastle.cert.jcajce.JcaX509CertificateHolder(clientCa.certificate()).getSubject();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName,
          new BigInteger(64, RANDOM).abs().add(BigInteger.ONE), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(validity)), new X500Name("CN=" + user + ",OU=client,O=Mirantis MKE demo"), kp.getPublic());
      var ext = new org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false,
          ext.createAuthorityKeyIdentifier(clientCa.certificate().getPublicKey()));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
      var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(clientCa.key());
      return new Issued(new JcaX509CertificateConverter().getCertificate(b.build(signer)), kp.getPrivate());
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("certificate generation failed", e);
    }
  }

  private static String pem(Object o) {
    StringWriter s = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(s)) {
      w.writeObject(o);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return s.toString();
  }
}
