package io.mkebackup.gateway.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * Login tokens valid on every manager, and the count of failed logins that throttles guessing.
 * A token is random (256 bits); only its SHA-256 ({@link #key}) is ever stored. Two
 * implementations: {@link HazelcastTokenStore} (the cluster's, which the manager uses) and
 * {@link InMemoryTokenStore} (one process, for unit tests of the logic above it, such as
 * {@link SessionWatch}). Both are held to one contract (TokenStoreContract in the tests). Calls
 * other than {@link #lookupAsync} may block on the cluster: use them off the event loop.
 */
public interface TokenStore {
  /**
   * Failed logins of one user from one client address within {@link #LOCKOUT} before that pair's
   * logins are refused. Counting per address means guesses from one place never lock the real
   * admin out from another.
   */
  int MAX_FAILURES = 5;
  /** How long a pair's failure count lives after its latest failure (and so how long a lockout lasts). */
  Duration LOCKOUT = Duration.ofMinutes(5);
  /**
   * User names that are not accounts share one count per address (under the empty name, which no
   * login can give): random names cannot grow the map.
   */
  String UNKNOWN_USER = "";

  /** A logged-in user, as a token says. */
  record Session(String username, Set<String> roles) {
    public boolean admin() {
      return roles.contains(UserAccount.ADMIN);
    }
  }

  /** A new token for the user, valid until the store's time-to-live has passed on its clock. */
  String issue(UserAccount user);

  /** The token's session; empty when it is unknown, logged out, expired or not a token at all. */
  default Optional<Session> lookup(String token) {
    return lookupAsync(token).toCompletableFuture().join();
  }

  /**
   * As {@link #lookup}, without holding a thread while the cluster answers: for the event loop
   * (with Hazelcast, the returned stage completes on a Hazelcast thread).
   */
  CompletionStage<Optional<Session>> lookupAsync(String token);

  /** Ends the token on every manager (a logout); a token already gone is no error. */
  void revoke(String token);

  /**
   * Calls {@code ended} with the key ({@link #key}) of every token logged out or expired anywhere
   * in the cluster, so streams opened with it can end.
   */
  void onEnded(Consumer<String> ended);

  /** Of these token keys, the ones that no longer name a session (logged out or expired). */
  Set<String> endedOf(Set<String> keys);

  /**
   * How long this (user, address) pair ({@link #pair}) is still refused, cluster-wide; zero when
   * it may try. Asked before the password is checked, so a refused guess costs no BCrypt.
   */
  Duration throttled(String pair);

  /** Counts a failed login of the pair; the count expires {@link #LOCKOUT} after the latest failure. */
  void failed(String pair);

  /** A successful login of the pair: its failures are forgotten. */
  void succeeded(String pair);

  /**
   * The key failed logins are counted under: the account (or one shared name for every unknown
   * one) and the client's address.
   */
  static String pair(String username, boolean known, String address) {
    return (known ? username : UNKNOWN_USER) + "\n" + address;
  }

  /** The store's key for a token: its SHA-256, never the token. */
  static String key(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
