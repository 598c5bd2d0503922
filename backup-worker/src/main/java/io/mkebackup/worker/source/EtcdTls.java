package io.mkebackup.worker.source;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.mkebackup.common.tls.Certificates;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS credentials of an etcd connection, built from the PEM files with the JDK's own parsers
 * into key and trust managers. Handing gRPC the PEM text instead makes Netty parse it through a
 * Bouncy Castle provider it instantiates for that, whose start-up (every named curve) took the
 * etcd connection from 0.4-0.5 s to 1.2-1.6 s and a backup's peak memory from 178 to 236 MiB.
 */
final class EtcdTls {
  private static final char[] NO_PASSWORD = new char[0];

  private EtcdTls() {}

  static ChannelCredentials credentials(EtcdEndpoint endpoint) throws IOException, GeneralSecurityException {
    byte[] ca;
    byte[] cert;
    byte[] key;
    if (endpoint.pem() != null) {
      ca = endpoint.pem().caCert();
      cert = endpoint.pem().clientCert();
      key = endpoint.pem().clientKey();
    } else {
      ca = endpoint.caCert() == null ? null : Files.readAllBytes(endpoint.caCert());
      cert = endpoint.clientCert() == null ? null : Files.readAllBytes(endpoint.clientCert());
      key = endpoint.clientKey() == null ? null : Files.readAllBytes(endpoint.clientKey());
    }
    var tls = TlsChannelCredentials.newBuilder();
    if (ca != null) {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (Certificate c : certificates(ca, "CA")) {
        trust.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      tls.trustManager(tmf.getTrustManagers());
    }
    if ((cert == null) != (key == null)) {
      throw new GeneralSecurityException("the etcd client certificate and its key go together: give both or neither");
    }
    if (cert != null) {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("client", privateKey(key), NO_PASSWORD, certificates(cert, "client").toArray(new Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, NO_PASSWORD);
      tls.keyManager(kmf.getKeyManagers());
    }
    return tls.build();
  }

  /** The CERTIFICATE blocks of a PEM file, whatever else it holds (a key after its certificate, say). */
  static List<? extends Certificate> certificates(byte[] pem, String what) throws GeneralSecurityException {
    var blocks = java.util.regex.Pattern.compile("-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]*-----END CERTIFICATE-----")
        .matcher(new String(pem, StandardCharsets.US_ASCII));
    StringBuilder certs = new StringBuilder();
    while (blocks.find()) {
      certs.append(blocks.group()).append('\n');
    }
    if (certs.length() == 0) {
      throw new GeneralSecurityException("the " + what + " certificate file holds no PEM certificate");
    }
    return List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(
        new ByteArrayInputStream(certs.toString().getBytes(StandardCharsets.US_ASCII))));
  }

  /**
   * A PEM private key: PKCS#8 as it is; the older SEC1 ("EC PRIVATE KEY") and PKCS#1 ("RSA
   * PRIVATE KEY") forms converted first. Errors never quote the key: it is a secret.
   */
  static PrivateKey privateKey(byte[] pem) throws GeneralSecurityException {
    String text = new String(pem, StandardCharsets.US_ASCII);
    if (!text.contains("-----BEGIN PRIVATE KEY-----")) {
      try {
        text = Certificates.toPkcs8Pem(text);
      } catch (IllegalArgumentException e) {
        throw new GeneralSecurityException("the client key file holds no usable PEM private key: " + e.getMessage());
      }
    }
    int begin = text.indexOf("-----BEGIN PRIVATE KEY-----");
    int end = text.indexOf("-----END PRIVATE KEY-----");
    if (begin < 0 || end < begin) {
      throw new GeneralSecurityException("the client key file holds no unencrypted PEM private key");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(text.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
    } catch (IllegalArgumentException e) {
      throw new GeneralSecurityException("the client key file is not valid PEM");
    }
    for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException | RuntimeException e) {
        // not this algorithm: try the next
      }
    }
    throw new GeneralSecurityException("the client key is neither an EC, an RSA nor an Ed25519 key");
  }
}
