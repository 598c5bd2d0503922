package io.mkebackup.common.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPublicKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.crypto.Signer;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.signers.DSADigestSigner;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.bc.BcECContentSignerBuilder;

/**
 * The certificate authority of the cluster's members, for the event bus's mutual TLS. Its key is
 * derived from the cluster secret, so every manager computes the same CA without any being
 * handed out: the certificate is built the same way everywhere (fixed subject, serial and dates,
 * deterministic ECDSA, RFC 6979), and each manager issues itself a member certificate at start.
 * The CA key stays in memory; a peer that does not hold the secret cannot get a member certificate.
 */
public final class MemberCa {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Instant CA_NOT_BEFORE = Instant.parse("2024-01-01T00:00:00Z");
  private static final Instant CA_NOT_AFTER = Instant.parse("2099-12-31T23:59:59Z");
  /** A member's key lives as long as its process; the certificate must outlast any uptime. */
  private static final Duration MEMBER_VALIDITY = Duration.ofDays(3650);

  private final ECPrivateKeyParameters caKey;
  private final X509Certificate caCertificate;

  private MemberCa(ECPrivateKeyParameters caKey, X509Certificate caCertificate) {
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
      X9ECParameters curve = CustomNamedCurves.getByName("secp256r1");
      BigInteger d = new BigInteger(1, seed).mod(curve.getN().subtract(BigInteger.ONE)).add(BigInteger.ONE);
      ECPoint q = new FixedPointCombMultiplier().multiply(curve.getG(), d).normalize();
      AlgorithmParameters p256 = AlgorithmParameters.getInstance("EC");
      p256.init(new ECGenParameterSpec("secp256r1"));
      PublicKey pub = KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(
          new java.security.spec.ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger()),
          p256.getParameterSpec(ECParameterSpec.class)));
      ECPrivateKeyParameters priv = new ECPrivateKeyParameters(d, new ECDomainParameters(curve));
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
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot build the member CA", e);
    }
  }

  /**
   * Deterministic ECDSA (RFC 6979): the same key and content always give the same signature.
   * Bouncy Castle's lightweight signer, so no JCA provider has to be loaded for it.
   */
  private static ContentSigner signer(ECPrivateKeyParameters key) throws OperatorCreationException {
    AlgorithmIdentifier sha256 = new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256);
    return new BcECContentSignerBuilder(new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA256), sha256) {
      @Override
      protected Signer createSigner(AlgorithmIdentifier sigAlgId, AlgorithmIdentifier digAlgId) {
        return new DSADigestSigner(new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest())), new SHA256Digest());
      }
    }.build(key);
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
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot issue the member certificate", e);
    }
  }

  /** A node name as an RDN value: characters with a meaning in X.500 names are escaped. */
  private static String escape(String s) {
    return s.replaceAll("([,+\"\\\\<>;=#])", "\\\\$1");
  }
}
