package io.mkebackup.gateway.auth;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.X509TrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * MKE client bundles: a client certificate issued by MKE's client root CA (ucp-client-root-ca)
 * names its user in its subject's common name. A chain that leads to one of the configured CAs,
 * valid now, meant for client authentication, authenticates as that user; anything else is a 401
 * with a reason.
 *
 * <p>The TLS layer asks for a certificate of these CAs but accepts any (see {@link #trustManager()}):
 * a certificate it refused would end the handshake, and the client would see a TLS alert instead of
 * the 401 that says what is wrong. The handshake still proves the client holds the certificate's key.
 */
public final class ClientCertificates {
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final String ANY_USAGE = "2.5.29.37.0";

  private final List<X509Certificate> cas;
  private final Set<TrustAnchor> anchors = new HashSet<>();

  public ClientCertificates(List<X509Certificate> cas) {
    if (cas.isEmpty()) {
      throw new IllegalArgumentException("no client CA certificate");
    }
    this.cas = List.copyOf(cas);
    this.cas.forEach(ca -> anchors.add(new TrustAnchor(ca, null)));
  }

  /** Every certificate in a PEM bundle. */
  public static List<X509Certificate> parsePem(byte[] pem) {
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
        out.add((X509Certificate) c);
      }
      return out;
    } catch (CertificateException e) {
      throw new IllegalArgumentException("not a PEM certificate bundle: " + e.getMessage(), e);
    }
  }

  public List<X509Certificate> cas() {
    return cas;
  }

  /**
   * The user the client's certificate names, if its chain leads to a configured CA and it may be
   * used now for client authentication.
   *
   * @param chain the peer's certificates, its own first
   * @throws BackupException UNAUTHORIZED saying why the certificate does not authenticate
   */
  public String user(List<? extends Certificate> chain) {
    if (chain.isEmpty() || !(chain.get(0) instanceof X509Certificate leaf)) {
      throw unauthorized("the client certificate is missing or not X.509");
    }
    if (leaf.getBasicConstraints() >= 0 || cas.contains(leaf)) {
      throw unauthorized("the client certificate is a CA's, not a user's");
    }
    List<X509Certificate> path = new ArrayList<>();
    for (Certificate c : chain) {
      if (c instanceof X509Certificate x && !cas.contains(x)) {
        path.add(x);
      }
    }
    try {
      CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false); // MKE revokes a bundle by removing its user; see AuthRoutes
      params.setDate(new Date());
      CertPathValidator.getInstance("PKIX").validate(certPath, params);
    } catch (CertPathValidatorException e) {
      Throwable cause = e.getCause();
      if (cause instanceof CertificateExpiredException || cause instanceof CertificateNotYetValidException) {
        throw unauthorized("the client certificate of " + subject(leaf) + " is not valid now (valid from "
            + leaf.getNotBefore().toInstant() + " to " + leaf.getNotAfter().toInstant() + "); download a new client"
            + " bundle");
      }
      throw unauthorized("the client certificate of " + subject(leaf) + " is not issued by this cluster's client CA"
          + " (ucp-client-root-ca); use a client bundle of this MKE cluster");
    } catch (GeneralSecurityException e) {
      throw unauthorized("the client certificate cannot be checked: " + e.getMessage());
    }
    try {
      List<String> usages = leaf.getExtendedKeyUsage();
      if (usages != null && !usages.contains(CLIENT_AUTH) && !usages.contains(ANY_USAGE)) {
        throw unauthorized("the certificate of " + subject(leaf) + " is not for client authentication");
      }
    } catch (java.security.cert.CertificateParsingException e) {
      throw unauthorized("the client certificate's extended key usage cannot be read");
    }
    return commonName(leaf);
  }

  /** The single common name of the certificate's subject: MKE's user name. */
  static String commonName(X509Certificate leaf) {
    List<String> names = new ArrayList<>();
    try {
      for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName(X500Principal.RFC2253)).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          names.add(String.valueOf(rdn.getValue()));
        }
      }
    } catch (InvalidNameException e) {
      throw unauthorized("the client certificate's subject cannot be read");
    }
    if (names.size() != 1 || names.get(0).isEmpty()) {
      throw unauthorized("the client certificate's subject must name one user (CN), not " + names.size());
    }
    return names.get(0);
  }

  private static String subject(X509Certificate c) {
    String s = c.getSubjectX500Principal().getName(X500Principal.RFC2253).replaceAll("\\p{Cntrl}", "?");
    return s.length() > 120 ? s.substring(0, 117) + "..." : s;
  }

  private static BackupException unauthorized(String message) {
    return new BackupException(ErrorCode.UNAUTHORIZED, message);
  }

  /**
   * For the HTTPS server: asks clients for a certificate of the client CAs (the CAs it names in
   * its request) and accepts whatever they send, for {@link #user} to judge.
   */
  public X509TrustManager trustManager() {
    X509Certificate[] issuers = cas.toArray(new X509Certificate[0]);
    return new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {
        // judged per request by user(), which answers 401 with the reason
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("a server's trust manager checks no servers");
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return issuers.clone();
      }
    };
  }
}
