package io.mkebackup.gateway;

import io.vertx.core.json.JsonObject;

/** What the gateway's operational endpoints ask of the rest of the manager. Both block. */
public interface Operations {
  /** The readiness report: {@code {"ready", "node", "checks"}}. */
  JsonObject readiness();

  /** Brings the cluster-state gauges up to date before a scrape. */
  void refreshMetrics();
}
