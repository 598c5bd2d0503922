package io.mkebackup.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.EntryView;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;

/**
 * The {@link TokenStore} contract on {@link HazelcastTokenStore}, on one real member on loopback
 * (its maps emptied before each test): what shows the in-memory store keeps the cluster's
 * contract. The cluster's lockout ends when Hazelcast expires the failure count's entry, whose
 * time-to-live each failure sets to {@link TokenStore#LOCKOUT}: {@link #lockoutPasses} checks that
 * time-to-live and then evicts the entry as that expiry would (five minutes of waiting prove no
 * more about our code).
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HazelcastTokenStoreContractIT extends TokenStoreContract {
  HazelcastInstance member;

  @BeforeAll
  void startMember() {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("token-contract-" + UUID.randomUUID(), "127.0.0.1",
        port, List.of("127.0.0.1:" + port), "node").memberConfig(
        ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"))));
  }

  @BeforeEach
  void empty() {
    member.getMap(ClusterSettings.TOKEN_MAP).clear();
    member.getMap(ClusterSettings.LOGIN_FAILURES_MAP).clear();
  }

  @AfterAll
  void stopMember() {
    member.shutdown();
  }

  @Override
  TokenStore store() {
    return new HazelcastTokenStore(member, TTL, clock);
  }

  @Override
  void lockoutPasses(String pair) {
    IMap<String, Object> failures = member.getMap(ClusterSettings.LOGIN_FAILURES_MAP);
    EntryView<String, Object> entry = failures.getEntryView(pair);
    assertThat(entry).isNotNull();
    assertThat(entry.getTtl()).as("Hazelcast forgets the count this long after the latest failure")
        .isEqualTo(TokenStore.LOCKOUT.toMillis());
    failures.evict(pair);
  }
}
