package io.mkebackup.gateway.auth;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Login tokens in this process's memory, with the contracts of {@link HazelcastTokenStore} that the
 * logic above it relies on: random 256-bit tokens kept by their SHA-256 ({@link TokenStore#key});
 * a token is valid from its issue until the time-to-live has passed on the injected
 * {@link Clock} (refused from that instant on); a logout ({@link #revoke}) or an expiry is
 * announced to every {@link #onEnded} listener with the token's key; failed logins are counted per
 * pair, {@link TokenStore#MAX_FAILURES} of them refuse the pair until {@link TokenStore#LOCKOUT}
 * after the latest one (on the same clock), and a success forgets them. Thread-safe. For unit tests
 * of the logic above the store ({@link SessionWatch}, the login routes); several "members" share
 * one instance.
 *
 * <p>When an expiry is announced: at the first call to this store at or after it (any call: issue,
 * lookup, revoke, endedOf, the login counts), on the calling thread. Hazelcast announces it
 * within seconds from its own sweep or when the entry is next read, on its event threads; here
 * nothing runs in the background, so a test decides when by calling the store. Listeners run
 * on the caller's thread, outside the store's lock. {@link #announceExpiries(boolean)} can
 * silence expiries (logouts are still announced), as a member that has not yet heard of one: for
 * tests of what must end sessions without the event, such as {@link SessionWatch}'s sweep.
 *
 * <p>What it does not model: Hazelcast itself (members, backup copies, partitions, merges after a
 * split, the seal on values, the map's own time-to-live in whole seconds and its eviction of
 * failure counts when the map is full), the member's cache of recent lookups (there is no round
 * trip to save here), and the wall clock: the lockout ends on the injected clock, where the
 * cluster's ends when Hazelcast expires the count's entry.
 */
public final class InMemoryTokenStore implements TokenStore {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Duration ttl;
  private final Clock clock;
  /** Sessions by token key, with the instant (clock millis) they end. */
  private final Map<String, Entry> tokens = new HashMap<>();
  /** Failure counts by pair, with the instant (clock millis) each count is forgotten. */
  private final Map<String, Failures> failures = new HashMap<>();
  private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean announceExpiries = true;

  private record Entry(Session session, long expiresAt) {}

  private record Failures(int count, long until) {}

  public InMemoryTokenStore(Duration ttl, Clock clock) {
    this.ttl = ttl;
    this.clock = clock;
  }

  /** Whether expiries are announced to {@link #onEnded} listeners from now on (true at first). */
  public void announceExpiries(boolean announce) {
    this.announceExpiries = announce;
  }

  @Override
  public String issue(UserAccount user) {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    Session session = new Session(user.username(), Set.copyOf(user.roles()));
    List<String> expired;
    synchronized (this) {
      expired = expireDue();
      tokens.put(TokenStore.key(token), new Entry(session, clock.millis() + ttl.toMillis()));
    }
    announce(expired);
    return token;
  }

  @Override
  public CompletionStage<Optional<Session>> lookupAsync(String token) {
    // The same refusals before any look-up as the cluster's store.
    if (token == null || token.isBlank() || token.length() > 200) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    Optional<Session> found;
    List<String> expired;
    synchronized (this) {
      expired = expireDue();
      Entry e = tokens.get(TokenStore.key(token));
      found = e == null ? Optional.empty() : Optional.of(e.session());
    }
    announce(expired);
    return CompletableFuture.completedFuture(found);
  }

  @Override
  public void revoke(String token) {
    String key = TokenStore.key(token);
    List<String> ended;
    synchronized (this) {
      ended = expireDue();
      if (tokens.remove(key) != null) {
        ended.add(key);
      }
    }
    announce(ended);
  }

  @Override
  public void onEnded(Consumer<String> ended) {
    listeners.add(ended);
  }

  @Override
  public Set<String> endedOf(Set<String> keys) {
    Set<String> ended = new HashSet<>(keys);
    List<String> expired;
    synchronized (this) {
      expired = expireDue();
      ended.removeAll(tokens.keySet());
    }
    announce(expired);
    return ended;
  }

  @Override
  public Duration throttled(String pair) {
    Duration wait;
    List<String> expired;
    synchronized (this) {
      expired = expireDue();
      Failures f = failures.get(pair);
      wait = f == null || f.count() < MAX_FAILURES ? Duration.ZERO : Duration.ofMillis(f.until() - clock.millis());
    }
    announce(expired);
    return wait;
  }

  @Override
  public void failed(String pair) {
    List<String> expired;
    synchronized (this) {
      expired = expireDue();
      Failures f = failures.get(pair);
      failures.put(pair, new Failures(f == null ? 1 : f.count() + 1, clock.millis() + LOCKOUT.toMillis()));
    }
    announce(expired);
  }

  @Override
  public void succeeded(String pair) {
    List<String> expired;
    synchronized (this) {
      expired = expireDue();
      failures.remove(pair);
    }
    announce(expired);
  }

  /**
   * Drops the tokens and failure counts whose time has come on the clock; returns the dropped
   * tokens' keys, to announce once the lock is released (a listener may call the store).
   */
  private List<String> expireDue() {
    long now = clock.millis();
    List<String> ended = new ArrayList<>();
    for (Iterator<Map.Entry<String, Entry>> i = tokens.entrySet().iterator(); i.hasNext(); ) {
      Map.Entry<String, Entry> e = i.next();
      if (now >= e.getValue().expiresAt()) {
        i.remove();
        if (announceExpiries) {
          ended.add(e.getKey());
        }
      }
    }
    failures.values().removeIf(f -> now >= f.until());
    return ended;
  }

  private void announce(List<String> ended) {
    for (String key : ended) {
      listeners.forEach(l -> l.accept(key));
    }
  }
}
