package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.bus.Addresses;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.Step;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the gateways' progress streams receive: the event's fields and the node that ran it. */
class ProgressPublisherTest {
  final Vertx vertx = Vertx.vertx();

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void anEventGoesOutWithItsNode() throws Exception {
    List<JsonObject> seen = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.PROGRESS, m -> seen.add(m.body())).completion()
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    new ProgressPublisher(vertx.eventBus(), "node-a").onEvent(new ProgressEvent("b1", ProgressEvent.Kind.DONE,
        Step.ETCD, "ucp-kv", "snapshot taken", 10, 1, 100, 5, 200, Instant.parse("2026-01-01T00:00:00Z")));
    await().atMost(Duration.ofSeconds(5)).until(() -> seen.size() == 1);
    JsonObject e = seen.get(0);
    assertThat(e.getString("node")).isEqualTo("node-a");
    assertThat(e.getString("backupId")).isEqualTo("b1");
    assertThat(e.getString("kind")).isEqualTo("done");
    assertThat(e.getString("step")).isEqualTo(Step.ETCD.id());
    assertThat(e.getLong("totalBytes")).isEqualTo(100);
    assertThat(e.getString("at")).isEqualTo("2026-01-01T00:00:00Z");
  }
}
