package io.mkebackup.common.tls;

import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.SignatureException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jce.spec.ECNamedCurveParameterSpec;
import org.bouncycastle.jce.spec.ECPrivateKeySpec;
import org.bouncycastle.jce.spec.ECPublicKeySpec;
import org.bouncycastle.jcajce.io.OutputStreamFactory;
import org.bouncycastle.operator.ContentSigner;

/**
 * The certificate authority of the cluster's members, for the event bus's mutual TLS. Its key is
 * derived from the cluster secret, so every manager computes the same CA without any being
 * handed out: the certificate is built the same way everywhere (fixed subject, serial and dates,
 * deterministic ECDSA, RFC 6979), and each manager issues itself a member certificate at start.
 * The CA key stays in memory; a peer that does not hold the secret cannot get a member certificate.
 */
public final class MemberCa {
  /** Not registered as a JCA provider: used only where it is named. */
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Instant CA_NOT_BEFORE = Instant.parse("2024-01-01T00:00:00Z");
  private static final Instant CA_NOT_AFTER = Instant.parse("2099-12-31T23:59:59Z");
  /** A member's key lives as long as its process; the certificate must outlast any uptime. */
  private static final Duration MEMBER_VALIDITY = Duration.ofDays(3650);

  private final PrivateKey caKey;
  private final X509Certificate caCertificate;

  private MemberCa(PrivateKey caKey, X509Certificate caCertificate) {
    this.caKey = caKey;
    this.caCertificate = caCertificate;
  }

  /**
   * The CA whose P-256 private key is the seed reduced into [1, n-1].
   *
   * @param seed at least 40 bytes from a key derivation, so the reduction's bias is negligible
   */
  public static MemberCa derive(byte[] seed) {
    if (seed.length < 40) {
      throw new IllegalArgumentException("seed too short");
    }
    try {
      ECNamedCurveParameterSpec curve = ECNamedCurveTable.getParameterSpec("secp256r1");
      BigInteger d = new BigInteger(1, seed).mod(curve.getN().subtract(BigInteger.ONE)).add(BigInteger.ONE);
      KeyFactory factory = KeyFactory.getInstance("EC", BC);
      PrivateKey priv = factory.generatePrivate(new ECPrivateKeySpec(d, curve));
      PublicKey pub = factory.generatePublic(new ECPublicKeySpec(curve.getG().multiply(d).normalize(), curve));
      X500Name subject = new X500Name("CN=mke-backup member CA,O=mke-backup");
      byte[] serial = MessageDigest.getInstance("SHA-256").digest(pub.getEncoded());
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject,
          new BigInteger(1, java.util.Arrays.copyOf(serial, 16)), Date.from(CA_NOT_BEFORE), Date.from(CA_NOT_AFTER),
          subject, pub);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pub));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      X509Certificate cert = new JcaX509CertificateConverter().getCertificate(b.build(signer(priv)));
      return new MemberCa(priv, cert);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build the member CA", e);
    }
  }

  /**
   * Deterministic ECDSA (RFC 6979): the same key and content always give the same signature.
   * Bouncy Castle's provider has it as a JCA signature; its certificate builders do not name it,
   * as it is plain ecdsa-with-SHA256 on the wire.
   */
  private static ContentSigner signer(PrivateKey key) throws GeneralSecurityException {
    Signature signature = Signature.getInstance("SHA256withECDDSA", BC);
    signature.initSign(key);
    return new ContentSigner() {
      @Override
      public AlgorithmIdentifier getAlgorithmIdentifier() {
        return new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA256);
      }

      @Override
      public OutputStream getOutputStream() {
        return OutputStreamFactory.createStream(signature);
      }

      @Override
      public byte[] getSignature() {
        try {
          return signature.sign();
        } catch (SignatureException e) {
          throw new IllegalStateException(e);
        }
      }
    };
  }

  public X509Certificate certificate() {
    return caCertificate;
  }

  public String certificatePem() {
    return Certificates.pemOf(caCertificate);
  }

  /**
   * A member certificate (client and server) with a fresh key, signed by this CA.
   *
   * @param hosts addresses the member listens on, as subject alternative names
   */
  public Certificates.Issued issueMember(String nodeName, List<String> hosts) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      KeyPair kp = g.generateKeyPair();
      Instant now = Instant.now();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCertificate,
          new BigInteger(64, RANDOM).add(BigInteger.ONE), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(MEMBER_VALIDITY)), new X500Name("CN=" + escape(nodeName) + ",O=mke-backup member"),
          kp.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCertificate));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false,
          new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      List<GeneralName> sans = hosts.stream().map(h -> new GeneralName(
          h.matches("[0-9.]+") || h.contains(":") ? GeneralName.iPAddress : GeneralName.dNSName, h)).toList();
      if (!sans.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])));
      }
      X509Certificate cert = new JcaX509CertificateConverter().getCertificate(b.build(signer(caKey)));
      return new Certificates.Issued(cert, kp.getPrivate());
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot issue the member certificate", e);
    }
  }

  /** A node name as an RDN value: characters with a meaning in X.500 names are escaped. */
  private static String escape(String s) {
    return s.replaceAll("([,+\"\\\\<>;=#])", "\\\\$1");
  }
}
