package io.mkebackup.worker.service;

import io.mkebackup.common.bus.Addresses;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.ProgressListener;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;

/**
 * Publishes this member's backup progress on the clustered event bus ({@link Addresses#PROGRESS}),
 * each event with the node that sent it, for the gateways' progress streams.
 */
public final class ProgressPublisher implements ProgressListener {
  private final EventBus bus;
  private final String node;

  public ProgressPublisher(EventBus bus, String node) {
    this.bus = bus;
    this.node = node;
  }

  @Override
  public void onEvent(ProgressEvent event) {
    bus.publish(Addresses.PROGRESS, new JsonObject(event.toMap()).put("node", node));
  }
}
