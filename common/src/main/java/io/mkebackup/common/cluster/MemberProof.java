package io.mkebackup.common.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.splitbrainprotection.HeartbeatAware;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionFunction;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Which Hazelcast members are managers. Joining the Hazelcast cluster takes only its (derived)
 * name, which travels in clear: a member counts only once it has answered a challenge over the
 * event bus, whose mutual TLS only holders of the cluster secret pass, with a MAC (a key derived
 * from the secret) over the challenge and its own member id. Everything that counts or trusts
 * members (the majority, split-brain protection, the lease's confirmations, the reaper,
 * readiness, metrics) asks this. A member not proven within {@link #REPORT_AFTER} is logged once
 * with its address.
 *
 * <p>Made with the member's configuration ({@link ClusterSettings#memberConfig}) and started once
 * the clustered Vert.x is up ({@link #start}); until then (and on a bare Hazelcast member of a
 * unit test) every member counts, as before.
 */
public final class MemberProof {
  private static final Logger LOG = Logger.getLogger(MemberProof.class.getName());
  static final String CONTEXT_KEY = "io.mkebackup.member-proof";
  static final String ADDRESS_PREFIX = "mke-backup.member-proof.";
  /** How long a member waits for another's answer. */
  static final Duration ANSWER_WITHIN = Duration.ofSeconds(3);
  /** How often unproven members are asked again (a manager that just joined registers a moment later). */
  static final Duration ASK_EVERY = Duration.ofSeconds(1);
  /**
   * How long a new member has to prove itself before it is logged as unproven: a manager answers
   * once it has started its event bus, which on a loaded host takes a while after it joined.
   */
  public static final Duration REPORT_AFTER = Duration.ofSeconds(60);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final ClusterTrust trust;
  private volatile HazelcastInstance hazelcast;
  private volatile Vertx vertx;
  private final Set<UUID> proven = ConcurrentHashMap.newKeySet();
  private final Set<UUID> asking = ConcurrentHashMap.newKeySet();
  private final Map<UUID, Long> firstSeen = new ConcurrentHashMap<>();
  private final Set<UUID> reported = ConcurrentHashMap.newKeySet();
  private final Set<String> registered = ConcurrentHashMap.newKeySet();
  private long timer = -1;

  MemberProof(ClusterTrust trust) {
    this.trust = trust;
  }

  /** The proof of a member configured by {@link ClusterSettings#memberConfig}, or null (a client). */
  public static MemberProof of(HazelcastInstance hazelcast) {
    Object p = hazelcast.getUserContext().get(CONTEXT_KEY);
    return p instanceof MemberProof proof ? proof : null;
  }

  /** The members of the instance's cluster that count: proven ones, this member included. */
  public static List<Member> provenMembers(HazelcastInstance hazelcast) {
    MemberProof proof = of(hazelcast);
    List<Member> out = new ArrayList<>();
    for (Member m : hazelcast.getCluster().getMembers()) {
      if (proof == null || proof.isProven(m)) {
        out.add(m);
      }
    }
    return out;
  }

  /** The members of the instance's cluster that have not proven they hold the secret. */
  public static List<Member> unprovenMembers(HazelcastInstance hazelcast) {
    MemberProof proof = of(hazelcast);
    List<Member> out = new ArrayList<>();
    for (Member m : hazelcast.getCluster().getMembers()) {
      if (proof != null && !proof.isProven(m)) {
        out.add(m);
      }
    }
    return out;
  }

  /** Whether the member counts: this member, or one that answered the challenge (every one before start). */
  public boolean isProven(Member m) {
    return vertx == null || m.localMember() || proven.contains(m.getUuid());
  }

  /** As {@link #isProven(Member)}, for a member id (a CLI client's id is never proven). */
  public boolean isProven(UUID member) {
    HazelcastInstance hz = hazelcast;
    return vertx == null || hz != null && hz.getCluster().getLocalMember().getUuid().equals(member)
        || proven.contains(member);
  }

  static String address(UUID member) {
    return ADDRESS_PREFIX + member;
  }

  /**
   * Answers the challenge at this member's address and asks every other member, at each
   * membership change and every {@link #ASK_EVERY} while one is unproven.
   */
  public synchronized void start(Vertx vertx, HazelcastInstance hazelcast) {
    this.hazelcast = hazelcast;
    answer(vertx);
    hazelcast.getLifecycleService().addLifecycleListener(e -> {
      if (e.getState() == com.hazelcast.core.LifecycleEvent.LifecycleState.MERGED) {
        // A member that merges back after a split has a new id: answer at its new address.
        answer(vertx);
        proven.clear();
        vertx.runOnContext(v -> askAll());
      }
    });
    hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {
        vertx.runOnContext(v -> askAll());
      }

      @Override
      public void memberRemoved(MembershipEvent e) {
        UUID id = e.getMember().getUuid();
        proven.remove(id);
        firstSeen.remove(id);
        reported.remove(id);
      }
    });
    this.vertx = vertx;
    timer = vertx.setPeriodic(ASK_EVERY.toMillis(), id -> askAll());
    askAll();
  }

  /** Stops asking (the Vert.x instance closing stops answering). */
  public synchronized void stop() {
    if (vertx != null && timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private void answer(Vertx vertx) {
    String self = hazelcast.getCluster().getLocalMember().getUuid().toString();
    if (!registered.add(self)) {
      return;
    }
    vertx.eventBus().<JsonObject>consumer(address(UUID.fromString(self)), msg -> {
      Object body = msg.body();
      String nonce = body instanceof JsonObject j ? j.getString("nonce") : null;
      if (nonce == null || !nonce.matches("[0-9a-f]{32}")) {
        msg.fail(400, "a member proof challenge is {\"nonce\": 32 hex digits}");
        return;
      }
      UUID now = hazelcast.getCluster().getLocalMember().getUuid();
      msg.reply(new JsonObject().put("member", now.toString()).put("mac", trust.memberProof(nonce, now)));
    });
  }

  private void askAll() {
    HazelcastInstance hz = hazelcast;
    if (hz == null || !hz.getLifecycleService().isRunning()) {
      return;
    }
    long now = System.nanoTime();
    for (Member m : hz.getCluster().getMembers()) {
      UUID id = m.getUuid();
      if (m.localMember() || proven.contains(id)) {
        continue;
      }
      long seen = firstSeen.computeIfAbsent(id, k -> now);
      if (now - seen > REPORT_AFTER.toNanos() && reported.add(id)) {
        LOG.warning("the Hazelcast member at " + m.getAddress() + " (id " + id + ") has not proven it holds the"
            + " cluster secret within " + REPORT_AFTER.toSeconds() + " s, so it does not count as a manager: it"
            + " knows the cluster's derived name (which travels in clear) but is not a manager of this cluster,"
            + " or a manager that cannot reach this one's event bus. Find what runs at that address");
      }
      if (asking.add(id)) {
        ask(m);
      }
    }
  }

  private void ask(Member m) {
    UUID id = m.getUuid();
    byte[] n = new byte[16];
    RANDOM.nextBytes(n);
    String nonce = HexFormat.of().formatHex(n);
    String expected = trust.memberProof(nonce, id);
    vertx.eventBus().<Object>request(address(id), new JsonObject().put("nonce", nonce),
        new DeliveryOptions().setSendTimeout(ANSWER_WITHIN.toMillis())).onComplete(ar -> {
          asking.remove(id);
          Object body = ar.succeeded() ? ar.result().body() : null;
          String mac = body instanceof JsonObject j ? j.getString("mac") : null;
          if (mac != null && MessageDigest.isEqual(mac.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
              expected.getBytes(java.nio.charset.StandardCharsets.US_ASCII)) && isMember(id)) {
            if (proven.add(id)) {
              LOG.info("member " + m.getAttribute(ClusterSettings.NODE_ATTRIBUTE) + " at " + m.getAddress()
                  + " proved it holds the cluster secret; cluster members: " + provenMembers(hazelcast).size()
                  + " proven of " + hazelcast.getCluster().getMembers().size());
              if (reported.remove(id)) {
                LOG.warning("the Hazelcast member at " + m.getAddress() + " proved it holds the cluster secret after"
                    + " all; it counts as a manager now");
              }
            }
          }
        });
  }

  private boolean isMember(UUID id) {
    for (Member m : hazelcast.getCluster().getMembers()) {
      if (m.getUuid().equals(id)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Split-brain protection that counts proven members only: Hazelcast asks it at each membership
   * change and each heartbeat, so a member's proof counts within a second of its answer.
   */
  static final class ProvenMajority implements SplitBrainProtectionFunction, HeartbeatAware {
    private final MemberProof proof;
    private final int needed;

    ProvenMajority(MemberProof proof, int needed) {
      this.proof = proof;
      this.needed = needed;
    }

    @Override
    public boolean apply(Collection<Member> members) {
      int n = 0;
      for (Member m : members) {
        if (proof.isProven(m)) {
          n++;
        }
      }
      return n >= needed;
    }

    @Override
    public void onHeartbeat(Member member, long timestamp) {
      // the count is taken in apply, which Hazelcast calls after each heartbeat
    }
  }
}
