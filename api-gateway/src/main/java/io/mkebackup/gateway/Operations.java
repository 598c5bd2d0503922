package io.mkebackup.gateway;

import io.vertx.core.json.JsonObject;

/** What the gateway's operational endpoints ask of the rest of the manager. */
public interface Operations {
  /**
   * The readiness report, {@code {"ready", "node", "checks"}}: recent, computed elsewhere; never
   * blocks the caller.
   */
  java.util.concurrent.CompletionStage<JsonObject> readiness();

  /** Brings the cluster-state gauges up to date before a scrape; blocks. */
  void refreshMetrics();
}
