package io.mkebackup.worker.source;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.mkebackup.common.tls.Certificates;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The TLS credentials of an etcd connection, built from the PEM files with the JDK's own parsers
 * into key and trust managers. Handing gRPC the PEM text instead makes Netty parse it through a
 * Bouncy Castle provider it instantiates for that, whose start-up (every named curve) took the
 * etcd connection from 0.4-0.5 s to 1.2-1.6 s and a backup's peak memory from 178 to 236 MiB.
 */
final class EtcdTls {
  private static final Pattern CERTIFICATE_BLOCK =
      Pattern.compile("-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]*-----END CERTIFICATE-----");

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
      tls.keyManager(new ClientKey(privateKey(key), certificates(cert, "client").toArray(new X509Certificate[0])));
    }
    return tls.build();
  }

  /**
   * The client's one key and its chain, offered whenever the server asks for a key of its type.
   * The JDK's KeyManagerFactory reads keys only from a KeyStore, and a PKCS12 one protects the key
   * with 10,000 PBKDF2 rounds going in and again coming out: 0.2-0.3 s of a backup's CPU, run
   * interpreted before the JIT gives up compiling it (a bailed-out C2 compilation on top).
   */
  static final class ClientKey extends X509ExtendedKeyManager {
    private static final String ALIAS = "client";
    private final PrivateKey key;
    private final X509Certificate[] chain;

    ClientKey(PrivateKey key, X509Certificate[] chain) {
      this.key = key;
      this.chain = chain.clone();
    }

    private String aliasFor(String... keyTypes) {
      for (String type : keyTypes == null ? new String[0] : keyTypes) {
        if (key.getAlgorithm().equals(type)) {
          return ALIAS;
        }
      }
      return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return aliasFor(keyType) == null ? null : new String[] {ALIAS};
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
      return aliasFor(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
      return aliasFor(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? key : null;
    }
  }

  /** The CERTIFICATE blocks of a PEM file, whatever else it holds (a key after its certificate, say). */
  static List<X509Certificate> certificates(byte[] pem, String what) throws GeneralSecurityException {
    var blocks = CERTIFICATE_BLOCK.matcher(new String(pem, StandardCharsets.US_ASCII));
    StringBuilder certs = new StringBuilder();
    while (blocks.find()) {
      certs.append(blocks.group()).append('\n');
    }
    if (certs.length() == 0) {
      throw new GeneralSecurityException("the " + what + " certificate file holds no PEM certificate");
    }
    List<X509Certificate> out = new ArrayList<>();
    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(
        new ByteArrayInputStream(certs.toString().getBytes(StandardCharsets.US_ASCII)))) {
      out.add((X509Certificate) c);
    }
    return List.copyOf(out);
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
