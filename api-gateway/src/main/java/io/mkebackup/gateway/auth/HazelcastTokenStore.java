package io.mkebackup.gateway.auth;

import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.SealedMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The cluster's {@link TokenStore}: random 256-bit tokens whose SHA-256 (never the token) keys
 * an entry of the cluster map {@link ClusterSettings#TOKEN_MAP} that expires with the token (its
 * value: the user name, the roles and {@code expiresAt}, as JSON); failed logins are counted in
 * {@link ClusterSettings#LOGIN_FAILURES_MAP}, one entry per pair whose Hazelcast time-to-live of
 * {@link #LOCKOUT} restarts at each failure. Both maps are sealed ({@link SealedMap}). Logouts and
 * expiries are announced by the map's entry events, from any member. Blocking calls: use off the
 * event loop.
 */
public final class HazelcastTokenStore implements TokenStore {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SealedMap map;
  private final SealedMap failures;
  private final Duration ttl;

  /**
   * Sessions this member has looked up recently, by token key, each trusted for at most
   * {@link #CACHED_FOR} (and never past its expiry): an API call then costs no cluster round trip.
   * A logout or expiry anywhere in the cluster removes the entry as soon as its event arrives here
   * (milliseconds; a logout on this member removes it at once).
   */
  private final java.util.concurrent.ConcurrentHashMap<String, Cached> cache = new java.util.concurrent.ConcurrentHashMap<>();
  static final long CACHED_FOR_NANOS = Duration.ofSeconds(5).toNanos();
  static final int MAX_CACHED = 10_000;

  /** Cached until {@code untilNanos} (monotonic) and never from {@code expiresAt} (the clock's millis) on. */
  private record Cached(Session session, long untilNanos, long expiresAt) {}

  /** Whose time tokens expire by (a test's own clock in tests). */
  private final java.time.Clock clock;

  /**
   * Counts logouts and expiries seen here: a lookup caches what it read only if none happened
   * while it was reading, so a read that started before a logout cannot put the session back.
   */
  private final java.util.concurrent.atomic.AtomicLong ended = new java.util.concurrent.atomic.AtomicLong();

  public HazelcastTokenStore(HazelcastInstance hazelcast, Duration ttl) {
    this(hazelcast, ttl, java.time.Clock.systemUTC());
  }

  /**
   * With the clock tokens expire by (a test's). The lockout is not on it: its end is the failure
   * count's expiry in the cluster map, on Hazelcast's (wall) clock.
   */
  HazelcastTokenStore(HazelcastInstance hazelcast, Duration ttl, java.time.Clock clock) {
    this.clock = clock;
    this.map = SealedMap.of(hazelcast, ClusterSettings.TOKEN_MAP);
    this.failures = SealedMap.of(hazelcast, ClusterSettings.LOGIN_FAILURES_MAP);
    this.ttl = ttl;
    map.listenEnded(key -> {
      ended.incrementAndGet();
      cache.remove(key);
    });
  }

  @Override
  public Duration throttled(String pair) {
    SealedMap.View v = failures.view(pair);
    Integer n = v == null ? null : count(v.value());
    if (n == null || n < MAX_FAILURES) {
      return Duration.ZERO;
    }
    // The entry's expiration time is Hazelcast's, on the wall clock: compare with that clock.
    long left = v.expirationTime() - System.currentTimeMillis();
    return left <= 0 ? Duration.ZERO : Duration.ofMillis(left);
  }

  private static Integer count(String value) {
    try {
      return value == null ? null : Integer.valueOf(value);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Override
  public void failed(String pair) {
    failures.lock(pair);
    try {
      Integer n = count(failures.get(pair));
      failures.set(pair, String.valueOf(n == null ? 1 : n + 1), LOCKOUT.toSeconds(), TimeUnit.SECONDS);
    } finally {
      failures.unlock(pair);
    }
  }

  @Override
  public void succeeded(String pair) {
    failures.delete(pair);
  }

  @Override
  public void onEnded(java.util.function.Consumer<String> ended) {
    map.listenEnded(ended);
  }

  @Override
  public Set<String> endedOf(Set<String> keys) {
    Set<String> live = map.getAll(keys).keySet();
    Set<String> ended = new HashSet<>(keys);
    ended.removeAll(live);
    return ended;
  }

  @Override
  public String issue(UserAccount user) {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    map.set(TokenStore.key(token), new JsonObject().put("username", user.username())
        .put("roles", new JsonArray(user.roles().stream().sorted().toList()))
        .put("expiresAt", clock.millis() + ttl.toMillis()).encode(), ttl.toSeconds(), TimeUnit.SECONDS);
    return token;
  }

  @Override
  public java.util.concurrent.CompletionStage<Optional<Session>> lookupAsync(String token) {
    if (token == null || token.isBlank() || token.length() > 200) {
      return java.util.concurrent.CompletableFuture.completedFuture(Optional.empty());
    }
    String key = TokenStore.key(token);
    Cached c = cache.get(key);
    if (c != null && System.nanoTime() - c.untilNanos() < 0) {
      if (clock.millis() < c.expiresAt()) {
        return java.util.concurrent.CompletableFuture.completedFuture(Optional.of(c.session()));
      }
      cache.remove(key, c);
    }
    long endedBefore = ended.get();
    return map.getAsync(key).thenApply(v -> {
      if (v == null) {
        return Optional.empty();
      }
      JsonObject j = new JsonObject(v);
      // Never past the token's own expiry, which its value carries (the map's own expiry may lag).
      long expiresAt = j.getLong("expiresAt", Long.MAX_VALUE);
      long left = expiresAt - clock.millis();
      if (left <= 0) {
        return Optional.empty();
      }
      Session s = session(j);
      if (ended.get() == endedBefore) {
        if (cache.size() >= MAX_CACHED) {
          cache.clear();
        }
        cache.put(key, new Cached(s, System.nanoTime() + Math.min(CACHED_FOR_NANOS, left * 1_000_000L), expiresAt));
      }
      return Optional.of(s);
    });
  }

  private static Session session(JsonObject j) {
    Set<String> roles = new HashSet<>();
    j.getJsonArray("roles").forEach(r -> roles.add(String.valueOf(r)));
    return new Session(j.getString("username"), Set.copyOf(roles));
  }

  /** Whether this member holds the token's session in its cache (tests). */
  boolean isCached(String token) {
    return cache.containsKey(TokenStore.key(token));
  }

  @Override
  public void revoke(String token) {
    String key = TokenStore.key(token);
    ended.incrementAndGet();
    map.delete(key);
    cache.remove(key);
  }
}
