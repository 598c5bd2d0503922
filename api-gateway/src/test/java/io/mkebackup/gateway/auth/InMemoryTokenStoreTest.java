package io.mkebackup.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The {@link TokenStore} contract on {@link InMemoryTokenStore}: a unit test, no cluster; and what
 * only a test's clock can show: the lockout runs from the latest failure, and an expiry is
 * announced at the store's next call.
 */
class InMemoryTokenStoreTest extends TokenStoreContract {
  private InMemoryTokenStore store;

  @Override
  TokenStore store() {
    if (store == null) {
      store = new InMemoryTokenStore(TTL, clock);
    }
    return store;
  }

  @Override
  void lockoutPasses(String pair) {
    clock.advance(TokenStore.LOCKOUT);
  }

  @Test
  void theLockoutRunsFromTheLatestFailure() {
    TokenStore store = store();
    String pair = TokenStore.pair("admin", true, HERE);
    for (int i = 0; i < TokenStore.MAX_FAILURES - 1; i++) {
      store.failed(pair);
    }
    clock.advance(TokenStore.LOCKOUT.minusMillis(1));
    store.failed(pair);
    assertThat(store.throttled(pair)).as("the earlier failures still count").isEqualTo(TokenStore.LOCKOUT);
    clock.advance(TokenStore.LOCKOUT.minusMillis(1));
    assertThat(store.throttled(pair)).isEqualTo(Duration.ofMillis(1));
    clock.advance(Duration.ofMillis(1));
    assertThat(store.throttled(pair)).isZero();
  }

  @Test
  void failuresOlderThanTheLockoutAreForgotten() {
    TokenStore store = store();
    String pair = TokenStore.pair("admin", true, HERE);
    for (int i = 0; i < TokenStore.MAX_FAILURES - 1; i++) {
      store.failed(pair);
    }
    clock.advance(TokenStore.LOCKOUT);
    store.failed(pair);
    assertThat(store.throttled(pair)).isZero();
  }

  @Test
  void anExpiryIsAnnouncedOnceAtTheStoresNextCallAndEndedOfNamesIt() {
    TokenStore store = store();
    List<String> ended = new ArrayList<>();
    store.onEnded(ended::add);
    String early = store.issue(ADMIN);
    clock.advance(TTL.dividedBy(2));
    String late = store.issue(ADMIN);
    clock.advance(TTL.dividedBy(2).minusMillis(1));
    assertThat(store.endedOf(Set.of(TokenStore.key(early), TokenStore.key(late)))).isEmpty();
    assertThat(ended).isEmpty();

    clock.advance(Duration.ofMillis(1));
    assertThat(ended).as("nothing runs in the background").isEmpty();
    assertThat(store.endedOf(Set.of(TokenStore.key(early), TokenStore.key(late))))
        .containsExactly(TokenStore.key(early));
    assertThat(ended).containsExactly(TokenStore.key(early));
    store.lookup(early);
    store.revoke(early);
    assertThat(ended).as("once").containsExactly(TokenStore.key(early));
  }

  @Test
  void silencedExpiriesAreNotAnnouncedLogoutsStillAre() {
    InMemoryTokenStore store = (InMemoryTokenStore) store();
    List<String> ended = new ArrayList<>();
    store.onEnded(ended::add);
    store.announceExpiries(false);
    String expires = store.issue(ADMIN);
    String out = store.issue(ADMIN);
    store.revoke(out);
    clock.advance(TTL);
    assertThat(store.lookup(expires)).isEmpty();
    assertThat(store.endedOf(Set.of(TokenStore.key(expires)))).containsExactly(TokenStore.key(expires));
    assertThat(ended).containsExactly(TokenStore.key(out));
  }
}
