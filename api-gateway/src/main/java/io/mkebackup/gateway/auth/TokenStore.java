package io.mkebackup.gateway.auth;

import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.SealedMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Login tokens valid on every manager: random 256-bit tokens whose SHA-256 (never the token) keys
 * a cluster map entry that expires with the token. Blocking calls: use off the event loop.
 */
public final class TokenStore {
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Failed logins of one user name within {@link #LOCKOUT} before its logins are refused. */
  public static final int MAX_FAILURES = 5;
  public static final Duration LOCKOUT = Duration.ofMinutes(5);

  private final SealedMap map;
  private final SealedMap failures;
  private final Duration ttl;

  public TokenStore(HazelcastInstance hazelcast, Duration ttl) {
    this.map = SealedMap.of(hazelcast, ClusterSettings.TOKEN_MAP);
    this.failures = SealedMap.of(hazelcast, ClusterSettings.LOGIN_FAILURES_MAP);
    this.ttl = ttl;
  }

  /** Whether this user name has failed too often lately, cluster-wide (known names or not). */
  public boolean lockedOut(String username) {
    Integer n = count(username);
    return n != null && n >= MAX_FAILURES;
  }

  private Integer count(String username) {
    String v = failures.get(username);
    try {
      return v == null ? null : Integer.valueOf(v);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Counts a failed login; the count expires {@link #LOCKOUT} after the latest failure. */
  public void failed(String username) {
    failures.lock(username);
    try {
      Integer n = count(username);
      failures.set(username, String.valueOf(n == null ? 1 : n + 1), LOCKOUT.toSeconds(), TimeUnit.SECONDS);
    } finally {
      failures.unlock(username);
    }
  }

  public void succeeded(String username) {
    failures.delete(username);
  }

  /** A logged-in user, as a token says. */
  public record Session(String username, Set<String> roles) {
    public boolean admin() {
      return roles.contains(UserAccount.ADMIN);
    }
  }

  public String issue(UserAccount user) {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    map.set(key(token), new JsonObject().put("username", user.username())
        .put("roles", new JsonArray(user.roles().stream().sorted().toList())).encode(), ttl.toSeconds(), TimeUnit.SECONDS);
    return token;
  }

  public Optional<Session> lookup(String token) {
    return lookupAsync(token).toCompletableFuture().join();
  }

  /**
   * As {@link #lookup}, without holding a thread while the cluster answers: for the event loop
   * (the returned stage completes on a Hazelcast thread).
   */
  public java.util.concurrent.CompletionStage<Optional<Session>> lookupAsync(String token) {
    if (token == null || token.isBlank() || token.length() > 200) {
      return java.util.concurrent.CompletableFuture.completedFuture(Optional.empty());
    }
    return map.getAsync(key(token)).thenApply(TokenStore::session);
  }

  private static Optional<Session> session(String v) {
    if (v == null) {
      return Optional.empty();
    }
    JsonObject j = new JsonObject(v);
    Set<String> roles = new HashSet<>();
    j.getJsonArray("roles").forEach(r -> roles.add(String.valueOf(r)));
    return Optional.of(new Session(j.getString("username"), Set.copyOf(roles)));
  }

  public void revoke(String token) {
    map.delete(key(token));
  }

  static String key(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
