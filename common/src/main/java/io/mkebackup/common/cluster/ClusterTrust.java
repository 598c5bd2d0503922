package io.mkebackup.common.cluster;

import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.tls.Certificates;
import io.mkebackup.common.tls.MemberCa;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * What makes a process a member of the backup cluster, all derived from the {@link ClusterSecret}
 * with HKDF-SHA256 under separate labels: the Hazelcast cluster name (a stranger using the
 * documented name is refused at join), the MAC key of the cluster maps' values
 * ({@link ValueSeal}), and the CA of the event bus's mutual TLS ({@link MemberCa}). Travels with
 * the Hazelcast instance (its user context), so every store built on an instance seals with it.
 */
public final class ClusterTrust {
  static final String CONTEXT_KEY = "io.mkebackup.cluster-trust";
  private static final byte[] SALT = "mke-backup cluster trust v1".getBytes(StandardCharsets.UTF_8);

  private final byte[] nameKey;
  private final byte[] proofKey;
  private final ValueSeal seal;
  private final MemberCa memberCa;
  private final String fingerprint;
  private final String source;

  private ClusterTrust(byte[] nameKey, byte[] proofKey, ValueSeal seal, MemberCa memberCa, String fingerprint,
      String source) {
    this.nameKey = nameKey;
    this.proofKey = proofKey;
    this.seal = seal;
    this.memberCa = memberCa;
    this.fingerprint = fingerprint;
    this.source = source;
  }

  public static ClusterTrust derive(ClusterSecret secret) {
    byte[] s = secret.bytes();
    return new ClusterTrust(hkdf(s, "hazelcast cluster name", 32), hkdf(s, "member proof", 32), new ValueSeal(hkdf(s, "cluster map mac", 32)),
        MemberCa.derive(hkdf(s, "event bus member ca", 48)), HexFormat.of().formatHex(hkdf(s, "fingerprint", 4)),
        secret.source());
  }

  private static byte[] hkdf(byte[] secret, String label, int length) {
    HKDFBytesGenerator g = new HKDFBytesGenerator(new SHA256Digest());
    g.init(new HKDFParameters(secret, SALT, ("mke-backup/" + label).getBytes(StandardCharsets.UTF_8)));
    byte[] out = new byte[length];
    g.generateBytes(out, 0, length);
    return out;
  }

  /**
   * The Hazelcast cluster name: the configured one with a suffix only holders of the secret can
   * compute, so members (and CLI clients) of one configured name and one secret meet, and a
   * process that knows only the configured name is refused.
   */
  public String clusterName(String configured) {
    return configured + "-" + HexFormat.of().formatHex(hmac(nameKey, configured), 0, 12);
  }

  /**
   * A member's answer to a challenge ({@link MemberProof}): a MAC over the challenge and the
   * answering member's id, so an answer proves that member holds the secret and is no use for
   * any other member or challenge.
   */
  String memberProof(String nonce, java.util.UUID member) {
    return HexFormat.of().formatHex(hmac(proofKey, "member proof\u0000" + nonce + "\u0000" + member));
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Eight hex digits that differ between secrets and reveal nothing of them: managers that log the
   * same fingerprint share the secret.
   */
  public String fingerprint() {
    return fingerprint;
  }

  /** Where the secret came from (no key material), for the log. */
  public String source() {
    return source;
  }

  public ValueSeal seal() {
    return seal;
  }

  public MemberCa memberCa() {
    return memberCa;
  }

  /** Makes a member configuration use the derived cluster name and carry this trust. */
  public Config applyTo(Config c, String configuredName) {
    c.setClusterName(clusterName(configuredName));
    c.setUserContext(context());
    return c;
  }

  /** Makes a client configuration (the CLI's) use the derived cluster name and carry this trust. */
  public ClientConfig applyTo(ClientConfig c, String configuredName) {
    c.setClusterName(clusterName(configuredName));
    c.setUserContext(context());
    return c;
  }

  private ConcurrentMap<String, Object> context() {
    ConcurrentMap<String, Object> m = new ConcurrentHashMap<>();
    m.put(CONTEXT_KEY, this);
    return m;
  }

  /** The trust an instance was configured with; an instance without one cannot hold cluster state. */
  public static ClusterTrust of(HazelcastInstance hazelcast) {
    Object t = hazelcast.getUserContext().get(CONTEXT_KEY);
    if (!(t instanceof ClusterTrust trust)) {
      throw new IllegalStateException("Hazelcast instance " + hazelcast.getName() + " has no cluster trust;"
          + " build its configuration with ClusterSettings");
    }
    return trust;
  }

  /**
   * The clustered event bus's options: TLS with a member certificate this process issues itself
   * now, client certificates required, and only certificates of the member CA trusted (Vert.x's
   * event bus trusts all by default), so a peer without the secret fails the handshake whichever
   * side it is on.
   *
   * @param host where the event bus listens (and the certificate's subject alternative name)
   */
  public EventBusOptions eventBusOptions(String host, String nodeName) {
    Certificates.Issued member = memberCa.issueMember(nodeName, List.of(host));
    return new EventBusOptions().setHost(host).setPort(0)
        .setSsl(true)
        .setClientAuth(ClientAuth.REQUIRED)
        .setTrustAll(false)
        .setKeyCertOptions(new PemKeyCertOptions()
            .setCertValue(Buffer.buffer(member.certPem()))
            .setKeyValue(Buffer.buffer(member.keyPem())))
        .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(memberCa.certificatePem())));
  }

  @Override
  public String toString() {
    return "ClusterTrust[" + source + ", fingerprint " + fingerprint + "]";
  }
}
