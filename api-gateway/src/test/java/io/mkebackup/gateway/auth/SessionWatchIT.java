package io.mkebackup.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.ClusterSettings;
import io.vertx.core.Vertx;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Streams opened with a token end when it ends, on a real Hazelcast member and a real Vert.x: at
 * once when it is logged out, within seconds when it expires; streams of other tokens go on.
 */
@Tag("integration")
class SessionWatchIT {
  HazelcastInstance member;
  Vertx vertx;

  @AfterEach
  void stop() {
    if (vertx != null) {
      vertx.close();
    }
    if (member != null) {
      member.shutdown();
    }
  }

  @Test
  void aTokenLoggedOutOrExpiredEndsItsStreamsAndOnlyThose() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("watch-" + UUID.randomUUID(), "127.0.0.1", port,
        List.of("127.0.0.1:" + port), "node").memberConfig(io.mkebackup.common.cluster.ClusterTrust.derive(
        io.mkebackup.common.cluster.ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"))));
    vertx = Vertx.vertx();
    TokenStore tokens = new HazelcastTokenStore(member, Duration.ofSeconds(2));
    TokenStore longLived = new HazelcastTokenStore(member, Duration.ofHours(1));
    UserAccount admin = new UserAccount("admin", Passwords.hash("password-1234".toCharArray()), Set.of(UserAccount.ADMIN));
    String expiring = tokens.issue(admin);
    String loggedOut = longLived.issue(admin);
    String staying = longLived.issue(admin);
    SessionWatch watch = new SessionWatch(vertx, tokens);
    AtomicInteger expiredEnded = new AtomicInteger();
    AtomicInteger loggedOutEnded = new AtomicInteger();
    AtomicInteger stayingEnded = new AtomicInteger();
    vertx.runOnContext(v -> {
      watch.start();
      watch.watch(expiring, expiredEnded::incrementAndGet);
      watch.watch(loggedOut, loggedOutEnded::incrementAndGet);
      watch.watch(loggedOut, loggedOutEnded::incrementAndGet);
      watch.watch(staying, stayingEnded::incrementAndGet);
    });
    await().atMost(Duration.ofSeconds(5)).until(() -> watch.watched() == 3);

    longLived.revoke(loggedOut);
    await("logged out: both its streams end").atMost(Duration.ofSeconds(5)).until(() -> loggedOutEnded.get() == 2);
    await("expired: its stream ends").atMost(Duration.ofSeconds(15)).until(() -> expiredEnded.get() == 1);
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() -> stayingEnded.get() == 0);
    assertThat(watch.watched()).isEqualTo(1);
  }
}
