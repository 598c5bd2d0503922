package io.mkebackup.gateway.auth;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Ends what a login token opened (Server-Sent-Event streams, SockJS sockets) when the token ends:
 * at once when it is logged out on any manager, and within {@link #SWEEP_MS} when it expires.
 * Callbacks run on the gateway's event loop.
 */
public final class SessionWatch implements TokenWatch {
  private static final Logger LOG = Logger.getLogger(SessionWatch.class.getName());
  /** How often open streams' tokens are checked against the cluster (expiry is not announced at once). */
  static final long SWEEP_MS = 5_000;

  private final Vertx vertx;
  private final TokenStore tokens;
  private final Map<String, Set<Runnable>> byKey = new ConcurrentHashMap<>();
  private Context context;
  private long timer = -1;

  public SessionWatch(Vertx vertx, TokenStore tokens) {
    this.vertx = vertx;
    this.tokens = tokens;
  }

  /** Starts listening; call from the verticle's context. */
  public void start() {
    context = vertx.getOrCreateContext();
    tokens.onEnded(key -> context.runOnContext(v -> end(key)));
    timer = vertx.setPeriodic(SWEEP_MS, id -> sweep());
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  /**
   * Calls {@code onEnd} once when the token ends. Returns what cancels the watch (call it when the
   * stream closes by itself).
   */
  @Override
  public Runnable watch(String token, Runnable onEnd) {
    String key = TokenStore.key(token);
    Runnable once = new Runnable() {
      private boolean done;

      @Override
      public void run() {
        if (!done) {
          done = true;
          onEnd.run();
        }
      }
    };
    byKey.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(once);
    return () -> byKey.computeIfPresent(key, (k, set) -> {
      set.remove(once);
      return set.isEmpty() ? null : set;
    });
  }

  /** How many tokens have open streams (for tests and logs). */
  int watched() {
    return byKey.size();
  }

  /**
   * Asks the store which watched tokens have ended and ends their streams; every
   * {@link #SWEEP_MS} (tests call it at the instants they choose, and wait for what it returns,
   * which completes once the ended tokens' streams are ended). Call on the watch's context.
   */
  Future<Set<String>> sweep() {
    if (byKey.isEmpty()) {
      return Future.succeededFuture(Set.of());
    }
    Set<String> keys = new HashSet<>(byKey.keySet());
    // The streams are ended inside map, not in a listener beside it: the returned future then
    // completes only after they are (a listener added later on this context may otherwise run
    // before one queued from the worker thread).
    return vertx.executeBlocking(() -> tokens.endedOf(keys), false)
        .map(ended -> {
          ended.forEach(this::end);
          return ended;
        })
        .onFailure(e -> LOG.fine("cannot check the tokens of open streams: " + e.getMessage()));
  }

  private void end(String key) {
    Set<Runnable> streams = byKey.remove(key);
    if (streams != null) {
      streams.forEach(Runnable::run);
    }
  }
}
