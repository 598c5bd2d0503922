package io.mkebackup.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Sessions remembered by a member for a few seconds never outlive the token: on two real
 * Hazelcast members, a token logged out on one is refused by the other that had it cached, and a
 * token is refused from its expiry on even while cached.
 */
@Tag("integration")
class HazelcastTokenStoreIT {
  final List<HazelcastInstance> members = new ArrayList<>();
  final UserAccount admin = new UserAccount("admin", Passwords.hash("password-1234".toCharArray()),
      Set.of(UserAccount.ADMIN));

  @AfterEach
  void stop() {
    members.forEach(HazelcastInstance::shutdown);
  }

  List<HazelcastInstance> cluster(int n) throws IOException {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      try (ServerSocket s = new ServerSocket(0)) {
        ports.add(s.getLocalPort());
      }
    }
    String name = "tokens-" + UUID.randomUUID();
    ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(name.getBytes(), "test"));
    for (int i = 0; i < n; i++) {
      members.add(Hazelcast.newHazelcastInstance(new ClusterSettings(name, "127.0.0.1", ports.get(i),
          ports.stream().map(p -> "127.0.0.1:" + p).toList(), "node-" + i).memberConfig(trust)));
    }
    return members;
  }

  @Test
  void aTokenLoggedOutOnOneMemberIsRefusedOnAnotherThatRememberedIt() throws Exception {
    List<HazelcastInstance> m = cluster(2);
    TokenStore a = new HazelcastTokenStore(m.get(0), Duration.ofHours(1));
    TokenStore b = new HazelcastTokenStore(m.get(1), Duration.ofHours(1));
    String token = a.issue(admin);
    String other = a.issue(admin);
    assertThat(b.lookup(token)).map(TokenStore.Session::username).contains("admin");
    assertThat(b.lookup(other)).isPresent();

    a.revoke(token);
    assertThat(a.lookup(token)).as("on the member that logged it out: at once").isEmpty();
    await("the other member hears of the logout").atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(10)).until(() -> b.lookup(token).isEmpty());
    assertThat(b.lookup(other)).as("another session stays").isPresent();
  }

  @Test
  void aRememberedTokenIsRefusedFromItsExpiry() throws Exception {
    List<HazelcastInstance> m = cluster(1);
    // Time is the subject: the store's clock is the test's (the map's own expiry, an hour away in
    // real time, plays no part).
    TestClock clock = new TestClock(Instant.parse("2026-06-01T00:00:00Z"));
    HazelcastTokenStore store = new HazelcastTokenStore(m.get(0), Duration.ofHours(1), clock);
    String token = store.issue(admin);
    assertThat(store.lookup(token)).isPresent();
    assertThat(store.isCached(token)).as("remembered after the first lookup").isTrue();
    clock.advance(Duration.ofHours(1).minusMillis(1));
    assertThat(store.lookup(token)).as("a millisecond before its expiry").isPresent();
    clock.advance(Duration.ofMillis(1));
    assertThat(store.isCached(token)).as("still remembered").isTrue();
    assertThat(store.lookup(token)).as("at its expiry, remembered or not").isEmpty();
    assertThat(store.lookup(token)).as("and after").isEmpty();
  }
}
