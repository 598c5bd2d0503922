package io.mkebackup.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What every {@link TokenStore} promises the login routes and {@link SessionWatch}, run on each
 * implementation ({@link InMemoryTokenStoreTest}, {@link HazelcastTokenStoreContractIT}), so the
 * in-memory store the logic is unit-tested on keeps the cluster's contract. Tokens expire on the
 * test's clock ({@link #clock}); what only a clock of the test can show of the lockout is in
 * {@link InMemoryTokenStoreTest}, and {@link #lockoutPasses} says how each store's lockout ends.
 */
abstract class TokenStoreContract {
  static final Duration TTL = Duration.ofHours(1);
  static final UserAccount ADMIN = new UserAccount("admin", "$2a$10$unused", Set.of(UserAccount.ADMIN, "viewer"));
  static final UserAccount VIEWER = new UserAccount("viewer", "$2a$10$unused", Set.of());
  static final String HERE = "10.0.0.1";
  static final String THERE = "10.0.0.2";

  TestClock clock;

  @BeforeEach
  void newClock() {
    clock = new TestClock(Instant.parse("2026-06-01T00:00:00Z"));
  }

  /** A store whose tokens live {@link #TTL} on {@link #clock}, over state no earlier test left anything in. */
  abstract TokenStore store();

  /**
   * Lets the pair's {@link TokenStore#LOCKOUT} pass after its latest failure, as the store's own
   * time runs: the in-memory store's clock; the cluster's count entry, whose expiry is Hazelcast's.
   */
  abstract void lockoutPasses(String pair);

  /** Waits (at most 10 s: Hazelcast's events arrive on its threads) for the next ended key. */
  static String next(BlockingQueue<String> ended) throws InterruptedException {
    return ended.poll(10, TimeUnit.SECONDS);
  }

  @Test
  void anIssuedTokenNamesItsUserAndRolesByLookupAndLookupAsync() throws Exception {
    TokenStore store = store();
    String admin = store.issue(ADMIN);
    String viewer = store.issue(VIEWER);

    assertThat(admin).isNotEqualTo(viewer).doesNotContain(TokenStore.key(admin));
    assertThat(TokenStore.key(admin)).hasSize(64);
    assertThat(store.lookup(admin)).contains(new TokenStore.Session("admin", Set.of(UserAccount.ADMIN, "viewer")));
    assertThat(store.lookup(admin).orElseThrow().admin()).isTrue();
    assertThat(store.lookupAsync(viewer).toCompletableFuture().get(10, TimeUnit.SECONDS))
        .contains(new TokenStore.Session("viewer", Set.of()));
    assertThat(store.lookup(viewer).orElseThrow().admin()).isFalse();
    assertThat(store.lookup(store.issue(ADMIN))).as("a second token of the same user").isPresent();
  }

  static Stream<Arguments> notTokens() {
    return Stream.of(
        Arguments.of("null", null),
        Arguments.of("empty", ""),
        Arguments.of("blank", "   "),
        Arguments.of("over 200 characters", "a".repeat(201)),
        Arguments.of("never issued", "bm90LWlzc3VlZC1ieS1hbnlvbmUtZXZlci0wMTIzNDU2Nzg5"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("notTokens")
  void whatIsNotALiveTokenNamesNoSession(String what, String token) throws Exception {
    TokenStore store = store();
    store.issue(ADMIN);
    assertThat(store.lookup(token)).isEmpty();
    assertThat(store.lookupAsync(token).toCompletableFuture().get(10, TimeUnit.SECONDS)).isEmpty();
  }

  @Test
  void aTokensKeyIsNotAToken() {
    TokenStore store = store();
    String token = store.issue(ADMIN);
    assertThat(store.lookup(TokenStore.key(token))).isEmpty();
  }

  @Test
  void aRevokedTokenIsRefusedAtOnceAndItsEndIsAnnouncedOthersStay() throws Exception {
    TokenStore store = store();
    BlockingQueue<String> ended = new LinkedBlockingQueue<>();
    store.onEnded(ended::add);
    String out = store.issue(ADMIN);
    String stays = store.issue(ADMIN);
    String marker = store.issue(VIEWER);
    assertThat(store.lookup(out)).as("looked up (a member then remembers it)").isPresent();

    store.revoke(out);
    assertThat(store.lookup(out)).as("at once, on the store that logged it out").isEmpty();
    assertThat(store.lookupAsync(out).toCompletableFuture().get(10, TimeUnit.SECONDS)).isEmpty();
    store.revoke(marker);
    Set<String> heard = new HashSet<>();
    heard.add(next(ended));
    heard.add(next(ended));
    assertThat(heard).as("announced by key, never the token").containsExactlyInAnyOrder(TokenStore.key(out),
        TokenStore.key(marker));
    assertThat(store.lookup(stays)).isPresent();
    assertThat(store.endedOf(Set.of(TokenStore.key(out), TokenStore.key(stays), TokenStore.key(marker))))
        .containsExactlyInAnyOrder(TokenStore.key(out), TokenStore.key(marker));

    store.revoke(out);
    store.revoke("never issued");
    assertThat(store.lookup(stays)).as("revoking what is gone changes nothing").isPresent();
  }

  @Test
  void aTokenIsValidUntilItsTimeToLiveHasPassedOnTheClock() {
    TokenStore store = store();
    String token = store.issue(ADMIN);
    clock.advance(TTL.minusMillis(1));
    assertThat(store.lookup(token)).as("a millisecond before its expiry").isPresent();
    String later = store.issue(ADMIN);
    clock.advance(Duration.ofMillis(1));
    assertThat(store.lookup(token)).as("at its expiry").isEmpty();
    assertThat(store.lookup(token)).as("and after").isEmpty();
    assertThat(store.lookup(later)).as("one issued later lives on").isPresent();
    clock.advance(TTL.minusMillis(1));
    assertThat(store.lookup(later)).isEmpty();
  }

  /** Failures of one pair, and whether (and how long) it is refused after them. */
  static Stream<Arguments> failureCounts() {
    return Stream.of(
        Arguments.of(0, false),
        Arguments.of(1, false),
        Arguments.of(TokenStore.MAX_FAILURES - 1, false),
        Arguments.of(TokenStore.MAX_FAILURES, true),
        Arguments.of(TokenStore.MAX_FAILURES + 1, true));
  }

  @ParameterizedTest(name = "{0} failures: refused {1}")
  @MethodSource("failureCounts")
  void aPairIsRefusedFromMaxFailuresOnForAtMostTheLockout(int failures, boolean refused) {
    TokenStore store = store();
    String pair = TokenStore.pair("admin", true, HERE);
    for (int i = 0; i < failures; i++) {
      store.failed(pair);
    }
    Duration wait = store.throttled(pair);
    if (refused) {
      assertThat(wait).isPositive().isLessThanOrEqualTo(TokenStore.LOCKOUT);
    } else {
      assertThat(wait).isZero();
    }
  }

  /** A pair locked out, and whether another pair is refused with it. */
  static Stream<Arguments> otherPairs() {
    return Stream.of(
        Arguments.of(TokenStore.pair("admin", true, HERE), TokenStore.pair("admin", true, THERE), false),
        Arguments.of(TokenStore.pair("admin", true, HERE), TokenStore.pair("viewer", true, HERE), false),
        Arguments.of(TokenStore.pair("admin", true, HERE), TokenStore.pair("nobody", false, HERE), false),
        Arguments.of(TokenStore.pair("nobody", false, HERE), TokenStore.pair("someone", false, HERE), true),
        Arguments.of(TokenStore.pair("nobody", false, HERE), TokenStore.pair("someone", false, THERE), false),
        Arguments.of(TokenStore.pair("nobody", false, HERE), TokenStore.pair("admin", true, HERE), false));
  }

  @ParameterizedTest(name = "[{index}] locked {0}, asked {1}: refused {2}")
  @MethodSource("otherPairs")
  void aLockoutIsPerUserAndAddressUnknownNamesShareOne(String locked, String asked, boolean refused) {
    TokenStore store = store();
    for (int i = 0; i < TokenStore.MAX_FAILURES; i++) {
      store.failed(locked);
    }
    assertThat(store.throttled(locked)).isPositive();
    assertThat(store.throttled(asked).isZero()).isEqualTo(!refused);
  }

  @Test
  void aSuccessForgetsThePairsFailures() {
    TokenStore store = store();
    String pair = TokenStore.pair("admin", true, HERE);
    String other = TokenStore.pair("admin", true, THERE);
    for (int i = 0; i < TokenStore.MAX_FAILURES - 1; i++) {
      store.failed(pair);
      store.failed(other);
    }
    store.succeeded(pair);
    for (int i = 0; i < TokenStore.MAX_FAILURES - 1; i++) {
      store.failed(pair);
    }
    assertThat(store.throttled(pair)).as("counted afresh").isZero();
    store.failed(pair);
    assertThat(store.throttled(pair)).isPositive();
    store.failed(other);
    assertThat(store.throttled(other)).as("another pair's count is its own").isPositive();
  }

  @Test
  void aLockoutEndsOnceTheLockoutHasPassedAndTheCountStartsAgain() {
    TokenStore store = store();
    String pair = TokenStore.pair("admin", true, HERE);
    for (int i = 0; i < TokenStore.MAX_FAILURES; i++) {
      store.failed(pair);
    }
    assertThat(store.throttled(pair)).isPositive();
    lockoutPasses(pair);
    assertThat(store.throttled(pair)).isZero();
    store.failed(pair);
    assertThat(store.throttled(pair)).as("one failure after the lockout").isZero();
  }

  @Test
  void everyListenerHearsOfEveryEnd() throws Exception {
    TokenStore store = store();
    BlockingQueue<String> first = new LinkedBlockingQueue<>();
    BlockingQueue<String> second = new LinkedBlockingQueue<>();
    store.onEnded(first::add);
    store.onEnded(second::add);
    List<String> tokens = List.of(store.issue(ADMIN), store.issue(VIEWER));
    tokens.forEach(store::revoke);
    Set<String> keys = Set.of(TokenStore.key(tokens.get(0)), TokenStore.key(tokens.get(1)));
    assertThat(Set.of(next(first), next(first))).isEqualTo(keys);
    assertThat(Set.of(next(second), next(second))).isEqualTo(keys);
    assertThat(Optional.ofNullable(first.peek())).isEmpty();
  }
}
