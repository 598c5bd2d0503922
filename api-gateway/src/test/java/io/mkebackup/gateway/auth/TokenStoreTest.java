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
class TokenStoreTest {
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
    TokenStore a = new TokenStore(m.get(0), Duration.ofHours(1));
    TokenStore b = new TokenStore(m.get(1), Duration.ofHours(1));
    String token = a.issue(admin);
    String other = a.issue(admin);
    assertThat(b.lookup(token)).map(TokenStore.Session::username).contains("admin");
    assertThat(b.lookup(other)).isPresent();

    a.revoke(token);
    assertThat(a.lookup(token)).as("on the member that logged it out: at once").isEmpty();
    await("the other member hears of the logout").atMost(Duration.ofSeconds(2))
        .pollInterval(Duration.ofMillis(10)).until(() -> b.lookup(token).isEmpty());
    assertThat(b.lookup(other)).as("another session stays").isPresent();
  }

  @Test
  void aRememberedTokenIsRefusedFromItsExpiry() throws Exception {
    List<HazelcastInstance> m = cluster(1);
    TokenStore store = new TokenStore(m.get(0), Duration.ofSeconds(2));
    String token = store.issue(admin);
    long issued = System.nanoTime();
    assertThat(store.lookup(token)).isPresent();
    await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(20)).until(() -> store.lookup(token).isEmpty());
    long refusedAfterMs = (System.nanoTime() - issued) / 1_000_000;
    // Cached for up to 5 s, but never past the 2 s the token lives.
    assertThat(refusedAfterMs).isBetween(1_900L, 2_600L);
  }
}
