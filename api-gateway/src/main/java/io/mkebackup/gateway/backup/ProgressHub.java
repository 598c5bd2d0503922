package io.mkebackup.gateway.backup;

import io.mkebackup.common.bus.Addresses;
import io.mkebackup.gateway.auth.TokenWatch;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Relays the cluster's progress events to this gateway's Server-Sent-Event streams: one event-bus
 * consumer per gateway, however many browsers watch. A stream ends when its backup ends, when the
 * token it was opened with is logged out or expires, and when its client reads too slowly (its
 * unsent events would pile up in memory); a comment every {@link #KEEP_ALIVE_MS} keeps a quiet
 * stream from looking idle. Event-loop only.
 */
public final class ProgressHub {
  private static final Logger LOG = Logger.getLogger(ProgressHub.class.getName());
  /** Subscribers to every backup's events. */
  static final String ALL = "*";
  /** Unsent bytes a stream may hold before its client counts as too slow and is dropped. */
  static final int SLOW_CLIENT_BYTES = 128 * 1024;
  static final long KEEP_ALIVE_MS = 20_000;

  private final TokenWatch sessions;
  private final Map<String, Set<HttpServerResponse>> streams = new ConcurrentHashMap<>();
  /**
   * Streams subscribed but not yet given their first event (a backup's record): what is published
   * meanwhile waits here, in order, so that the record always comes first.
   */
  private final Map<HttpServerResponse, java.util.List<JsonObject>> held = new ConcurrentHashMap<>();
  /** Events a held stream may queue before it counts as too slow (its record read is stuck). */
  static final int HELD_EVENTS = 1024;
  private MessageConsumer<JsonObject> consumer;
  private Vertx vertx;
  private long keepAlive = -1;

  public ProgressHub(TokenWatch sessions) {
    this.sessions = sessions;
  }

  public Future<Void> start(Vertx vertx) {
    this.vertx = vertx;
    consumer = vertx.eventBus().consumer(Addresses.PROGRESS, m -> dispatch(m.body()));
    keepAlive = vertx.setPeriodic(KEEP_ALIVE_MS, id -> streams.forEach((backupId, set) -> Set.copyOf(set)
        .forEach(r -> {
          if (!write(r, ": keep-alive\n\n")) {
            unsubscribe(backupId, r);
          }
        })));
    return consumer.completion();
  }

  /**
   * Starts an SSE stream on the response; it ends after the backup's terminal event, or when the
   * token ends.
   */
  void subscribe(String backupId, HttpServerResponse response, String token) {
    subscribe(backupId, response, token, false);
  }

  /**
   * As {@link #subscribe(String, HttpServerResponse, String)}; when {@code hold}, the events
   * published until {@link #release} are queued rather than sent, so that what the caller writes
   * first (the record) comes before them.
   */
  void subscribe(String backupId, HttpServerResponse response, String token, boolean hold) {
    if (hold) {
      held.put(response, java.util.Collections.synchronizedList(new java.util.ArrayList<>()));
    }
    response.setChunked(true)
        .setWriteQueueMaxSize(SLOW_CLIENT_BYTES)
        .putHeader("Content-Type", "text/event-stream; charset=utf-8")
        .putHeader("Cache-Control", "no-cache")
        .putHeader("X-Accel-Buffering", "no");
    response.write(": mke-backup progress\n\n");
    streams.computeIfAbsent(backupId, k -> ConcurrentHashMap.newKeySet()).add(response);
    // A client bundle's stream has no token to end with: it lasts as long as its connection.
    Runnable unwatch = token == null || token.isEmpty() ? () -> { } : sessions.watch(token, () -> {
      unsubscribe(backupId, response);
      if (!response.ended() && !response.closed()) {
        response.write(": the session ended (logged out or expired); log in again\n\n");
        response.end();
      }
    });
    response.closeHandler(v -> {
      unwatch.run();
      unsubscribe(backupId, response);
    });
    response.endHandler(v -> unwatch.run());
  }

  /**
   * Sends what a held stream queued since it subscribed, then sends as events come. Returns whether
   * the stream goes on (a queued terminal event ends it).
   */
  boolean release(String backupId, HttpServerResponse response) {
    java.util.List<JsonObject> queued = held.remove(response);
    if (queued != null) {
      for (JsonObject event : queued) {
        if (!send(response, event, true)) {
          unsubscribe(backupId, response);
          return false;
        }
      }
    }
    return true;
  }

  void unsubscribe(String backupId, HttpServerResponse response) {
    held.remove(response);
    Set<HttpServerResponse> set = streams.get(backupId);
    if (set != null) {
      set.remove(response);
      if (set.isEmpty()) {
        streams.remove(backupId, set);
      }
    }
  }

  /**
   * Writes one event to one stream, ending it when the event ends the backup. Returns whether the
   * stream goes on.
   */
  static boolean send(HttpServerResponse response, JsonObject event, boolean endOnTerminal) {
    if (!write(response, "event: " + event.getString("kind", "progress") + "\ndata: " + event.encode() + "\n\n")) {
      return false;
    }
    String kind = event.getString("kind", "");
    if (endOnTerminal && (kind.equals("succeeded") || kind.equals("failed"))) {
      response.end();
      return false;
    }
    return true;
  }

  /**
   * Writes unless the stream is gone; a client whose unsent events fill the write queue is cut
   * off (the connection is reset) rather than buffered without bound. Returns whether it wrote.
   */
  static boolean write(HttpServerResponse response, String text) {
    if (response.ended() || response.closed()) {
      return false;
    }
    if (response.writeQueueFull()) {
      LOG.info("dropping a progress stream whose client does not keep up (over " + SLOW_CLIENT_BYTES / 1024
          + " KiB unsent)");
      response.reset();
      return false;
    }
    response.write(text);
    return true;
  }

  /** Events waiting in held streams, for tests. */
  int heldEvents() {
    return held.values().stream().mapToInt(java.util.List::size).sum();
  }

  /** Open streams, for tests. */
  int streams() {
    return streams.values().stream().mapToInt(Set::size).sum();
  }

  private void dispatch(JsonObject event) {
    String id = event.getString("backupId", "");
    Set<HttpServerResponse> one = streams.get(id);
    if (one != null) {
      for (HttpServerResponse r : Set.copyOf(one)) {
        java.util.List<JsonObject> queue = held.get(r);
        if (queue != null) {
          if (queue.size() < HELD_EVENTS) {
            queue.add(event);
          } else {
            LOG.info("dropping a progress stream whose record could not be read in time");
            unsubscribe(id, r);
            r.reset();
          }
          continue;
        }
        if (!send(r, event, true)) {
          unsubscribe(id, r);
        }
      }
    }
    Set<HttpServerResponse> all = streams.get(ALL);
    if (all != null) {
      for (HttpServerResponse r : Set.copyOf(all)) {
        if (!send(r, event, false)) {
          unsubscribe(ALL, r);
        }
      }
    }
  }

  public Future<Void> stop() {
    if (keepAlive >= 0) {
      vertx.cancelTimer(keepAlive);
    }
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }
}
