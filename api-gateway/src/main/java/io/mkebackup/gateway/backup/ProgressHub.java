package io.mkebackup.gateway.backup;

import io.mkebackup.common.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Relays the cluster's progress events to this gateway's Server-Sent-Event streams: one event-bus
 * consumer per gateway, however many browsers watch. Event-loop only.
 */
public final class ProgressHub {
  /** Subscribers to every backup's events. */
  static final String ALL = "*";
  private final Map<String, Set<HttpServerResponse>> streams = new ConcurrentHashMap<>();
  private MessageConsumer<JsonObject> consumer;

  public Future<Void> start(Vertx vertx) {
    consumer = vertx.eventBus().consumer(Addresses.PROGRESS, m -> dispatch(m.body()));
    return consumer.completion();
  }

  /** Starts an SSE stream on the response; it ends after the backup's terminal event. */
  void subscribe(String backupId, HttpServerResponse response) {
    response.setChunked(true)
        .putHeader("Content-Type", "text/event-stream; charset=utf-8")
        .putHeader("Cache-Control", "no-cache")
        .putHeader("X-Accel-Buffering", "no");
    response.write(": mke-backup progress\n\n");
    streams.computeIfAbsent(backupId, k -> ConcurrentHashMap.newKeySet()).add(response);
    response.closeHandler(v -> unsubscribe(backupId, response));
  }

  void unsubscribe(String backupId, HttpServerResponse response) {
    Set<HttpServerResponse> set = streams.get(backupId);
    if (set != null) {
      set.remove(response);
      if (set.isEmpty()) {
        streams.remove(backupId, set);
      }
    }
  }

  /** Writes one event to one stream, ending it when the event ends the backup. */
  static void send(HttpServerResponse response, JsonObject event, boolean endOnTerminal) {
    if (response.ended() || response.closed()) {
      return;
    }
    response.write("event: " + event.getString("kind", "progress") + "\ndata: " + event.encode() + "\n\n");
    String kind = event.getString("kind", "");
    if (endOnTerminal && (kind.equals("succeeded") || kind.equals("failed"))) {
      response.end();
    }
  }

  private void dispatch(JsonObject event) {
    String id = event.getString("backupId", "");
    Set<HttpServerResponse> one = streams.get(id);
    if (one != null) {
      for (HttpServerResponse r : Set.copyOf(one)) {
        send(r, event, true);
        if (r.ended()) {
          unsubscribe(id, r);
        }
      }
    }
    Set<HttpServerResponse> all = streams.get(ALL);
    if (all != null) {
      for (HttpServerResponse r : Set.copyOf(all)) {
        send(r, event, false);
      }
    }
  }

  public Future<Void> stop() {
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }
}
